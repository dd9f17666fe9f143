//! Fan-out of WebSocket messages to topics, on one node or across many.
//!
//! A [`Hub`] holds topics (rooms). Members [`subscribe`](Hub::subscribe)
//! and publish; every message is framed once per node and the same frame
//! is queued for every member there, without copying the payload per
//! connection. Each member's queue is bounded in messages and bytes: a
//! member whose queue is full when a message comes is removed
//! ([`Subscription::overflowed`]), so that it never slows the others; its
//! connection should close with 1013 (try again later).
//!
//! Every message gets an offset in its topic and carries the topic's
//! epoch. A client that reconnects (to any node) gives back the last
//! [`Position`] it saw and gets what it missed, in order, then the live
//! messages; if the history no longer covers the gap, or the epoch
//! changed, it is told it did not recover ([`Recovery::NotRecovered`]).
//!
//! Backplanes: in-process ([`Hub::new`], one node) and, with the `redis`
//! feature, Redis Streams (`Hub::redis`): one stream per topic bounded by
//! length and age, read by every node from its last seen id, with
//! presence kept alive by node heartbeats. `docs/scaling.md` states the
//! guarantees.
//!
//! ```
//! # async fn run() -> Result<(), weft_hub::Error> {
//! use bytes::Bytes;
//! use weft_hub::{Hub, HubOptions, Kind, Since};
//!
//! let hub = Hub::new(HubOptions::new());
//! let mut ada = hub.subscribe("lobby", Since::Now).await?;
//! let position = hub.publish("lobby", Kind::Text, Bytes::from("hello")).await?;
//! let delivery = ada.recv().await.unwrap();
//! assert_eq!(delivery.entry.position(), position);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod entry;
mod error;
mod hub;
mod log;
mod options;
mod position;
mod queue;
#[cfg(feature = "redis")]
mod redis;
mod subscription;
mod topic;

pub use entry::{Entry, Kind, Sender};
pub use error::{Error, ErrorKind};
pub use hub::{Hub, Since};
pub use options::{
    plain_framer, Framer, HubOptions, DEFAULT_HISTORY_AGE, DEFAULT_HISTORY_LEN, DEFAULT_NODE_TTL,
    DEFAULT_QUEUE, DEFAULT_QUEUE_BYTES,
};
pub use position::{Epoch, InvalidOffset, Offset, Position};
pub use queue::Delivery;
pub use subscription::{Recovery, Subscription};
pub use topic::MemberId;
