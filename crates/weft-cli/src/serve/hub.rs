//! The fan-out of `weft serve --broadcast` and `--chat`: every member has a
//! bounded queue of messages to send, filled without waiting. A member
//! whose queue is full when a message comes is too slow to keep up: it
//! is removed (it gets what its queue holds, then a close with
//! [`TOO_SLOW`]), so that it never slows the others down and the memory
//! held for it stays bounded by its queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};
use weft_tokio::{CloseCode, Message};

/// The close code of a member removed for not keeping up: 1013, try again
/// later (a reconnecting client does).
pub(crate) const TOO_SLOW: CloseCode = CloseCode::TRY_AGAIN_LATER;

/// The default number of messages a member's queue holds.
pub(crate) const DEFAULT_QUEUE: usize = 1024;

/// A member's number in its hub.
pub(crate) type MemberId = u64;

struct Member {
    queue: mpsc::Sender<Message>,
    overflowed: Arc<AtomicBool>,
}

/// The members and their queues.
pub(crate) struct Hub {
    members: HashMap<MemberId, Member>,
    next_id: MemberId,
    capacity: usize,
}

/// A member's side: the messages to send it, and whether it was removed
/// for not keeping up.
pub(crate) struct Inbox {
    /// The member's number.
    pub(crate) id: MemberId,
    /// Its queue; `None` from `recv` once it was removed and the queue is
    /// drained.
    pub(crate) queue: mpsc::Receiver<Message>,
    overflowed: Arc<AtomicBool>,
}

impl Inbox {
    /// Whether the member was removed because its queue was full.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

impl Hub {
    /// A hub whose members' queues hold `capacity` messages each.
    pub(crate) fn new(capacity: usize) -> Hub {
        Hub {
            members: HashMap::new(),
            next_id: 0,
            capacity: capacity.max(1),
        }
    }

    /// Adds a member.
    pub(crate) fn join(&mut self) -> Inbox {
        let (queue, receiver) = mpsc::channel(self.capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        let id = self.next_id;
        self.next_id += 1;
        self.members.insert(
            id,
            Member {
                queue,
                overflowed: overflowed.clone(),
            },
        );
        Inbox {
            id,
            queue: receiver,
            overflowed,
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
        match member.queue.try_send(message.clone()) {
            Ok(()) => true,
            Err(e) => {
                if let TrySendError::Full(_) = e {
                    member.overflowed.store(true, Ordering::Relaxed);
                }
                self.members.remove(&id);
                false
            }
        }
    }

    /// Queues `message` for every member but `except`; removes those whose
    /// queue is full. Returns the members removed.
    pub(crate) fn publish(&mut self, message: &Message, except: Option<MemberId>) -> Vec<MemberId> {
        let mut removed = Vec::new();
        for (&id, member) in &self.members {
            if Some(id) == except {
                continue;
            }
            match member.queue.try_send(message.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    member.overflowed.store(true, Ordering::Relaxed);
                    removed.push(id);
                }
                // Its connection ended and it has not left yet.
                Err(TrySendError::Closed(_)) => removed.push(id),
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

    #[test]
    fn a_member_that_cannot_keep_up_is_removed_and_the_others_get_everything() {
        let mut hub = Hub::new(2);
        let mut fast = hub.join();
        let mut slow = hub.join();
        let sender = hub.join();
        for i in 0..3 {
            let removed = hub.publish(&Message::text(i.to_string()), Some(sender.id));
            // The fast one reads as messages come; the slow one never does.
            assert_eq!(fast.queue.try_recv().unwrap(), Message::text(i.to_string()));
            assert_eq!(removed, if i == 2 { vec![slow.id] } else { vec![] });
        }
        assert!(slow.overflowed() && !fast.overflowed());
        assert_eq!(hub.len(), 2);
        // The slow one still gets what its queue held, then the end.
        assert_eq!(slow.queue.try_recv().unwrap(), Message::text("0"));
        assert_eq!(slow.queue.try_recv().unwrap(), Message::text("1"));
        assert!(slow.queue.try_recv().is_err());
        assert!(slow.queue.is_closed());
    }
}
