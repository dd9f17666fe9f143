//! A message as a topic holds it: what was published, with its place.

use std::sync::Arc;

use bytes::Bytes;

use crate::position::{Epoch, Offset, Position};

/// What a published message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A text message: its payload is UTF-8.
    Text,
    /// A binary message.
    Binary,
    /// A member joined the topic's presence; the payload is what it gave
    /// to [`Subscription::join_presence`](crate::Subscription::join_presence).
    Joined,
    /// A member left the topic's presence (it unsubscribed, was too slow,
    /// or its node died); the payload is what it had joined with.
    Left,
}

impl Kind {
    /// The one-letter tag stored with the message in Redis.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Kind::Text => "t",
            Kind::Binary => "b",
            Kind::Joined => "j",
            Kind::Left => "l",
        }
    }

    /// The kind of a stored tag.
    pub(crate) fn from_tag(tag: &[u8]) -> Option<Kind> {
        match tag {
            b"t" => Some(Kind::Text),
            b"b" => Some(Kind::Binary),
            b"j" => Some(Kind::Joined),
            b"l" => Some(Kind::Left),
            _ => None,
        }
    }
}

/// Who published a message and does not want it back: a member of one
/// node, written `NODE/MEMBER`.
pub type Sender = Arc<str>;

/// A message in a topic's history, as every node delivers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The topic.
    pub topic: Arc<str>,
    /// Its offset in the topic.
    pub offset: Offset,
    /// The topic's epoch when it was published.
    pub epoch: Epoch,
    /// What it is.
    pub kind: Kind,
    /// Its payload.
    pub payload: Bytes,
    /// The member it is not delivered to (its sender), if any.
    pub except: Option<Sender>,
}

impl Entry {
    /// Its position, for a client to resume after it.
    pub fn position(&self) -> Position {
        Position {
            epoch: self.epoch.clone(),
            offset: self.offset,
        }
    }

    /// The time it was stored, in milliseconds since the Unix epoch (the
    /// offset's first half).
    pub fn time_ms(&self) -> u64 {
        self.offset.ms
    }
}
