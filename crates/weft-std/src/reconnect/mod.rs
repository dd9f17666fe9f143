//! A client that stays connected: it reconnects after failures with
//! backoff, runs a hook on every connection, keeps what is sent while
//! disconnected, and resends what was not acknowledged.
//!
//! The policy, the queue and the decisions are `weft_io::reconnect`'s,
//! shared with `weft-tokio`; this module runs them on threads: one reads
//! the connection and runs the reconnect loop, one writes the queue while
//! a connection is open. The [`ReconnectingClient`] handle queues messages
//! and receives [`ClientEvent`]s. The backoff's clock is a [`Clock`], so a
//! test can replace it and run without sleeping.
//!
//! See `docs/recovery.md` for the guarantees and a complete example.

mod builder;
mod client;
mod clock;
mod run;
mod writer;

pub use builder::ReconnectBuilder;
pub use client::ReconnectingClient;
pub use clock::{Clock, SystemClock};
pub use weft_io::reconnect::{
    Backoff, ClientEvent, Delivery, Disconnect, Jitter, MessageId, Outbox, OutboxLimits, Overflow,
    Pushed, QueueFull, ReconnectOptions, ReconnectPolicy,
};

use crate::{MaybeTlsStream, WebSocket};

/// The sending side of a [`ReconnectingClient`], for other threads: queue,
/// acknowledge, close. The client dereferences to one.
pub type ReconnectingSender = weft_io::reconnect::ReconnectingSender<std::sync::Condvar>;

/// What the handle, the reading thread and the writing thread share: the
/// queue, the application's close, the session's end, and the condition
/// variable signalled on each change.
pub(crate) type Shared = weft_io::reconnect::Shared<std::sync::Condvar>;

/// The connection a reconnecting client opens, as its hook sees it.
pub type Ws = WebSocket<MaybeTlsStream>;

/// Starts building a reconnecting client for `url`.
///
/// ```no_run
/// use weft_std::reconnect::{self, ClientEvent};
///
/// let client = reconnect::connect("ws://127.0.0.1:9001/feed")
///     .on_connect(|ws| ws.send("subscribe prices"))
///     .start();
/// client.send("hello").unwrap();
/// while let Some(event) = client.recv() {
///     match event {
///         ClientEvent::Message(message) => println!("{message:?}"),
///         ClientEvent::Disconnected { cause, retry_in } => {
///             eprintln!("{cause}; retrying in {retry_in:?}")
///         }
///         ClientEvent::GaveUp { cause } => eprintln!("giving up: {cause}"),
///         _ => {}
///     }
/// }
/// ```
pub fn connect(url: impl Into<String>) -> ReconnectBuilder {
    ReconnectBuilder::new(url.into())
}
