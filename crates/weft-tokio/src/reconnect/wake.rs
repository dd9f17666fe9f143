//! [`TaskWake`]: how a reconnecting client's handle wakes its task.

use tokio::sync::Notify;
use weft_io::reconnect::Wake;

/// Wakes a tokio reconnecting client's task when its handle queues a
/// message or closes. It appears only as the parameter of
/// [`ReconnectingSender`](super::ReconnectingSender).
#[derive(Debug, Default)]
pub struct TaskWake(Notify);

impl TaskWake {
    /// A future that completes at the next wake-up (or at once, for one
    /// that came while no one waited).
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.notified()
    }
}

impl Wake for TaskWake {
    fn wake(&self) {
        self.0.notify_one();
    }
}
