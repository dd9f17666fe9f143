//! [`ReconnectingClient`]: the application's handle on a reconnecting
//! connection, and [`ReconnectingSender`], a clonable sending half.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use weft_io::reconnect::{ClientEvent, Delivery, MessageId, Pushed, QueueFull};
use weft_io::Message;
use weft_proto::CloseFrame;

use super::shared::Shared;

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

/// The sending side of a [`ReconnectingClient`], for other threads:
/// queue, acknowledge, close.
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
        let pushed = self.shared.lock().client.push(message, delivery)?;
        self.shared.changed.notify_all();
        Ok(pushed)
    }

    /// Confirms a message sent with [`send_reliable`](Self::send_reliable)
    /// (from whatever the application's protocol uses as an
    /// acknowledgement): it is forgotten and never resent. `false` if it
    /// was not held.
    pub fn ack(&self, id: MessageId) -> bool {
        self.shared.lock().client.ack(id)
    }

    /// Closes the connection with `frame` (`None`: 1000) and stops
    /// reconnecting; [`ClientEvent::Closed`] is the last event.
    pub fn close(&self, frame: Option<CloseFrame>) {
        self.shared.lock().client.close(frame);
        self.shared.changed.notify_all();
    }

    /// Messages held: waiting to be written, or written and not yet
    /// acknowledged.
    pub fn queued(&self) -> usize {
        self.shared.lock().client.outbox().len()
    }

    /// Messages written and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.shared.lock().client.outbox().unacked()
    }
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
