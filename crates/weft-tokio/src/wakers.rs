//! The wakers of the tasks waiting on one transport: the reading half's and
//! the sending half's, woken together whenever the transport is ready.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};

/// The waker slot of the half that reads (the [`Stream`](futures_core::Stream) side).
pub(crate) const READER: usize = 0;
/// The waker slot of the half that sends (the [`Sink`](futures_sink::Sink) side).
pub(crate) const WRITER: usize = 1;

/// The wakers of the tasks waiting on the transport.
///
/// A transport remembers one waker per direction, but both halves may wait
/// to write (the reader for the replies it owes, the writer for messages).
/// The transport is therefore always polled with one waker made from this,
/// which wakes every task registered here; each registers itself *before*
/// polling the transport, so no wake-up can fall between the two.
#[derive(Default)]
pub(crate) struct Wakers {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl Wakers {
    fn lock(&self) -> MutexGuard<'_, [Option<Waker>; 2]> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn register(&self, slot: usize, waker: &Waker) {
        let mut slots = self.lock();
        match &slots[slot] {
            Some(w) if w.will_wake(waker) => {}
            _ => slots[slot] = Some(waker.clone()),
        }
    }

    pub(crate) fn clear(&self, slot: usize) {
        self.lock()[slot] = None;
    }

    pub(crate) fn wake_slot(&self, slot: usize) {
        let waker = self.lock()[slot].take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Wake outside the lock: a waker may run arbitrary code.
        let taken = std::mem::take(&mut *self.lock());
        for waker in taken.into_iter().flatten() {
            waker.wake();
        }
    }
}
