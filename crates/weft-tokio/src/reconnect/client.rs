//! [`ReconnectingClient`]: the application's handle on a reconnecting
//! connection.

use std::ops::Deref;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use weft_io::reconnect::ClientEvent;

use super::ReconnectingSender;

/// A client that reconnects by itself; made by
/// [`reconnect::connect`](super::connect).
///
/// Messages given to [`send`](Self::send) are queued (within the
/// [`OutboxLimits`](super::OutboxLimits)) and written in order as soon as a
/// connection is open and its hook has run; [`next_event`](Self::next_event)
/// gives what arrives and what happens. Dropping the client closes the
/// connection (1000) and stops reconnecting.
pub struct ReconnectingClient {
    pub(super) sender: ReconnectingSender,
    pub(super) events: mpsc::Receiver<ClientEvent>,
    pub(super) task: Option<JoinHandle<()>>,
}

impl ReconnectingClient {
    /// The next thing that happened: a message, a connection opened or
    /// lost, a message written or dropped. `None` after the last event
    /// ([`ClientEvent::GaveUp`] or [`ClientEvent::Closed`]).
    /// Cancel-safe.
    pub async fn next_event(&mut self) -> Option<ClientEvent> {
        self.events.recv().await
    }

    /// A sending half for other tasks.
    pub fn sender(&self) -> ReconnectingSender {
        self.sender.clone()
    }
}

/// `send`, `send_reliable`, `ack`, `close`, `queued` and `unacked` are the
/// [`ReconnectingSender`]'s.
impl Deref for ReconnectingClient {
    type Target = ReconnectingSender;

    fn deref(&self) -> &ReconnectingSender {
        &self.sender
    }
}

impl Drop for ReconnectingClient {
    fn drop(&mut self) {
        // With no one to read its events, the task closes the connection
        // and ends; it is not aborted, so the close frame goes out.
        self.sender.close(None);
        drop(self.task.take());
    }
}
