//! A client that stays connected: it reconnects after failures with
//! backoff, runs a hook on every connection, keeps what is sent while
//! disconnected, and resends what was not acknowledged.
//!
//! The policy, the queue and the decisions are `weft_io::reconnect`'s,
//! shared with `weft-std`; this module runs them on tokio: the connection
//! lives in a task of its own, the [`ReconnectingClient`] handle queues
//! messages and receives [`ClientEvent`]s. Time is tokio's, so a test on
//! a paused clock sees every backoff without waiting.
//!
//! See `docs/recovery.md` for the guarantees and a complete example.

mod builder;
mod client;
mod run;
mod wake;

pub use builder::{HookFuture, ReconnectBuilder};
pub use client::ReconnectingClient;
pub use wake::TaskWake;
pub use weft_io::reconnect::{
    Backoff, ClientEvent, Delivery, Disconnect, Jitter, MessageId, Outbox, OutboxLimits, Overflow,
    Pushed, QueueFull, ReconnectOptions, ReconnectPolicy,
};

use tokio::net::TcpStream;

use crate::{MaybeTlsStream, WebSocketStream};

/// The sending side of a [`ReconnectingClient`], for other tasks: queue,
/// acknowledge, close. The client dereferences to one.
pub type ReconnectingSender = weft_io::reconnect::ReconnectingSender<TaskWake>;

/// What the handle and the connection's task share: the queue, the
/// application's close, and the wake-up between them.
pub(crate) type Shared = weft_io::reconnect::Shared<TaskWake>;

/// The connection a reconnecting client opens, as its hook sees it.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Starts building a reconnecting client for `url`.
///
/// ```no_run
/// # async fn run() {
/// use weft_tokio::reconnect::{self, ClientEvent};
/// use weft_tokio::Message;
///
/// let mut client = reconnect::connect("ws://127.0.0.1:9001/feed")
///     .on_connect(|ws| Box::pin(async move {
///         use futures_util::SinkExt;
///         ws.send(Message::text("subscribe prices")).await
///     }))
///     .start();
/// client.send(Message::text("hello")).unwrap();
/// while let Some(event) = client.next_event().await {
///     match event {
///         ClientEvent::Message(message) => println!("{message:?}"),
///         ClientEvent::Disconnected { cause, retry_in } => {
///             eprintln!("{cause}; retrying in {retry_in:?}")
///         }
///         ClientEvent::GaveUp { cause } => eprintln!("giving up: {cause}"),
///         _ => {}
///     }
/// }
/// # }
/// ```
pub fn connect(url: impl Into<String>) -> ReconnectBuilder {
    ReconnectBuilder::new(url.into())
}
