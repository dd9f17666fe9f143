//! A hub's settings: queue bounds, history bounds, presence timing, and how
//! an entry becomes the WebSocket message its members are sent.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use weft_io::Message;
use weft_proto::{PreparedMessage, Utf8Bytes};

use crate::entry::{Entry, Kind};

/// Turns an entry into the message its members are sent, or `None` for
/// none. It runs once per entry on each node, never once per member: the
/// message it gives (best a [`Message::Prepared`]) is shared by every
/// member's queue without copying.
pub type Framer = Arc<dyn Fn(&Entry) -> Option<Message> + Send + Sync>;

/// The framer used unless told otherwise: text and binary entries go out
/// as they were published, framed once; presence entries are not sent.
pub fn plain_framer() -> Framer {
    Arc::new(|entry: &Entry| match entry.kind {
        Kind::Text => Utf8Bytes::try_from(entry.payload.clone())
            .ok()
            .map(|text| Message::Prepared(PreparedMessage::text(text))),
        Kind::Binary => Some(Message::Prepared(PreparedMessage::binary(
            entry.payload.clone(),
        ))),
        Kind::Joined | Kind::Left => None,
    })
}

/// The number of messages a member's queue holds by default.
pub const DEFAULT_QUEUE: usize = 1024;
/// The payload bytes a member's queue holds by default.
pub const DEFAULT_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// The messages a topic's history keeps by default.
pub const DEFAULT_HISTORY_LEN: usize = 1000;
/// How long a topic's history keeps a message by default.
pub const DEFAULT_HISTORY_AGE: Duration = Duration::from_secs(3600);
/// How long a node's presence outlives its last heartbeat by default.
pub const DEFAULT_NODE_TTL: Duration = Duration::from_secs(15);

/// A hub's settings.
#[derive(Clone)]
pub struct HubOptions {
    pub(crate) queue: usize,
    pub(crate) queue_bytes: usize,
    pub(crate) history_len: usize,
    pub(crate) history_age: Duration,
    pub(crate) node_ttl: Duration,
    pub(crate) framer: Framer,
}

impl Default for HubOptions {
    fn default() -> HubOptions {
        HubOptions {
            queue: DEFAULT_QUEUE,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            history_len: DEFAULT_HISTORY_LEN,
            history_age: DEFAULT_HISTORY_AGE,
            node_ttl: DEFAULT_NODE_TTL,
            framer: plain_framer(),
        }
    }
}

impl fmt::Debug for HubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubOptions")
            .field("queue", &self.queue)
            .field("queue_bytes", &self.queue_bytes)
            .field("history_len", &self.history_len)
            .field("history_age", &self.history_age)
            .field("node_ttl", &self.node_ttl)
            .finish_non_exhaustive()
    }
}

impl HubOptions {
    /// The default settings.
    pub fn new() -> HubOptions {
        HubOptions::default()
    }

    /// The messages a member's queue holds (default [`DEFAULT_QUEUE`], at
    /// least 1). A member whose queue is full when a message comes is too
    /// slow: it is removed, and its connection should close with 1013.
    pub fn queue(mut self, messages: usize) -> HubOptions {
        self.queue = messages.max(1);
        self
    }

    /// The payload bytes a member's queue holds (default
    /// [`DEFAULT_QUEUE_BYTES`]); an empty queue takes one message of any
    /// size.
    pub fn queue_bytes(mut self, bytes: usize) -> HubOptions {
        self.queue_bytes = bytes;
        self
    }

    /// The messages a topic's history keeps (default
    /// [`DEFAULT_HISTORY_LEN`], at least 1): a client that missed more is
    /// not recovered. With Redis, each topic's stream keeps at least 1024
    /// entries whatever this says (the nodes read from it), trimmed
    /// approximately (`MAXLEN ~`, about 100 more).
    pub fn history_len(mut self, messages: usize) -> HubOptions {
        self.history_len = messages.max(1);
        self
    }

    /// How long a topic's history keeps a message (default
    /// [`DEFAULT_HISTORY_AGE`]). With Redis, a topic nobody publishes to
    /// and nobody is subscribed to for this long loses its history and,
    /// with it, its epoch. In-process, a topic with no member and no
    /// message younger than this is forgotten, epoch included.
    pub fn history_age(mut self, age: Duration) -> HubOptions {
        self.history_age = age.max(Duration::from_secs(1));
        self
    }

    /// How long a node's members stay in presence after its last
    /// heartbeat (default [`DEFAULT_NODE_TTL`]; heartbeats go every third
    /// of it). Redis only: one node's presence cannot outlive it.
    pub fn node_ttl(mut self, ttl: Duration) -> HubOptions {
        self.node_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// How entries become messages (default [`plain_framer`]).
    pub fn framer(mut self, framer: Framer) -> HubOptions {
        self.framer = framer;
        self
    }
}
