//! What the handle, the reading thread and the writing thread share: the
//! outbox, the application's close, and the condition they wait on.

use std::sync::{Condvar, Mutex, MutexGuard};

use weft_io::reconnect::{ClientState, MessageId, OutboxLimits};

/// State behind the handle and the threads.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled when a message is queued or dropped, the application
    /// closes, or a connection's session ends.
    pub(crate) changed: Condvar,
}

pub(crate) struct State {
    /// The queue, the drops not yet reported, the application's close.
    pub(crate) client: ClientState,
    /// The open connection's session has ended: its writer stops.
    pub(crate) session_over: bool,
}

impl Shared {
    pub(crate) fn new(limits: OutboxLimits) -> Shared {
        Shared {
            state: Mutex::new(State {
                client: ClientState::new(limits),
                session_over: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// The state, even if a thread panicked holding it: every change to it
    /// is a single call that leaves it consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a change.
    pub(crate) fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(state).unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn close_requested(&self) -> bool {
        self.lock().client.close_requested().is_some()
    }

    /// The dropped messages not yet reported, taken.
    pub(crate) fn take_dropped(&self) -> Vec<MessageId> {
        self.lock().client.take_dropped()
    }
}
