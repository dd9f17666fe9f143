//! [`ReconnectingClient`]: the application's handle on a reconnecting
//! connection, and [`ReconnectingSender`], a clonable sending half.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use weft_io::reconnect::{ClientEvent, Delivery, MessageId, Pushed, QueueFull};
use weft_io::Message;
use weft_proto::CloseFrame;

use super::shared::Shared;

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

/// The sending side of a [`ReconnectingClient`], for other tasks: queue,
/// acknowledge, close.
#[derive(Clone)]
pub struct ReconnectingSender {
    pub(super) shared: Arc<Shared>,
}

impl ReconnectingSender {
    /// Queues `message` to be sent at most once: written when a
    /// connection is open, lost if that connection fails before the bytes
    /// leave. [`ClientEvent::Written`] follows once it is written.
    pub fn send(&self, message: impl Into<Message>) -> Result<Pushed, QueueFull> {
        self.push(message.into(), Delivery::AtMostOnce)
    }

    /// Queues `message` to be sent at least once: it is kept after it is
    /// written until [`ack`](Self::ack) confirms it, and written again
    /// (in its original order) on every new connection until then.
    pub fn send_reliable(&self, message: impl Into<Message>) -> Result<Pushed, QueueFull> {
        self.push(message.into(), Delivery::AtLeastOnce)
    }

    fn push(&self, message: Message, delivery: Delivery) -> Result<Pushed, QueueFull> {
        let pushed = self.shared.lock().push(message, delivery)?;
        self.shared.wake.notify_one();
        Ok(pushed)
    }

    /// Confirms a message sent with [`send_reliable`](Self::send_reliable)
    /// (from whatever the application's protocol uses as an
    /// acknowledgement): it is forgotten and never resent. `false` if it
    /// was not held.
    pub fn ack(&self, id: MessageId) -> bool {
        self.shared.lock().ack(id)
    }

    /// Closes the connection with `frame` (`None`: 1000) and stops
    /// reconnecting; [`ClientEvent::Closed`] is the last event.
    pub fn close(&self, frame: Option<CloseFrame>) {
        self.shared.lock().close(frame);
        self.shared.wake.notify_one();
    }

    /// Messages held: waiting to be written, or written and not yet
    /// acknowledged.
    pub fn queued(&self) -> usize {
        self.shared.lock().outbox().len()
    }

    /// Messages written and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.shared.lock().outbox().unacked()
    }
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

    /// See [`ReconnectingSender::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<Pushed, QueueFull> {
        self.sender.send(message)
    }

    /// See [`ReconnectingSender::send_reliable`].
    pub fn send_reliable(&self, message: impl Into<Message>) -> Result<Pushed, QueueFull> {
        self.sender.send_reliable(message)
    }

    /// See [`ReconnectingSender::ack`].
    pub fn ack(&self, id: MessageId) -> bool {
        self.sender.ack(id)
    }

    /// See [`ReconnectingSender::close`].
    pub fn close(&self, frame: Option<CloseFrame>) {
        self.sender.close(frame)
    }

    /// See [`ReconnectingSender::queued`].
    pub fn queued(&self) -> usize {
        self.sender.queued()
    }

    /// See [`ReconnectingSender::unacked`].
    pub fn unacked(&self) -> usize {
        self.sender.unacked()
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
