//! [`Clock`]: the time a reconnecting client's backoff runs on.

use std::time::{Duration, Instant};

/// The time the backoff of a reconnecting client reads and sleeps on.
/// [`SystemClock`] is the real one; a test passes one that records the
/// sleeps and moves its own time forward, and runs without waiting. The
/// connection's own timers (keepalive, timeouts) always run on real time.
pub trait Clock: Send + 'static {
    /// The current time.
    fn now(&self) -> Instant;
    /// Waits `duration`. The client sleeps in slices of at most 100 ms, so
    /// that a close interrupts a long backoff.
    fn sleep(&self, duration: Duration);
}

/// The system's clock: `Instant::now` and `thread::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}
