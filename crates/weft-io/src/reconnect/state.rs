//! [`ClientState`]: what a reconnecting client's handle and its connection
//! share, behind whatever lock the adapter uses.

use weft_proto::CloseFrame;

use super::outbox::{Delivery, MessageId, Outbox, OutboxLimits, Pushed, QueueFull};
use crate::Message;

/// The state a reconnecting client's handle (queueing, acknowledging,
/// closing) and its connection's loop (writing, reporting) share: the
/// [`Outbox`], the drops not yet reported, and the application's close.
/// Adapters keep it behind a lock and wake their loop after each change.
///
/// ```
/// use weft_io::reconnect::{ClientState, Delivery, OutboxLimits, Overflow};
///
/// let mut state = ClientState::new(OutboxLimits::new().max_messages(1).overflow(Overflow::DropOldest));
/// let first = state.push("a".into(), Delivery::AtMostOnce).unwrap().id;
/// state.push("b".into(), Delivery::AtMostOnce).unwrap();
/// assert_eq!(state.take_dropped(), [first]);
/// state.close(None);
/// assert!(state.close_requested().is_some());
/// ```
#[derive(Debug)]
pub struct ClientState {
    outbox: Outbox,
    dropped: Vec<MessageId>,
    close: Option<Option<CloseFrame>>,
    session_over: bool,
}

impl ClientState {
    /// An empty state with these queue limits.
    pub fn new(limits: OutboxLimits) -> ClientState {
        ClientState {
            outbox: Outbox::new(limits),
            dropped: Vec::new(),
            close: None,
            session_over: false,
        }
    }

    /// Queues `message`; what the overflow policy dropped is kept for
    /// [`take_dropped`](Self::take_dropped) as well as returned.
    ///
    /// The drops kept to report are bounded like the queue: at most
    /// `max_messages` (at least one) of the latest. A producer that drops
    /// faster than the loop reports loses the oldest reports, never memory;
    /// [`Pushed::dropped`] always tells the sender in full.
    pub fn push(&mut self, message: Message, delivery: Delivery) -> Result<Pushed, QueueFull> {
        let pushed = self.outbox.push(message, delivery)?;
        self.dropped.extend_from_slice(&pushed.dropped);
        let cap = self.outbox.limits().max_messages.max(1);
        if self.dropped.len() > cap {
            let excess = self.dropped.len() - cap;
            self.dropped.drain(..excess);
        }
        Ok(pushed)
    }

    /// Confirms an at-least-once message; see [`Outbox::ack`].
    pub fn ack(&mut self, id: MessageId) -> bool {
        self.outbox.ack(id)
    }

    /// The application closes with `frame` (`None`: 1000). The first
    /// close asked for is the one sent.
    pub fn close(&mut self, frame: Option<CloseFrame>) {
        self.close.get_or_insert(frame);
    }

    /// The close the application asked for, if it did.
    pub fn close_requested(&self) -> Option<&Option<CloseFrame>> {
        self.close.as_ref()
    }

    /// The messages dropped since the last call, to report.
    pub fn take_dropped(&mut self) -> Vec<MessageId> {
        std::mem::take(&mut self.dropped)
    }

    /// The client ends: every message still held is dropped. Returns
    /// those and the drops not yet reported, to report before the last
    /// event.
    pub fn finish(&mut self) -> Vec<MessageId> {
        let mut dropped = self.take_dropped();
        dropped.extend(self.outbox.clear());
        dropped
    }

    /// A connection's session starts (see [`session_over`](Self::session_over)).
    pub fn start_session(&mut self) {
        self.session_over = false;
    }

    /// The open connection's session has ended.
    pub fn end_session(&mut self) {
        self.session_over = true;
    }

    /// Whether the session has ended: a writer that waits on the state (in
    /// an adapter that writes from a thread of its own) stops.
    pub fn session_over(&self) -> bool {
        self.session_over
    }

    /// The queue.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The queue, to take messages from and mark them written.
    pub fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.outbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::Overflow;

    #[test]
    fn finishing_drops_everything_held_after_the_unreported_drops() {
        let limits = OutboxLimits::new()
            .max_messages(2)
            .overflow(Overflow::DropOldest);
        let mut state = ClientState::new(limits);
        let a = state.push("a".into(), Delivery::AtMostOnce).unwrap().id;
        let b = state.push("b".into(), Delivery::AtLeastOnce).unwrap().id;
        let c = state.push("c".into(), Delivery::AtMostOnce).unwrap().id;
        assert_eq!(state.finish(), [a, b, c]);
        assert!(state.outbox().is_empty());
        assert!(state.take_dropped().is_empty());
    }

    #[test]
    fn the_drops_kept_to_report_are_bounded_by_the_queue_limit() {
        let limits = OutboxLimits::new()
            .max_messages(2)
            .overflow(Overflow::DropNewest);
        let mut state = ClientState::new(limits);
        state.push("a".into(), Delivery::AtMostOnce).unwrap();
        state.push("b".into(), Delivery::AtMostOnce).unwrap();
        let dropped: Vec<_> = (0..10)
            .map(|_| {
                state
                    .push("c".into(), Delivery::AtMostOnce)
                    .unwrap()
                    .dropped[0]
            })
            .collect();
        assert_eq!(state.take_dropped(), dropped[8..]);
    }

    #[test]
    fn the_first_close_is_the_one_kept() {
        let mut state = ClientState::new(OutboxLimits::new());
        assert!(state.close_requested().is_none());
        state.close(None);
        state.close(Some(CloseFrame::new(weft_proto::CloseCode::GOING_AWAY, "")));
        assert_eq!(state.close_requested(), Some(&None));
    }
}
