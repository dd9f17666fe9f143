//! A member's subscription to a topic: the history it asked for, then the
//! live messages, each once and in order; its presence; its leaving.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::entry::{Entry, Kind};
use crate::error::Error;
use crate::hub::Hub;
use crate::position::{Epoch, Offset, Position};
use crate::queue::{Delivery, Inlet};
use crate::topic::MemberId;

/// Whether a subscription resumed where its client left off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// It did not ask to ([`Since::Now`](crate::Since::Now) or
    /// [`Since::Recent`](crate::Since::Recent)).
    NotAsked,
    /// Everything after the client's position is in the history given
    /// first: it missed nothing.
    Recovered,
    /// It could not: the topic's epoch changed (its history was lost), or
    /// messages after the position were dropped from the history (too
    /// old or too many). The client missed messages it cannot get back and
    /// should reload its state; the history given is the newest messages.
    NotRecovered,
}

/// A member of a topic on this node. Dropping it leaves the topic (and its
/// presence, published without waiting); [`Subscription::leave`] does the
/// same and waits for the leaving to be published.
pub struct Subscription {
    hub: Hub,
    topic: Arc<str>,
    id: MemberId,
    epoch: Epoch,
    /// The newest offset given to the member (or that it must not be
    /// given again): live entries at or before it were in its history.
    last: Offset,
    recovery: Recovery,
    history: VecDeque<Delivery>,
    inlet: Inlet,
    left: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("id", &self.id)
            .field("epoch", &self.epoch)
            .field("last", &self.last)
            .field("recovery", &self.recovery)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        hub: Hub,
        topic: Arc<str>,
        id: MemberId,
        epoch: Epoch,
        last: Offset,
        recovery: Recovery,
        history: Vec<Arc<Entry>>,
        inlet: Inlet,
    ) -> Subscription {
        let history = hub.frame_all(history).into();
        Subscription {
            hub,
            topic,
            id,
            epoch,
            last,
            recovery,
            history,
            inlet,
            left: false,
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The member's number on this node.
    pub fn id(&self) -> MemberId {
        self.id
    }

    /// The topic's epoch when the subscription started. A delivery of
    /// another epoch means the history was lost meanwhile (Redis restarted
    /// without persistence): the member may have missed messages.
    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// Whether it resumed where its client left off.
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// The position of the newest message given (or skipped as already
    /// seen): where a client that got everything so far would resume.
    pub fn position(&self) -> Position {
        Position {
            epoch: self.epoch.clone(),
            offset: self.last,
        }
    }

    /// The history it started with, taken at once (to send in one
    /// message, say); [`Subscription::recv`] then gives only live ones.
    pub fn take_history(&mut self) -> Vec<Delivery> {
        self.history.drain(..).collect()
    }

    /// The next message: the history first, then live ones, each once and
    /// in the topic's order. `None` once the member was removed, for being
    /// too slow ([`Subscription::overflowed`]) or for having missed entries
    /// ([`Subscription::lagged`]), and what its queue held was given.
    pub async fn recv(&mut self) -> Option<Delivery> {
        if let Some(delivery) = self.history.pop_front() {
            return Some(delivery);
        }
        loop {
            let delivery = self.inlet.recv().await?;
            if let Some(delivery) = self.fresh(delivery) {
                return Some(delivery);
            }
        }
    }

    /// The next message if there is one now.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        if let Some(delivery) = self.history.pop_front() {
            return Some(delivery);
        }
        loop {
            let delivery = self.inlet.try_recv()?;
            if let Some(delivery) = self.fresh(delivery) {
                return Some(delivery);
            }
        }
    }

    /// `delivery` unless it was in the history already.
    fn fresh(&mut self, delivery: Delivery) -> Option<Delivery> {
        let entry = &delivery.entry;
        if entry.epoch == self.epoch {
            if entry.offset <= self.last {
                return None;
            }
        } else {
            // A new history: its offsets owe nothing to the old one's.
            self.epoch = entry.epoch.clone();
        }
        self.last = entry.offset;
        Some(delivery)
    }

    /// Whether the member was removed for not keeping up (its queue full).
    pub fn overflowed(&self) -> bool {
        self.inlet.overflowed()
    }

    /// Whether the member was removed because its node could not read
    /// some entries before they were dropped from the history (it was cut
    /// off from Redis, or behind, for longer than the history covers, or
    /// the history was lost). Its client missed messages: it should come
    /// back and resume, and will be told whether it recovered.
    pub fn lagged(&self) -> bool {
        self.inlet.lagged()
    }

    /// The number of messages its queue holds at most.
    pub fn queue_capacity(&self) -> usize {
        self.inlet.capacity()
    }

    /// The payload bytes its queue holds at most.
    pub fn queue_bytes(&self) -> usize {
        self.inlet.max_bytes()
    }

    /// Publishes to the topic, for everyone but this member when `echo`
    /// is false.
    pub async fn publish(&self, kind: Kind, payload: Bytes, echo: bool) -> Result<Position, Error> {
        let except = (!echo).then(|| self.hub.key(self.id));
        self.hub
            .publish_except(self.topic.clone(), kind, payload, except)
            .await
    }

    /// Joins the topic's presence with `info` (a name, say), on every node;
    /// the others get a [`Kind::Joined`] entry with it. Leaving the topic
    /// leaves the presence, with a [`Kind::Left`] entry.
    pub async fn join_presence(&self, info: Bytes) -> Result<Position, Error> {
        self.hub.join_presence(&self.topic, self.id, info).await
    }

    /// Leaves the topic, and its presence with its leaving published.
    pub async fn leave(mut self) {
        self.left = true;
        if let Some(info) = self.hub.remove(&self.topic, self.id) {
            self.hub.publish_left(&self.topic, self.id, info).await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.left {
            return;
        }
        if let Some(info) = self.hub.remove(&self.topic, self.id) {
            self.hub
                .publish_left_soon(self.topic.clone(), self.id, info);
        }
    }
}
