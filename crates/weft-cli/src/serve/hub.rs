//! The fan-out of `weft serve --broadcast` and `--chat`: every member has a
//! queue of messages to send, bounded in messages and in bytes, filled
//! without waiting. A member whose queue is full when a message comes is
//! too slow to keep up: it
//! is removed (it gets what its queue holds, then a close with
//! [`TOO_SLOW`]), so that it never slows the others down and the memory
//! held for it stays bounded by its queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};
use weft_tokio::weft_proto::PreparedMessage;
use weft_tokio::{CloseCode, Message};

/// The close code of a member removed for not keeping up: 1013, try again
/// later (a reconnecting client does).
pub(crate) const TOO_SLOW: CloseCode = CloseCode::TRY_AGAIN_LATER;

/// The default number of messages a member's queue holds.
pub(crate) const DEFAULT_QUEUE: usize = 1024;

/// The default number of payload bytes a member's queue holds.
pub(crate) const DEFAULT_QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// A member's number in its hub.
pub(crate) type MemberId = u64;

struct Member {
    queue: mpsc::Sender<Message>,
    overflowed: Arc<AtomicBool>,
    /// Payload bytes in the queue.
    bytes: Arc<AtomicUsize>,
}

/// A message's payload size, what the byte budget counts.
fn size(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
        Message::Prepared(prepared) => prepared.len(),
        _ => 0,
    }
}

impl Member {
    /// Queues `message` unless the queue is full (by count or bytes,
    /// which marks the member as too slow) or its connection ended;
    /// `false` if not queued.
    fn offer(&self, message: &Message, max_bytes: usize) -> bool {
        let len = size(message);
        let held = self.bytes.load(Ordering::Relaxed);
        if held > 0 && held + len > max_bytes {
            self.overflowed.store(true, Ordering::Relaxed);
            return false;
        }
        match self.queue.try_send(message.clone()) {
            Ok(()) => {
                self.bytes.fetch_add(len, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_)) => {
                self.overflowed.store(true, Ordering::Relaxed);
                false
            }
            // Its connection ended and it has not left yet.
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// The members and their queues.
pub(crate) struct Hub {
    members: HashMap<MemberId, Member>,
    next_id: MemberId,
    capacity: usize,
    max_bytes: usize,
}

/// A member's side: the messages to send it, and whether it was removed
/// for not keeping up.
pub(crate) struct Inbox {
    /// The member's number.
    pub(crate) id: MemberId,
    /// Its queue; `None` from `recv` once it was removed and the queue is
    /// drained.
    queue: mpsc::Receiver<Message>,
    overflowed: Arc<AtomicBool>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

impl Inbox {
    /// The next message queued for the member; `None` once it was removed
    /// and the queue is drained.
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let message = self.queue.recv().await?;
        self.bytes.fetch_sub(size(&message), Ordering::Relaxed);
        Some(message)
    }

    /// The next message queued, if there is one now.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        let message = self.queue.try_recv().ok()?;
        self.bytes.fetch_sub(size(&message), Ordering::Relaxed);
        Some(message)
    }

    /// How many payload bytes the queue holds at most.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How many messages the queue holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.queue.max_capacity()
    }

    /// Whether the member was removed because its queue was full.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

impl Hub {
    /// A hub whose members' queues hold `capacity` messages and
    /// `max_bytes` bytes of payload each (at least one message, whatever
    /// its size).
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Hub {
        Hub {
            members: HashMap::new(),
            next_id: 0,
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    /// Adds a member.
    pub(crate) fn join(&mut self) -> Inbox {
        let (queue, receiver) = mpsc::channel(self.capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicUsize::new(0));
        let id = self.next_id;
        self.next_id += 1;
        self.members.insert(
            id,
            Member {
                queue,
                overflowed: overflowed.clone(),
                bytes: bytes.clone(),
            },
        );
        Inbox {
            id,
            queue: receiver,
            overflowed,
            bytes,
            max_bytes: self.max_bytes,
        }
    }

    /// Removes a member (it left).
    pub(crate) fn leave(&mut self, id: MemberId) {
        self.members.remove(&id);
    }

    /// How many members there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Queues `message` for member `id` only; `false` if it was removed
    /// for its queue being full (or had left).
    pub(crate) fn publish_to(&mut self, id: MemberId, message: &Message) -> bool {
        let Some(member) = self.members.get(&id) else {
            return false;
        };
        if member.offer(message, self.max_bytes) {
            return true;
        }
        self.members.remove(&id);
        false
    }

    /// Queues `message` for every member but `except`; removes those whose
    /// queue is full. Returns the members removed. A text or binary message
    /// is framed once, as a [`PreparedMessage`]: every connection sends
    /// that same frame, without copying it.
    pub(crate) fn publish(&mut self, message: &Message, except: Option<MemberId>) -> Vec<MemberId> {
        let prepared = match message {
            Message::Text(text) => Message::Prepared(PreparedMessage::text(text.clone())),
            Message::Binary(data) => Message::Prepared(PreparedMessage::binary(data.clone())),
            other => other.clone(),
        };
        let message = &prepared;
        let mut removed = Vec::new();
        for (&id, member) in &self.members {
            if Some(id) == except {
                continue;
            }
            if !member.offer(message, self.max_bytes) {
                removed.push(id);
            }
        }
        for id in &removed {
            self.members.remove(id);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What members receive of a text or binary message published: the
    /// same message, framed once.
    fn framed_once(message: Message) -> Message {
        match message {
            Message::Text(text) => Message::Prepared(PreparedMessage::text(text)),
            Message::Binary(data) => Message::Prepared(PreparedMessage::binary(data)),
            other => other,
        }
    }

    #[tokio::test]
    async fn a_member_that_cannot_keep_up_is_removed_and_the_others_get_everything() {
        let mut hub = Hub::new(2, DEFAULT_QUEUE_BYTES);
        let mut fast = hub.join();
        let mut slow = hub.join();
        let sender = hub.join();
        for i in 0..3 {
            let removed = hub.publish(&Message::text(i.to_string()), Some(sender.id));
            // The fast one reads as messages come; the slow one never does.
            assert_eq!(
                fast.recv().await.unwrap(),
                framed_once(Message::text(i.to_string()))
            );
            assert_eq!(removed, if i == 2 { vec![slow.id] } else { vec![] });
        }
        assert!(slow.overflowed() && !fast.overflowed());
        assert_eq!(hub.len(), 2);
        // The slow one still gets what its queue held, then the end.
        assert_eq!(slow.recv().await.unwrap(), framed_once(Message::text("0")));
        assert_eq!(slow.recv().await.unwrap(), framed_once(Message::text("1")));
        assert_eq!(slow.recv().await, None);
    }

    #[tokio::test]
    async fn the_queue_is_bounded_in_bytes_too() {
        let mut hub = Hub::new(100, 10);
        let mut reader = hub.join();
        let mut slow = hub.join();
        // One message larger than the budget still goes to an empty queue.
        assert!(hub.publish(&Message::binary(vec![0; 12]), None).is_empty());
        assert_eq!(
            reader.recv().await.unwrap(),
            framed_once(Message::binary(vec![0; 12]))
        );
        // The slow one holds 12 bytes: 1 more is over its budget.
        assert_eq!(hub.publish(&Message::binary(vec![1]), None), vec![slow.id]);
        assert!(slow.overflowed());
        assert_eq!(
            slow.recv().await.unwrap(),
            framed_once(Message::binary(vec![0; 12]))
        );
        assert_eq!(slow.recv().await, None);
        // What the reader took no longer counts against it.
        for _ in 0..30 {
            assert!(hub.publish(&Message::binary(vec![2; 5]), None).is_empty());
            assert!(reader.recv().await.is_some());
        }
    }
}
