//! [`ReconnectingClient`]: the application's handle on a reconnecting
//! connection.

use std::ops::Deref;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use weft_io::reconnect::ClientEvent;

use super::ReconnectingSender;

/// A client that reconnects by itself; made by
/// [`reconnect::connect`](super::connect).
///
/// Messages given to [`send`](Self::send) are queued (within the
/// [`OutboxLimits`](super::OutboxLimits)) and written in order as soon as a
/// connection is open and its hook has run; [`recv`](Self::recv) gives what
/// arrives and what happens. Dropping the client closes the connection
/// (1000), stops reconnecting and waits for its thread.
pub struct ReconnectingClient {
    pub(super) sender: ReconnectingSender,
    pub(super) events: Option<Receiver<ClientEvent>>,
    pub(super) thread: Option<JoinHandle<()>>,
}

impl ReconnectingClient {
    /// The next thing that happened, waiting for it: a message, a
    /// connection opened or lost, a message written or dropped. `None`
    /// after the last event ([`ClientEvent::GaveUp`] or
    /// [`ClientEvent::Closed`]).
    pub fn recv(&self) -> Option<ClientEvent> {
        self.events.as_ref()?.recv().ok()
    }

    /// [`recv`](Self::recv), waiting at most `timeout`: `Err(true)` when
    /// nothing came in time, `Err(false)` after the last event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<ClientEvent, bool> {
        let events = self.events.as_ref().ok_or(false)?;
        events.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => true,
            RecvTimeoutError::Disconnected => false,
        })
    }

    /// A sending half for other threads.
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
        self.sender.close(None);
        // With the events unread, the thread's next report fails and it
        // ends: drop the receiver first so that it cannot block on a full
        // channel.
        drop(self.events.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
