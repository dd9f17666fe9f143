//! What the broadcast server examples share: the members and their queues.
//!
//! Every connection is a member. A data message a member sends goes to
//! every other member: put in each one's queue without waiting, as the
//! library's own message type (cloned: each library's messages share their
//! payload). Each member has a queue of at most [`QUEUE`] messages, which a
//! task of its own writes out; a member whose queue is full when a message
//! comes is too slow and is removed (its queue is closed, so its writer
//! ends once it has written what was queued), so one slow reader never
//! slows the others. The same policy as `weft serve --broadcast`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc::{self, error::TrySendError};

/// The most messages queued for one member.
pub const QUEUE: usize = 4096;

/// The members of one broadcast, shared by every connection's task.
pub struct Hub<M> {
    members: Mutex<Members<M>>,
}

struct Members<M> {
    next: u64,
    queues: HashMap<u64, mpsc::Sender<M>>,
}

impl<M: Clone> Hub<M> {
    /// An empty broadcast.
    pub fn new() -> Arc<Self> {
        Arc::new(Hub {
            members: Mutex::new(Members {
                next: 0,
                queues: HashMap::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Members<M>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a member: its id and the queue its writer drains.
    pub fn join(&self) -> (u64, mpsc::Receiver<M>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut members = self.lock();
        let id = members.next;
        members.next += 1;
        members.queues.insert(id, tx);
        (id, rx)
    }

    /// Removes a member (its connection ended).
    pub fn leave(&self, id: u64) {
        self.lock().queues.remove(&id);
    }

    /// Queues `message` for every member but `from`, removing those whose
    /// queue is full. Returns how many were removed.
    pub fn publish(&self, from: u64, message: &M) -> usize {
        let mut members = self.lock();
        let mut slow = Vec::new();
        for (&id, queue) in &members.queues {
            if id == from {
                continue;
            }
            match queue.try_send(message.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => slow.push(id),
                // Its connection is ending; `leave` removes it.
                Err(TrySendError::Closed(_)) => {}
            }
        }
        for id in &slow {
            members.queues.remove(id);
        }
        if !slow.is_empty() {
            eprintln!("removed {} members too slow to keep up", slow.len());
        }
        slow.len()
    }
}

/// A member's writer, for libraries whose connections are a [`Sink`]:
/// takes every message waiting in `queue`, feeds them all, then flushes
/// once, until the queue closes (the member left or was removed) or the
/// connection fails.
pub async fn write_queued<M, S: Sink<M> + Unpin>(mut queue: mpsc::Receiver<M>, mut sink: S) {
    while let Some(message) = queue.recv().await {
        let mut result = sink.feed(message).await;
        while let (Ok(()), Ok(message)) = (&result, queue.try_recv()) {
            result = sink.feed(message).await;
        }
        if result.is_err() || sink.flush().await.is_err() {
            return;
        }
    }
}
