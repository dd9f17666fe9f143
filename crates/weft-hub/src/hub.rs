//! The hub: topics on this node, their members, and the backplane that
//! joins this node to the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::entry::{Entry, Kind, Sender};
use crate::error::Error;
use crate::log::Log;
use crate::options::HubOptions;
use crate::position::{Offset, Position};
use crate::queue::{queue, Delivery};
use crate::subscription::{Recovery, Subscription};
use crate::topic::{MemberId, Topic};

/// Where a new subscription starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Since {
    /// With the next message published.
    Now,
    /// With the `n` newest messages of the history, then the live ones.
    Recent(usize),
    /// Right after `from`, the last message the client saw: what it
    /// missed, in order, then the live ones. If that cannot be done (the
    /// epoch changed, or messages after `from` were dropped from the
    /// history), the subscription says so ([`Recovery::NotRecovered`]) and
    /// starts as [`Since::Recent`] with `else_recent`.
    Resume {
        /// The last message the client saw.
        from: Position,
        /// The number of newest messages to start with if it cannot resume.
        else_recent: usize,
    },
}

/// A hub: topics that members subscribe and publish to, on this node
/// alone (in-process) or across nodes (Redis). Cloning it is cheap; the
/// clones are the same hub.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// This node's name: random, new at every start.
    pub(crate) node: Arc<str>,
    pub(crate) options: HubOptions,
    pub(crate) state: Mutex<State>,
    pub(crate) backplane: Backplane,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) topics: HashMap<Arc<str>, Topic>,
    next_member: MemberId,
    /// Operations since topics were last tidied.
    since_tidy: usize,
}

/// How many subscriptions and publishes go by between two tidyings of the
/// in-process topics.
const TIDY_EVERY: usize = 1024;

pub(crate) enum Backplane {
    Local,
    #[cfg(feature = "redis")]
    Redis(Box<crate::redis::Redis>),
}

/// The wall clock in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("node", &self.inner.node)
            .field("redis", &self.is_redis())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub of this process alone: the in-process backplane.
    pub fn new(options: HubOptions) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                node: crate::position::new_epoch(),
                options,
                state: Mutex::new(State::default()),
                backplane: Backplane::Local,
            }),
        }
    }

    /// This node's name, new at every start.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Whether the hub shares its topics through Redis.
    pub fn is_redis(&self) -> bool {
        !matches!(self.inner.backplane, Backplane::Local)
    }

    /// The hub's settings.
    pub fn options(&self) -> &HubOptions {
        &self.inner.options
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// Subscribes a new member to `topic`, starting as `since` says.
    ///
    /// Its [`Subscription`] gives the history asked for first, then every
    /// message published after it, each once and in the topic's order.
    pub async fn subscribe(&self, topic: &str, since: Since) -> Result<Subscription, Error> {
        let name: Arc<str> = topic.into();
        match &self.inner.backplane {
            Backplane::Local => Ok(self.subscribe_local(name, since)),
            #[cfg(feature = "redis")]
            Backplane::Redis(redis) => redis.subscribe(self, name, since).await,
        }
    }

    fn subscribe_local(&self, name: Arc<str>, since: Since) -> Subscription {
        let options = &self.inner.options;
        let mut state = self.lock();
        let id = state.new_member();
        let topic = state.topics.entry(name.clone()).or_default();
        let log = topic
            .log
            .get_or_insert_with(|| Log::new(options.history_len, options.history_age));
        log.trim(now_ms());
        let (history, recovery) = match &since {
            Since::Now => (Vec::new(), Recovery::NotAsked),
            Since::Recent(n) => (log.recent(*n), Recovery::NotAsked),
            Since::Resume { from, else_recent } => match log.after(from) {
                Some(missed) => (missed, Recovery::Recovered),
                None => (log.recent(*else_recent), Recovery::NotRecovered),
            },
        };
        let (epoch, last) = (log.epoch.clone(), log.last);
        let (mut outlet, inlet) = queue(options.queue, options.queue_bytes);
        outlet.seen = Some((epoch.clone(), last));
        topic.members.insert(id, outlet);
        state.tidy(now_ms());
        drop(state);
        Subscription::new(
            self.clone(),
            name,
            id,
            epoch,
            last,
            recovery,
            history,
            inlet,
        )
    }

    /// The key of member `id` of this node, as an entry's `except` names it.
    pub(crate) fn key(&self, id: MemberId) -> Sender {
        format!("{}/{id}", self.inner.node).into()
    }

    /// Publishes to `topic`; every member of every node gets it.
    pub async fn publish(
        &self,
        topic: &str,
        kind: Kind,
        payload: Bytes,
    ) -> Result<Position, Error> {
        self.publish_except(topic.into(), kind, payload, None).await
    }

    /// Publishes to `topic` for every member but `except`.
    pub(crate) async fn publish_except(
        &self,
        topic: Arc<str>,
        kind: Kind,
        payload: Bytes,
        except: Option<Sender>,
    ) -> Result<Position, Error> {
        match &self.inner.backplane {
            Backplane::Local => Ok(self.publish_local(topic, kind, payload, except)),
            #[cfg(feature = "redis")]
            Backplane::Redis(redis) => redis.publish(self, &topic, kind, payload, except).await,
        }
    }

    /// Appends to the in-process history and queues for the members; the
    /// leaving of members removed for being too slow is published in turn.
    pub(crate) fn publish_local(
        &self,
        topic: Arc<str>,
        kind: Kind,
        payload: Bytes,
        except: Option<Sender>,
    ) -> Position {
        let options = &self.inner.options;
        let mut pending = vec![(topic, kind, payload, except)];
        let mut first = None;
        while let Some((name, kind, payload, except)) = pending.pop() {
            let except_here = self.member_here(except.as_ref());
            let mut state = self.lock();
            let topic = state.topics.entry(name.clone()).or_default();
            let log = topic
                .log
                .get_or_insert_with(|| Log::new(options.history_len, options.history_age));
            let entry = log.append(&name, kind, payload, except, now_ms());
            first.get_or_insert_with(|| entry.position());
            let message = (options.framer)(&entry);
            let left = topic.deliver(&entry, message, except_here);
            state.tidy(now_ms());
            drop(state);
            for (_, info) in left {
                pending.push((name.clone(), Kind::Left, info, None));
            }
        }
        first.unwrap_or_else(|| Position {
            epoch: "".into(),
            offset: Offset::ZERO,
        })
    }

    /// Queues entries read from the backplane for this node's members;
    /// returns the members removed for being too slow that were in the
    /// presence.
    #[cfg(feature = "redis")]
    pub(crate) fn deliver_read(
        &self,
        entries: Vec<Arc<Entry>>,
        read_up_to: Vec<(Arc<str>, Offset)>,
    ) -> Vec<(Arc<str>, MemberId, Bytes)> {
        let framer = &self.inner.options.framer;
        let mut left = Vec::new();
        let mut state = self.lock();
        for entry in entries {
            let Some(topic) = state.topics.get_mut(&entry.topic) else {
                continue;
            };
            if topic.reading.is_some_and(|reading| entry.offset <= reading) {
                continue;
            }
            topic.reading = Some(entry.offset);
            let message = framer(&entry);
            let except_here = self.member_here(entry.except.as_ref());
            for (id, info) in topic.deliver(&entry, message, except_here) {
                left.push((entry.topic.clone(), id, info));
            }
        }
        // Entries that were not a hub's were skipped: read past them all
        // the same.
        for (name, offset) in read_up_to {
            if let Some(topic) = state.topics.get_mut(&name) {
                if topic.reading.is_some_and(|reading| reading < offset) {
                    topic.reading = Some(offset);
                }
            }
        }
        left
    }

    /// Removes the members of `topic` here, marked as lagged: this node
    /// could not read entries of it before they were dropped.
    #[cfg(feature = "redis")]
    pub(crate) fn drop_lagged(&self, topic: &str) -> Vec<(Arc<str>, MemberId, Bytes)> {
        let mut state = self.lock();
        let Some((name, mut entry)) = state.topics.remove_entry(topic) else {
            return Vec::new();
        };
        let left = entry.drop_lagged();
        left.into_iter()
            .map(|(id, info)| (name.clone(), id, info))
            .collect()
    }

    /// The member of this node that `sender` names, if it is one.
    fn member_here(&self, sender: Option<&Sender>) -> Option<MemberId> {
        let sender = sender?;
        let rest = sender.strip_prefix(&*self.inner.node)?.strip_prefix('/')?;
        rest.parse().ok()
    }

    /// Who is in `topic`'s presence, on every node: what each member gave
    /// to [`Subscription::join_presence`]. With Redis, members of a node
    /// that stopped sending heartbeats are not listed.
    pub async fn presence(&self, topic: &str) -> Result<Vec<Bytes>, Error> {
        match &self.inner.backplane {
            Backplane::Local => Ok(self
                .lock()
                .topics
                .get(topic)
                .map(|topic| topic.presence.values().cloned().collect())
                .unwrap_or_default()),
            #[cfg(feature = "redis")]
            Backplane::Redis(redis) => redis.presence(self, topic).await,
        }
    }

    /// Member `id` joins `topic`'s presence with `info`; the others get a
    /// [`Kind::Joined`] entry.
    pub(crate) async fn join_presence(
        &self,
        topic: &Arc<str>,
        id: MemberId,
        info: Bytes,
    ) -> Result<Position, Error> {
        #[cfg(feature = "redis")]
        let _presence = match &self.inner.backplane {
            Backplane::Redis(redis) => Some(redis.presence_lock.lock().await),
            Backplane::Local => None,
        };
        {
            let mut state = self.lock();
            let Some(topic) = state.topics.get_mut(topic) else {
                return Err(Error::new(
                    crate::ErrorKind::Unexpected,
                    "not subscribed to the topic",
                ));
            };
            topic.presence.insert(id, info.clone());
        }
        #[cfg(feature = "redis")]
        if let Backplane::Redis(redis) = &self.inner.backplane {
            if let Err(e) = redis.set_presence(self, topic, id, &info).await {
                if let Some(topic) = self.lock().topics.get_mut(topic) {
                    topic.presence.remove(&id);
                }
                return Err(e);
            }
        }
        #[cfg(feature = "redis")]
        drop(_presence);
        self.publish_except(topic.clone(), Kind::Joined, info, Some(self.key(id)))
            .await
    }

    /// Member `id` leaves `topic`: out of its members and presence; if it
    /// was in the presence, what it gave is returned (its leaving is to be
    /// published). The topic is forgotten here once nothing holds it.
    pub(crate) fn remove(&self, topic: &Arc<str>, id: MemberId) -> Option<Bytes> {
        let mut state = self.lock();
        let entry = state.topics.get_mut(topic)?;
        entry.members.remove(&id);
        let info = entry.presence.remove(&id);
        let keep =
            !entry.members.is_empty() || entry.log.as_ref().is_some_and(|log| !log.is_empty());
        if !keep {
            state.topics.remove(topic);
        }
        info
    }

    /// Publishes that member `id` left `topic`'s presence (after
    /// [`Hub::remove`] said it was in it).
    pub(crate) async fn publish_left(&self, topic: &Arc<str>, id: MemberId, info: Bytes) {
        #[cfg(feature = "redis")]
        if let Backplane::Redis(redis) = &self.inner.backplane {
            redis.clear_presence(self, topic, id).await;
        }
        let _ = id;
        let _ = self
            .publish_except(topic.clone(), Kind::Left, info, None)
            .await;
    }

    /// Publishes member `id`'s leaving without waiting: from `Drop`.
    pub(crate) fn publish_left_soon(&self, topic: Arc<str>, id: MemberId, info: Bytes) {
        match &self.inner.backplane {
            Backplane::Local => {
                self.publish_local(topic, Kind::Left, info, None);
            }
            #[cfg(feature = "redis")]
            Backplane::Redis(_) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let hub = self.clone();
                    runtime.spawn(async move { hub.publish_left(&topic, id, info).await });
                }
            }
        }
    }

    /// Frames history entries for a new member.
    pub(crate) fn frame_all(&self, entries: Vec<Arc<Entry>>) -> Vec<Delivery> {
        let framer = &self.inner.options.framer;
        entries
            .into_iter()
            .filter_map(|entry| {
                let message = framer(&entry)?;
                Some(Delivery { entry, message })
            })
            .collect()
    }
}

impl Inner {
    /// The state, taken even if poisoned: nothing done under the lock
    /// panics halfway.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    pub(crate) fn new_member(&mut self) -> MemberId {
        self.next_member += 1;
        self.next_member
    }

    /// Every [`TIDY_EVERY`] operations: trims the in-process histories by
    /// age and forgets topics with no member and no history left, so that
    /// topics published to once and never again do not accumulate.
    fn tidy(&mut self, now_ms: u64) {
        self.since_tidy += 1;
        if self.since_tidy < TIDY_EVERY {
            return;
        }
        self.since_tidy = 0;
        self.topics.retain(|_, topic| {
            if let Some(log) = &mut topic.log {
                log.trim(now_ms);
            }
            !topic.members.is_empty() || topic.log.as_ref().is_some_and(|log| !log.is_empty())
        });
    }
}
