//! The Redis backplane: one stream per topic, read by every node from
//! its last seen id; presence in a hash per topic, kept alive by node
//! heartbeats.

mod heartbeat;
mod reader;
mod reply;
mod scripts;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};
use tokio::sync::Notify;

use crate::entry::{Kind, Sender};
use crate::error::{Error, ErrorKind};
use crate::hub::{Backplane, Hub, Inner, Since, State};
use crate::options::HubOptions;
use crate::position::{new_epoch, Position};
use crate::queue::queue;
use crate::subscription::{Recovery, Subscription};
use crate::topic::MemberId;

/// How long a command may wait for Redis' answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest wait between two attempts to reach Redis again.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The fewest entries a topic's stream keeps, whatever the history's
/// length: the stream is also what carries entries from node to node, and
/// Redis' approximate trimming drops whole blocks, recent entries among
/// them once enough newer ones exist. A node less than this far behind
/// never loses an entry to trimming; one further behind finds out (the
/// reader reads at most half of it at a time and checks, after a full
/// batch, that its position is still there).
pub(crate) const MIN_STREAM_LEN: usize = 2 * reader::BATCH;

/// A hub's link to Redis.
pub(crate) struct Redis {
    client: redis::Client,
    /// Commands (publish, subscribe, presence), reconnected as needed.
    commands: ConnectionManager,
    publish: Script,
    subscribe: Script,
    /// The reader's connection's `CLIENT ID`, 0 while it has none.
    reader_id: AtomicI64,
    /// Wakes the reader when topics start to be read here.
    topics_changed: Notify,
    /// The last failure to reach Redis, for logs and status.
    pub(crate) last_error: Mutex<Option<String>>,
    /// Held by a member joining the presence (here, then in Redis) and by
    /// the heartbeat's round, which compares the two.
    pub(crate) presence_lock: tokio::sync::Mutex<()>,
}

impl Hub {
    /// A hub whose topics are shared with every other hub on the same
    /// Redis (`redis://HOST:PORT/DB`, `rediss://` for TLS is not built
    /// in). Fails if Redis cannot be reached now; later outages are
    /// ridden out (`docs/scaling.md`).
    pub async fn redis(url: &str, options: HubOptions) -> Result<Hub, Error> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::new(ErrorKind::Config, format!("redis URL {url}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_max_delay(MAX_BACKOFF);
        let mut commands = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("cannot reach Redis at {url}: {e}"),
                )
            })?;
        let version: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut commands)
            .await?;
        check_version(&version)?;
        let hub = Hub {
            inner: Arc::new(Inner {
                node: new_epoch(),
                options,
                state: Mutex::new(State::default()),
                backplane: Backplane::Redis(Box::new(Redis {
                    client,
                    commands,
                    publish: Script::new(scripts::PUBLISH),
                    subscribe: Script::new(scripts::SUBSCRIBE),
                    reader_id: AtomicI64::new(0),
                    topics_changed: Notify::new(),
                    last_error: Mutex::new(None),
                    presence_lock: tokio::sync::Mutex::new(()),
                })),
            }),
        };
        heartbeat::beat(&hub).await?;
        tokio::spawn(reader::run(Arc::downgrade(&hub.inner)));
        tokio::spawn(heartbeat::run(Arc::downgrade(&hub.inner)));
        Ok(hub)
    }

    /// The Redis link, if the hub has one.
    pub(crate) fn redis_link(&self) -> Option<&Redis> {
        match &self.inner.backplane {
            Backplane::Redis(redis) => Some(redis),
            Backplane::Local => None,
        }
    }
}

/// Refuses a Redis older than 7.0 (`XINFO STREAM`'s
/// `max-deleted-entry-id`, `XTRIM MINID` and exclusive ranges).
fn check_version(info: &str) -> Result<(), Error> {
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("")
        .trim();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0);
    if major < 7 {
        return Err(Error::new(
            ErrorKind::Config,
            format!("Redis {version} is too old: the hub needs 7.0 or later"),
        ));
    }
    Ok(())
}

impl Redis {
    fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    pub(crate) async fn subscribe(
        &self,
        hub: &Hub,
        name: Arc<str>,
        since: Since,
    ) -> Result<Subscription, Error> {
        let options = &hub.inner.options;
        let (outlet, inlet) = queue(options.queue, options.queue_bytes);
        let id = {
            let mut state = hub.lock();
            let id = state.new_member();
            state
                .topics
                .entry(name.clone())
                .or_default()
                .members
                .insert(id, outlet);
            id
        };
        let age = options.history_age.as_millis().to_string();
        // A client that missed more than the history's length is not
        // recovered, however many entries the stream still holds.
        let most = options.history_len;
        let mut invocation = self.subscribe.prepare_invoke();
        invocation
            .key(reply::stream_key(&name))
            .key(reply::epoch_key(&name))
            .arg(&*new_epoch())
            .arg(&age);
        match &since {
            Since::Now => invocation.arg("now").arg(0).arg("").arg(""),
            Since::Recent(n) => invocation.arg("recent").arg(*n).arg("").arg(""),
            Since::Resume { from, else_recent } => invocation
                .arg("resume")
                .arg(*else_recent)
                .arg(&*from.epoch)
                .arg(from.offset.to_string()),
        };
        invocation.arg(most);
        let mut answer: Result<Value, _> = invocation.invoke_async(&mut self.commands()).await;
        if answer
            .as_ref()
            .is_err_and(|e| e.is_connection_dropped() || e.is_io_error())
        {
            // The connection broke since it was last used (Redis restarted,
            // a proxy cut it): it is being replaced, and starting a
            // subscription twice does no harm, so once more.
            answer = invocation.invoke_async(&mut self.commands()).await;
        }
        let parsed = answer.map_err(Error::from).and_then(|value| {
            let parts = reply::array(&value)?;
            let [epoch, last, recovered, entries] = parts else {
                return Err(Error::new(
                    ErrorKind::Unexpected,
                    "redis: unexpected subscribe reply",
                ));
            };
            let recovery = match recovered {
                Value::Int(1) => Recovery::Recovered,
                Value::Int(0) => Recovery::NotRecovered,
                _ => Recovery::NotAsked,
            };
            Ok((
                Arc::<str>::from(reply::text(epoch)?),
                reply::offset(last)?,
                recovery,
                reply::entries(&name, entries)?,
            ))
        });
        let (epoch, last, recovery, history) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                hub.remove(&name, id);
                return Err(e);
            }
        };
        // The node reads the topic from the oldest `last` of the
        // subscriptions that started it: a subscription whose history
        // ended before the reader's position would miss what lies between.
        // What the others had already is not queued for them twice.
        let wake = {
            let mut state = hub.lock();
            match state.topics.get_mut(&name) {
                Some(topic) => {
                    if let Some(outlet) = topic.members.get_mut(&id) {
                        outlet.seen = Some((epoch.clone(), last));
                    }
                    match topic.reading {
                        Some(reading) if reading <= last => false,
                        _ => {
                            topic.reading = Some(last);
                            true
                        }
                    }
                }
                None => false,
            }
        };
        if wake {
            self.wake_reader().await;
        }
        Ok(Subscription::new(
            hub.clone(),
            name,
            id,
            epoch,
            last,
            recovery,
            history,
            inlet,
        ))
    }

    /// Has the reader read a topic it did not: it is blocked on the others.
    async fn wake_reader(&self) {
        self.topics_changed.notify_one();
        let id = self.reader_id.load(Ordering::Relaxed);
        if id > 0 {
            let _: Result<Value, _> = redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(id)
                .query_async(&mut self.commands())
                .await;
        }
    }

    pub(crate) async fn publish(
        &self,
        hub: &Hub,
        topic: &str,
        kind: Kind,
        payload: Bytes,
        except: Option<Sender>,
    ) -> Result<Position, Error> {
        let options = &hub.inner.options;
        let answer: Value = self
            .publish
            .key(reply::stream_key(topic))
            .key(reply::epoch_key(topic))
            .arg(&*new_epoch())
            .arg(kind.tag())
            .arg(&payload[..])
            .arg(except.as_deref().unwrap_or(""))
            .arg(options.history_len.max(MIN_STREAM_LEN))
            .arg(options.history_age.as_millis().to_string())
            .invoke_async(&mut self.commands())
            .await?;
        let parts = reply::array(&answer)?;
        let [id, epoch] = parts else {
            return Err(Error::new(
                ErrorKind::Unexpected,
                "redis: unexpected publish reply",
            ));
        };
        Ok(Position {
            epoch: reply::text(epoch)?.into(),
            offset: reply::offset(id)?,
        })
    }

    fn presence_field(hub: &Hub, id: MemberId) -> String {
        format!("{}/{id}", hub.inner.node)
    }

    pub(crate) async fn set_presence(
        &self,
        hub: &Hub,
        topic: &str,
        id: MemberId,
        info: &Bytes,
    ) -> Result<(), Error> {
        let key = reply::presence_key(topic);
        let _: Value = redis::pipe()
            .cmd("HSET")
            .arg(&key)
            .arg(Redis::presence_field(hub, id))
            .arg(&info[..])
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(
                heartbeat::presence_ttl(&hub.inner.options)
                    .as_millis()
                    .to_string(),
            )
            .query_async(&mut self.commands())
            .await?;
        Ok(())
    }

    /// Removes member `id` from `topic`'s presence hash; whether this call
    /// removed it (and so publishes its leaving).
    pub(crate) async fn clear_presence(&self, hub: &Hub, topic: &str, id: MemberId) -> bool {
        let removed: Result<i64, _> = redis::cmd("HDEL")
            .arg(reply::presence_key(topic))
            .arg(Redis::presence_field(hub, id))
            .query_async(&mut self.commands())
            .await;
        matches!(removed, Ok(1))
    }

    /// Everyone in `topic`'s presence whose node is alive.
    pub(crate) async fn presence(&self, hub: &Hub, topic: &str) -> Result<Vec<Bytes>, Error> {
        let members = heartbeat::members(self, topic).await?;
        let alive =
            heartbeat::alive_nodes(self, hub, members.iter().map(|m| m.node.as_str())).await?;
        Ok(members
            .into_iter()
            .filter(|member| alive.contains(member.node.as_str()))
            .map(|member| member.info)
            .collect())
    }
}
