//! A member's queue of messages to send, bounded in messages and in bytes
//! and filled without waiting. A member whose queue is full when a message
//! comes is too slow to keep up: the hub removes it, so that it never slows
//! the others down and the memory held for it stays bounded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::{self, error::TrySendError};
use weft_io::Message;

use crate::entry::Entry;
use crate::position::{Epoch, Offset};

/// A message for one member: the entry, and the message it was framed as
/// (shared with every other member it went to).
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The entry delivered.
    pub entry: Arc<Entry>,
    /// The WebSocket message to send for it.
    pub message: Message,
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

/// The hub's end of a member's queue.
pub(crate) struct Outlet {
    queue: mpsc::Sender<Delivery>,
    overflowed: Arc<AtomicBool>,
    lagged: Arc<AtomicBool>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    /// The newest entry the member has (its history's end, then each one
    /// queued): an entry at or before it, of the same epoch, is not queued
    /// again, so that a node reading a stretch a second time costs its
    /// members no queue room.
    pub(crate) seen: Option<(Epoch, Offset)>,
}

/// The member's end of its queue.
pub(crate) struct Inlet {
    queue: mpsc::Receiver<Delivery>,
    overflowed: Arc<AtomicBool>,
    lagged: Arc<AtomicBool>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// A queue holding `capacity` messages and `max_bytes` payload bytes.
pub(crate) fn queue(capacity: usize, max_bytes: usize) -> (Outlet, Inlet) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let overflowed = Arc::new(AtomicBool::new(false));
    let lagged = Arc::new(AtomicBool::new(false));
    let bytes = Arc::new(AtomicUsize::new(0));
    (
        Outlet {
            queue: sender,
            overflowed: overflowed.clone(),
            lagged: lagged.clone(),
            bytes: bytes.clone(),
            max_bytes,
            seen: None,
        },
        Inlet {
            queue: receiver,
            overflowed,
            lagged,
            bytes,
            max_bytes,
        },
    )
}

/// What became of an offer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offered {
    /// Queued.
    Queued,
    /// The queue was full: the member is too slow.
    Full,
    /// It had it already.
    Had,
    /// The member's end is gone.
    Gone,
}

impl Outlet {
    /// Queues `delivery` unless the queue is full by count or bytes (which
    /// marks the member as too slow) or the member's end is gone.
    pub(crate) fn offer(&mut self, delivery: &Delivery) -> Offered {
        let entry = &delivery.entry;
        if let Some((epoch, offset)) = &self.seen {
            if *epoch == entry.epoch && entry.offset <= *offset {
                return Offered::Had;
            }
        }
        let len = size(&delivery.message);
        let held = self.bytes.load(Ordering::Relaxed);
        if held > 0 && held + len > self.max_bytes {
            self.overflowed.store(true, Ordering::Relaxed);
            return Offered::Full;
        }
        match self.queue.try_send(delivery.clone()) {
            Ok(()) => {
                self.bytes.fetch_add(len, Ordering::Relaxed);
                self.seen = Some((entry.epoch.clone(), entry.offset));
                Offered::Queued
            }
            Err(TrySendError::Full(_)) => {
                self.overflowed.store(true, Ordering::Relaxed);
                Offered::Full
            }
            Err(TrySendError::Closed(_)) => Offered::Gone,
        }
    }
}

impl Outlet {
    /// Marks the member as having missed entries its node could not read
    /// (they were dropped from the history before it got to them).
    pub(crate) fn mark_lagged(&self) {
        self.lagged.store(true, Ordering::Relaxed);
    }
}

impl Inlet {
    /// The next delivery; `None` once the member was removed and the
    /// queue is drained.
    pub(crate) async fn recv(&mut self) -> Option<Delivery> {
        let delivery = self.queue.recv().await?;
        self.bytes
            .fetch_sub(size(&delivery.message), Ordering::Relaxed);
        Some(delivery)
    }

    /// The next delivery if there is one now.
    pub(crate) fn try_recv(&mut self) -> Option<Delivery> {
        let delivery = self.queue.try_recv().ok()?;
        self.bytes
            .fetch_sub(size(&delivery.message), Ordering::Relaxed);
        Some(delivery)
    }

    /// Whether the member was removed because its queue was full.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Whether the member was removed for having missed entries.
    pub(crate) fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Relaxed)
    }

    /// How many payload bytes the queue holds at most.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// How many messages the queue holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.queue.max_capacity()
    }
}
