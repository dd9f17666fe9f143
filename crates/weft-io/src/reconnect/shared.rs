//! [`Shared`]: a reconnecting client's [`ClientState`] behind a lock, with
//! the way its loop is woken, and [`ReconnectingSender`], the handle that
//! queues, acknowledges and closes through it. Each adapter supplies the
//! [`Wake`]: a `Condvar` for `weft-std`'s threads, a `Notify` for
//! `weft-tokio`'s task.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use weft_proto::CloseFrame;

use super::outbox::{Delivery, MessageId, OutboxLimits, Pushed, QueueFull};
use super::state::ClientState;
use crate::Message;

/// How a client's loop is told that its handle changed the state.
pub trait Wake: Send + Sync + 'static {
    /// Wakes the loop (every thread waiting, for a `Condvar`).
    fn wake(&self);
}

impl Wake for Condvar {
    fn wake(&self) {
        self.notify_all();
    }
}

/// A client's state behind a lock, and its loop's waker.
pub struct Shared<W> {
    state: Mutex<ClientState>,
    waker: W,
}

impl<W: Wake> Shared<W> {
    /// An empty state with these queue limits.
    pub fn new(limits: OutboxLimits, waker: W) -> Shared<W> {
        Shared {
            state: Mutex::new(ClientState::new(limits)),
            waker,
        }
    }

    /// The state, even if a thread panicked holding it: every change to it
    /// is a single call that leaves it consistent.
    pub fn lock(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The waker, for the loop to wait on.
    pub fn waker(&self) -> &W {
        &self.waker
    }

    /// Wakes the loop.
    pub fn wake(&self) {
        self.waker.wake();
    }

    /// Whether the application asked to close.
    pub fn close_requested(&self) -> bool {
        self.lock().close_requested().is_some()
    }
}

impl<W> fmt::Debug for Shared<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// The sending side of a reconnecting client: queue, acknowledge, close,
/// from any task or thread. Both adapters' clients dereference to it.
pub struct ReconnectingSender<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for ReconnectingSender<W> {
    fn clone(&self) -> Self {
        ReconnectingSender {
            shared: self.shared.clone(),
        }
    }
}

impl<W> fmt::Debug for ReconnectingSender<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingSender").finish_non_exhaustive()
    }
}

impl<W: Wake> ReconnectingSender<W> {
    /// A sender on `shared`.
    pub fn new(shared: Arc<Shared<W>>) -> Self {
        ReconnectingSender { shared }
    }

    /// Queues `message` to be sent at most once: written when a
    /// connection is open, lost if that connection fails before the bytes
    /// leave. [`ClientEvent::Written`](super::ClientEvent::Written) follows
    /// once it is written. Close frames and fragments are refused
    /// ([`QueueFull::is_unqueueable`]).
    pub fn send(&self, message: impl Into<Message>) -> Result<Pushed, QueueFull> {
        self.push(message.into(), Delivery::AtMostOnce)
    }

    /// Queues `message` to be sent at least once: it is kept after it is
    /// written until [`ack`](Self::ack) confirms it, and written again (in
    /// its original order) on every new connection until then.
    pub fn send_reliable(&self, message: impl Into<Message>) -> Result<Pushed, QueueFull> {
        self.push(message.into(), Delivery::AtLeastOnce)
    }

    fn push(&self, message: Message, delivery: Delivery) -> Result<Pushed, QueueFull> {
        let pushed = self.shared.lock().push(message, delivery)?;
        self.shared.wake();
        Ok(pushed)
    }

    /// Confirms a message sent with [`send_reliable`](Self::send_reliable)
    /// (from whatever the application's protocol uses as an
    /// acknowledgement): it is forgotten and never resent. `false` if it
    /// was not held.
    pub fn ack(&self, id: MessageId) -> bool {
        self.shared.lock().ack(id)
    }

    /// Writes what is queued, then closes the connection with `frame`
    /// (`None`: 1000) and stops reconnecting;
    /// [`ClientEvent::Closed`](super::ClientEvent::Closed) is the last
    /// event. While disconnected, the client ends at once and what is
    /// queued is reported dropped.
    pub fn close(&self, frame: Option<CloseFrame>) {
        self.shared.lock().close(frame);
        self.shared.wake();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn every_change_the_loop_must_act_on_wakes_it() {
        let shared = Arc::new(Shared::new(OutboxLimits::new(), Count::default()));
        let sender = ReconnectingSender::new(shared.clone());
        let id = sender.send_reliable("a").unwrap().id;
        assert_eq!(shared.waker().0.load(Ordering::SeqCst), 1);
        assert_eq!(sender.queued(), 1);
        assert!(sender.ack(id));
        assert_eq!(sender.queued(), 0);
        sender.close(None);
        assert_eq!(shared.waker().0.load(Ordering::SeqCst), 2);
        assert!(shared.close_requested());
        assert!(sender
            .send(Message::Close(None))
            .unwrap_err()
            .is_unqueueable());
    }
}
