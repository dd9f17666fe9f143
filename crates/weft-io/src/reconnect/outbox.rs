//! The messages a reconnecting client holds across connections.

use std::collections::VecDeque;
use std::fmt;

use crate::Message;

/// Identifies a message given to a reconnecting client: the order it was
/// given in, shown as `#7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(u64);

impl MessageId {
    /// The number, counting from 1 in the order messages were pushed.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What [`Outbox::push`] does with a message that does not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Refuse it: [`QueueFull`] gives it back. The default: nothing is lost
    /// without the application knowing at the moment it sends.
    #[default]
    Reject,
    /// Drop the oldest messages held (waiting or awaiting acknowledgement)
    /// until it fits: for updates where only the latest matter.
    DropOldest,
    /// Drop the new message itself, keeping those already held.
    DropNewest,
}

/// What a message's delivery is to survive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Forgotten once written to a connection: a connection lost before
    /// the peer read it loses it. The default.
    #[default]
    AtMostOnce,
    /// Held until the application [acknowledges](Outbox::ack) it, and
    /// written again after a reconnect if it was not: the peer may see it
    /// twice.
    AtLeastOnce,
}

/// How much an [`Outbox`] holds, and what happens past that.
///
/// ```
/// use weft_io::reconnect::{OutboxLimits, Overflow};
///
/// let limits = OutboxLimits::default()
///     .max_messages(100)
///     .overflow(Overflow::DropOldest);
/// assert_eq!(limits.max_bytes, 16 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboxLimits {
    /// The most messages held, waiting and awaiting acknowledgement
    /// together. Default: 1024.
    pub max_messages: usize,
    /// The most bytes held: the payloads of the messages (a close frame
    /// counts its code's 2 bytes and its reason). Default: 16 MiB.
    pub max_bytes: usize,
    /// What to do with a message past either limit. Default:
    /// [`Overflow::Reject`].
    pub overflow: Overflow,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        OutboxLimits {
            max_messages: 1024,
            max_bytes: 16 << 20,
            overflow: Overflow::Reject,
        }
    }
}

impl OutboxLimits {
    /// The defaults: 1024 messages, 16 MiB, [`Overflow::Reject`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`max_messages`](Self::max_messages).
    pub fn max_messages(mut self, messages: usize) -> Self {
        self.max_messages = messages;
        self
    }

    /// Sets [`max_bytes`](Self::max_bytes).
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Sets [`overflow`](Self::overflow).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }
}

/// A message the send queue could not take, given back.
#[derive(Debug)]
pub struct QueueFull {
    /// The message refused.
    pub message: Message,
    /// Messages and bytes held when it was refused.
    held: (usize, usize),
    /// The limits it was refused under.
    limits: OutboxLimits,
    /// The message's size as the limits count it.
    size: usize,
    /// A close frame or a fragment: never queued, whatever the room.
    unqueueable: bool,
}

impl QueueFull {
    /// Whether the message could not be queued even into an empty queue:
    /// larger than [`max_bytes`](OutboxLimits::max_bytes) on its own (or
    /// `max_messages` is 0). Waiting does not help; only smaller messages
    /// or larger limits do.
    pub fn is_too_large(&self) -> bool {
        self.size > self.limits.max_bytes || self.limits.max_messages == 0
    }

    /// Whether the message is of a kind the queue never takes: a close
    /// frame (close with the client's `close`, which ends it) or a fragment
    /// (a message in pieces cannot be written again whole on a new
    /// connection: send whole messages).
    pub fn is_unqueueable(&self) -> bool {
        self.unqueueable
    }

    /// The message refused.
    pub fn into_message(self) -> Message {
        self.message
    }
}

impl fmt::Display for QueueFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (messages, bytes) = self.held;
        let limits = &self.limits;
        if self.unqueueable {
            return f.write_str(
                "a close frame or a fragment cannot be queued: close with the client's close(), \
                 and send whole messages (a fragment cannot be written again on a new connection)",
            );
        }
        write!(
            f,
            "the send queue is full ({messages} messages, {bytes} bytes): "
        )?;
        if self.size > limits.max_bytes {
            write!(
                f,
                "a message of {} bytes is over the limit of {} bytes on its own \
                 (send smaller messages, or raise OutboxLimits::max_bytes)",
                self.size, limits.max_bytes
            )
        } else if limits.max_messages == 0 {
            f.write_str("OutboxLimits::max_messages is 0, so nothing can be queued")
        } else {
            write!(
                f,
                "a message of {} bytes does not fit within {} messages and {} bytes \
                 (wait for the connection to drain the queue, or choose another Overflow)",
                self.size, limits.max_messages, limits.max_bytes
            )
        }
    }
}

impl std::error::Error for QueueFull {}

/// What [`Outbox::push`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// The new message's id.
    pub id: MessageId,
    /// The messages dropped to keep within the limits, oldest first: those
    /// the new one displaced under [`Overflow::DropOldest`], or the new one
    /// itself (`vec![id]`) under [`Overflow::DropNewest`].
    pub dropped: Vec<MessageId>,
}

/// One message held.
#[derive(Clone, Debug)]
struct Entry {
    id: MessageId,
    message: Message,
    delivery: Delivery,
    size: usize,
}

/// The messages a reconnecting client holds: waiting to be written, and
/// ([`Delivery::AtLeastOnce`]) written but not yet acknowledged.
///
/// Messages are written in the order pushed. When a connection is lost,
/// the written messages not yet acknowledged go back in front of those
/// still waiting, in their original order, to be written on the next
/// connection.
///
/// ```
/// use weft_io::reconnect::{Delivery, Outbox, OutboxLimits};
/// use weft_io::Message;
///
/// let mut outbox = Outbox::new(OutboxLimits::default());
/// let order = outbox.push(Message::text("order 1"), Delivery::AtLeastOnce).unwrap().id;
/// let tick = outbox.push(Message::text("tick"), Delivery::AtMostOnce).unwrap().id;
///
/// // The connection writes both; only the order waits for its receipt.
/// for _ in 0..2 {
///     let (id, _message) = outbox.next_unwritten().unwrap();
///     outbox.written(id);
/// }
/// assert_eq!(outbox.unacked_ids(), [order]);
///
/// // The connection is lost before the receipt: the order is sent again.
/// assert_eq!(outbox.disconnected(), 1);
/// assert_eq!(outbox.next_unwritten(), Some((order, &Message::text("order 1"))));
/// outbox.written(order);
/// assert!(outbox.ack(order));
/// assert!(outbox.is_empty());
/// # let _ = tick;
/// ```
#[derive(Clone, Debug)]
pub struct Outbox {
    limits: OutboxLimits,
    /// Waiting to be written, in the order pushed (by id).
    unwritten: VecDeque<Entry>,
    /// Written, awaiting acknowledgement, in the order pushed (by id).
    unacked: VecDeque<Entry>,
    /// The sizes of every entry held.
    bytes: usize,
    /// The id the next message gets.
    next_id: u64,
}

impl Outbox {
    /// An empty outbox.
    pub fn new(limits: OutboxLimits) -> Outbox {
        Outbox {
            limits,
            unwritten: VecDeque::new(),
            unacked: VecDeque::new(),
            bytes: 0,
            next_id: 1,
        }
    }

    /// The limits it keeps to.
    pub fn limits(&self) -> &OutboxLimits {
        &self.limits
    }

    /// Queues `message` to be written after those pushed before it.
    ///
    /// Every entry held, waiting or awaiting acknowledgement, counts
    /// against the limits. A message larger than
    /// [`max_bytes`](OutboxLimits::max_bytes) on its own is refused with
    /// [`QueueFull`] whatever the [`Overflow`]. Otherwise, when it does not
    /// fit: [`Overflow::Reject`] refuses it with `QueueFull`;
    /// [`Overflow::DropOldest`] drops the oldest entries (of either kind)
    /// until it fits; [`Overflow::DropNewest`] drops it, and
    /// [`Pushed::dropped`] is `vec![id]`.
    pub fn push(&mut self, message: Message, delivery: Delivery) -> Result<Pushed, QueueFull> {
        let size = message_size(&message);
        let limits = self.limits;
        if matches!(message, Message::Close(_) | Message::Fragment(_)) {
            let mut refused = self.refuse(message, size);
            refused.unqueueable = true;
            return Err(refused);
        }
        if size > limits.max_bytes || limits.max_messages == 0 {
            return Err(self.refuse(message, size));
        }
        let mut dropped = Vec::new();
        if !self.fits(size) {
            match limits.overflow {
                Overflow::Reject => return Err(self.refuse(message, size)),
                Overflow::DropNewest => {
                    let id = self.next_id();
                    return Ok(Pushed {
                        id,
                        dropped: vec![id],
                    });
                }
                Overflow::DropOldest => {
                    // An empty queue fits it (checked above), so this ends.
                    while !self.fits(size) {
                        match self.pop_oldest() {
                            Some(entry) => dropped.push(entry.id),
                            None => return Err(self.refuse(message, size)),
                        }
                    }
                }
            }
        }
        let id = self.next_id();
        self.bytes += size;
        self.unwritten.push_back(Entry {
            id,
            message,
            delivery,
            size,
        });
        Ok(Pushed { id, dropped })
    }

    /// The first entry not yet written, in the order pushed.
    pub fn next_unwritten(&self) -> Option<(MessageId, &Message)> {
        self.unwritten.front().map(|e| (e.id, &e.message))
    }

    /// That entry was written to the connection: an
    /// [`AtMostOnce`](Delivery::AtMostOnce) entry is forgotten, an
    /// [`AtLeastOnce`](Delivery::AtLeastOnce) one kept until
    /// [acknowledged](Self::ack). `false` for an id not waiting (dropped
    /// or acknowledged while it was being written), which is ignored.
    pub fn written(&mut self, id: MessageId) -> bool {
        let Some(entry) = remove(&mut self.unwritten, id) else {
            return false;
        };
        match entry.delivery {
            Delivery::AtMostOnce => self.bytes -= entry.size,
            Delivery::AtLeastOnce => insert(&mut self.unacked, entry),
        }
        true
    }

    /// The application confirms `id` (the peer has it): it is no longer
    /// held. `true` if it was held; an entry not yet written is removed
    /// too.
    pub fn ack(&mut self, id: MessageId) -> bool {
        let entry = match remove(&mut self.unacked, id) {
            Some(entry) => entry,
            None => match remove(&mut self.unwritten, id) {
                Some(entry) => entry,
                None => return false,
            },
        };
        self.bytes -= entry.size;
        true
    }

    /// The connection was lost: every written, unacknowledged entry is to
    /// be written again, in its original order, before anything pushed
    /// later. Returns how many.
    pub fn disconnected(&mut self) -> usize {
        let resent = self.unacked.len();
        if resent == 0 {
            return 0;
        }
        let unacked = std::mem::take(&mut self.unacked);
        let unwritten = std::mem::take(&mut self.unwritten);
        let mut merged = VecDeque::with_capacity(unacked.len() + unwritten.len());
        let mut a = unacked.into_iter().peekable();
        let mut b = unwritten.into_iter().peekable();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.id < y.id => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, _) => b.next(),
            };
            match next {
                Some(entry) => merged.push_back(entry),
                None => break,
            }
        }
        self.unwritten = merged;
        resent
    }

    /// Forgets every entry, as when the client gives up or closes: the ids
    /// dropped, in the order pushed.
    pub fn clear(&mut self) -> Vec<MessageId> {
        let mut ids: Vec<MessageId> = self
            .unacked
            .drain(..)
            .chain(self.unwritten.drain(..))
            .map(|e| e.id)
            .collect();
        ids.sort_unstable();
        self.bytes = 0;
        ids
    }

    /// Entries held, waiting and awaiting acknowledgement.
    pub fn len(&self) -> usize {
        self.unwritten.len() + self.unacked.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes held, as the limits count them.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Entries waiting to be written.
    pub fn unwritten(&self) -> usize {
        self.unwritten.len()
    }

    /// Written [`AtLeastOnce`](Delivery::AtLeastOnce) entries awaiting
    /// acknowledgement.
    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    /// The ids of the entries awaiting acknowledgement, in the order
    /// pushed.
    pub fn unacked_ids(&self) -> Vec<MessageId> {
        self.unacked.iter().map(|e| e.id).collect()
    }

    /// Whether one more message of `size` bytes keeps within the limits.
    fn fits(&self, size: usize) -> bool {
        self.len() < self.limits.max_messages
            && self.bytes.saturating_add(size) <= self.limits.max_bytes
    }

    /// Takes the next id.
    fn next_id(&mut self) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// Removes the entry pushed first, waiting or not.
    fn pop_oldest(&mut self) -> Option<Entry> {
        let entry = match (self.unacked.front(), self.unwritten.front()) {
            (Some(a), Some(b)) if a.id < b.id => self.unacked.pop_front(),
            (_, Some(_)) => self.unwritten.pop_front(),
            (Some(_), None) => self.unacked.pop_front(),
            (None, None) => None,
        }?;
        self.bytes -= entry.size;
        Some(entry)
    }

    /// The refusal of `message`, given back with the state it met.
    fn refuse(&self, message: Message, size: usize) -> QueueFull {
        QueueFull {
            message,
            held: (self.len(), self.bytes),
            limits: self.limits,
            size,
            unqueueable: false,
        }
    }
}

/// Removes the entry `id` from a queue sorted by id.
fn remove(queue: &mut VecDeque<Entry>, id: MessageId) -> Option<Entry> {
    if queue.front().is_some_and(|e| e.id == id) {
        return queue.pop_front();
    }
    let at = queue.binary_search_by_key(&id, |e| e.id).ok()?;
    queue.remove(at)
}

/// Inserts `entry` into a queue sorted by id, where it belongs (at the
/// end, when written in order).
fn insert(queue: &mut VecDeque<Entry>, entry: Entry) {
    match queue.back() {
        Some(last) if last.id > entry.id => {
            let at = queue.partition_point(|e| e.id < entry.id);
            queue.insert(at, entry);
        }
        _ => queue.push_back(entry),
    }
}

/// The bytes a message holds: its payload (a close frame's code and
/// reason).
fn message_size(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
        Message::Close(None) => 0,
        Message::Close(Some(frame)) => 2 + frame.reason.len(),
        Message::Fragment(fragment) => fragment.data.len(),
        Message::Prepared(prepared) => prepared.len(),
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
