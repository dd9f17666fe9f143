//! What the handle and the connection's task share: the outbox, the
//! application's close, and the wake-up between them.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;
use weft_io::reconnect::{ClientState, OutboxLimits};

/// State behind the handle and the task.
pub(crate) struct Shared {
    state: Mutex<ClientState>,
    /// Wakes the task: a message was queued, acknowledged or dropped, or
    /// the application closed.
    pub(crate) wake: Notify,
}

impl Shared {
    pub(crate) fn new(limits: OutboxLimits) -> Shared {
        Shared {
            state: Mutex::new(ClientState::new(limits)),
            wake: Notify::new(),
        }
    }

    /// The state, even if a thread panicked holding it: every change to it
    /// is a single call that leaves it consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn close_requested(&self) -> bool {
        self.lock().close_requested().is_some()
    }
}
