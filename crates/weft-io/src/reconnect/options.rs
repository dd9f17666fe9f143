//! What the adapters' reconnecting clients share, and the decisions their
//! loops take from it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Backoff, Disconnect, Jitter, OutboxLimits, ReconnectPolicy};

/// The retry decision: whether a loss or failure is worth another attempt.
type RetryIf = Arc<dyn Fn(&Disconnect) -> bool + Send + Sync>;

/// How a reconnecting client reconnects: the backoff policy, the send
/// queue's limits, which losses to retry, and where the jitter comes from.
///
/// ```
/// use std::time::Duration;
/// use weft_io::reconnect::{Disconnect, OutboxLimits, Overflow, ReconnectOptions, ReconnectPolicy};
/// use weft_io::weft_proto::CloseReason;
///
/// let options = ReconnectOptions::new()
///     .policy(ReconnectPolicy::default().max_elapsed(Some(Duration::from_secs(300))))
///     .outbox(OutboxLimits::default().overflow(Overflow::DropOldest))
///     // 4001 is this application's "server moved": worth reconnecting.
///     .retry_if(|cause| {
///         cause.is_retryable()
///             || matches!(cause, Disconnect::Closed(CloseReason::Clean(frame)) if frame.code.0 == 4001)
///     });
/// let limits = options.outbox;
/// let supervisor = options.into_supervisor();
/// assert_eq!(limits.overflow, Overflow::DropOldest);
/// assert_eq!(supervisor.policy().max_elapsed, Some(Duration::from_secs(300)));
/// ```
#[derive(Default)]
pub struct ReconnectOptions {
    /// The backoff between attempts and the limits of trying. Default:
    /// [`ReconnectPolicy::default`].
    pub policy: ReconnectPolicy,
    /// The limits of the send queue. Default: [`OutboxLimits::default`].
    pub outbox: OutboxLimits,
    /// The retry decision; `None` for [`Disconnect::is_retryable`].
    retry: Option<RetryIf>,
    /// The jitter source; `None` for [`OsRandom`](crate::OsRandom).
    jitter: Option<Box<dyn Jitter>>,
}

impl fmt::Debug for ReconnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectOptions")
            .field("policy", &self.policy)
            .field("outbox", &self.outbox)
            .field("retry_if", &describe(self.retry.is_some(), "is_retryable"))
            .field("jitter", &describe(self.jitter.is_some(), "OsRandom"))
            .finish()
    }
}

impl ReconnectOptions {
    /// The defaults: [`ReconnectPolicy::default`], [`OutboxLimits::default`],
    /// retrying what [`Disconnect::is_retryable`] says, jitter from
    /// [`OsRandom`](crate::OsRandom).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the backoff policy.
    pub fn policy(mut self, policy: ReconnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the send queue's limits.
    pub fn outbox(mut self, limits: OutboxLimits) -> Self {
        self.outbox = limits;
        self
    }

    /// Overrides the default decision ([`Disconnect::is_retryable`]) of
    /// which losses and failures are worth another attempt: to retry some
    /// of the application's own close codes (3000-4999, final by default),
    /// or to give up on causes that are retryable in general. The policy's
    /// limits still apply to the causes it retries.
    pub fn retry_if(mut self, f: impl Fn(&Disconnect) -> bool + Send + Sync + 'static) -> Self {
        self.retry = Some(Arc::new(f));
        self
    }

    /// Sets the source of the jitter: by default
    /// [`OsRandom`](crate::OsRandom), or a fixed 0.5 if the operating
    /// system gives no randomness. A closure returning a constant makes
    /// the delays predictable.
    pub fn jitter(mut self, jitter: impl Jitter + 'static) -> Self {
        self.jitter = Some(Box::new(jitter));
        self
    }

    /// Everything an adapter's loop needs to decide when to attempt and
    /// when to give up, ready to run. Read [`outbox`](Self::outbox) first
    /// to build the send queue.
    pub fn into_supervisor(self) -> Supervisor {
        let jitter: Box<dyn Jitter> = match self.jitter {
            Some(jitter) => jitter,
            None => match crate::OsRandom::new() {
                Ok(os) => Box::new(os),
                Err(_) => Box::new(|| 0.5),
            },
        };
        Supervisor {
            backoff: Backoff::new(self.policy),
            retry: self.retry,
            jitter,
        }
    }
}

/// The decisions of a reconnecting client's loop: when to attempt again
/// and when to give up. It owns the [`Backoff`], the retry decision and the
/// jitter source; build it with [`ReconnectOptions::into_supervisor`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use weft_io::reconnect::{Disconnect, ReconnectOptions};
/// use weft_io::weft_proto::{CloseCode, CloseFrame, CloseReason};
///
/// let mut supervisor = ReconnectOptions::new().jitter(|| 1.0).into_supervisor();
/// let now = Instant::now();
/// supervisor.attempt(now);
/// let lost = Disconnect::Closed(CloseReason::Abnormal);
/// assert_eq!(supervisor.after(&lost, now), Some(Duration::from_secs(1)));
///
/// supervisor.attempt(now);
/// let done = CloseReason::Clean(CloseFrame::new(CloseCode::NORMAL, "done"));
/// assert_eq!(supervisor.after(&Disconnect::Closed(done), now), None);
/// ```
pub struct Supervisor {
    backoff: Backoff,
    retry: Option<RetryIf>,
    jitter: Box<dyn Jitter>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("backoff", &self.backoff)
            .field("retry_if", &describe(self.retry.is_some(), "is_retryable"))
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// An attempt to connect starts at `now`: its number in the current
    /// streak, from 1 (for [`ClientEvent::Connecting`](super::ClientEvent::Connecting)).
    pub fn attempt(&mut self, now: Instant) -> u32 {
        self.backoff.attempt(now)
    }

    /// The attempt succeeded: a connection is open since `now`.
    pub fn connected(&mut self, now: Instant) {
        self.backoff.connected(now)
    }

    /// After a loss or failure at `now`: `None` to give up (the retry
    /// decision says `cause` is final, or the policy's limits are reached),
    /// `Some(delay)` to wait that long and attempt again.
    pub fn after(&mut self, cause: &Disconnect, now: Instant) -> Option<Duration> {
        if !self.should_retry(cause) {
            return None;
        }
        self.backoff.next_delay(cause, now, &mut *self.jitter)
    }

    /// The retry decision alone: whether `cause` is worth another attempt,
    /// limits aside.
    pub fn should_retry(&self, cause: &Disconnect) -> bool {
        match &self.retry {
            Some(retry) => retry(cause),
            None => cause.is_retryable(),
        }
    }

    /// Attempts in the current streak.
    pub fn attempts(&self) -> u32 {
        self.backoff.attempts()
    }

    /// The backoff policy.
    pub fn policy(&self) -> &ReconnectPolicy {
        self.backoff.policy()
    }
}

/// How `Debug` shows a setting that holds a closure.
fn describe(custom: bool, default: &'static str) -> &'static str {
    if custom {
        "custom"
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::disconnect::tests::{closed, connection_refused};
    use weft_proto::CloseReason;

    fn supervisor(options: ReconnectOptions) -> Supervisor {
        options.jitter(|| 1.0).into_supervisor()
    }

    #[test]
    fn gives_up_on_a_final_cause_and_retries_a_retryable_one() {
        let mut supervisor = supervisor(ReconnectOptions::new());
        let now = Instant::now();
        supervisor.attempt(now);
        assert_eq!(
            supervisor.after(&connection_refused(), now),
            Some(Duration::from_secs(1))
        );
        supervisor.attempt(now);
        assert_eq!(
            supervisor.after(&closed(1001), now),
            Some(Duration::from_secs(2))
        );
        supervisor.attempt(now);
        assert_eq!(supervisor.after(&closed(1008), now), None);
        assert_eq!(supervisor.after(&closed(4001), now), None);
        assert_eq!(supervisor.attempts(), 3);
    }

    #[test]
    fn gives_up_when_retry_if_says_no() {
        let options = ReconnectOptions::new().retry_if(|_| false);
        let mut supervisor = supervisor(options);
        let now = Instant::now();
        supervisor.attempt(now);
        let lost = Disconnect::Closed(CloseReason::Abnormal);
        assert!(lost.is_retryable());
        assert!(!supervisor.should_retry(&lost));
        assert_eq!(supervisor.after(&lost, now), None);
    }

    #[test]
    fn retries_a_final_cause_when_retry_if_says_yes() {
        let options = ReconnectOptions::new().retry_if(|cause| {
            cause.is_retryable()
                || cause
                    .close_reason()
                    .is_some_and(|r| r.code().as_u16() == 4001)
        });
        let mut supervisor = supervisor(options);
        let now = Instant::now();
        supervisor.attempt(now);
        assert_eq!(
            supervisor.after(&closed(4001), now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(supervisor.after(&closed(4002), now), None);
    }

    #[test]
    fn the_policy_limits_apply_to_what_retry_if_retries() {
        let options = ReconnectOptions::new()
            .policy(ReconnectPolicy::default().max_attempts(Some(2)))
            .retry_if(|_| true);
        let mut supervisor = supervisor(options);
        let now = Instant::now();
        supervisor.attempt(now);
        assert!(supervisor.after(&closed(1000), now).is_some());
        supervisor.attempt(now);
        assert_eq!(supervisor.after(&closed(1000), now), None);
        assert_eq!(supervisor.policy().max_attempts, Some(2));
    }

    #[test]
    fn the_default_jitter_stays_within_the_ceiling() {
        let mut supervisor = ReconnectOptions::new().into_supervisor();
        let now = Instant::now();
        for ceiling in [1, 2, 4, 8] {
            supervisor.attempt(now);
            let delay = supervisor.after(&connection_refused(), now).unwrap();
            assert!(delay <= Duration::from_secs(ceiling), "{delay:?}");
        }
    }

    #[test]
    fn debug_shows_the_settings_and_which_closures_are_custom() {
        let options = ReconnectOptions::new();
        let shown = format!("{options:?}");
        assert!(shown.contains("retry_if: \"is_retryable\""), "{shown}");
        assert!(shown.contains("jitter: \"OsRandom\""), "{shown}");
        assert!(shown.contains("max_delay: 30s"), "{shown}");
        let shown = format!("{:?}", options.retry_if(|_| true).jitter(|| 0.0));
        assert!(shown.contains("retry_if: \"custom\""), "{shown}");
        assert!(shown.contains("jitter: \"custom\""), "{shown}");
        let supervisor = ReconnectOptions::new().into_supervisor();
        assert!(format!("{supervisor:?}").starts_with("Supervisor { backoff: Backoff {"));
    }

    #[test]
    fn options_and_supervisors_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<ReconnectOptions>();
        send::<Supervisor>();
    }
}
