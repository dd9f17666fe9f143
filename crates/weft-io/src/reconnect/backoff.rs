//! Full-jitter exponential backoff over a streak of failures.

use std::time::{Duration, Instant};

use super::jitter::clamp_unit;
use super::{Disconnect, Jitter, ReconnectPolicy};

/// Full-jitter exponential backoff, as the AWS architecture blog's
/// "Exponential Backoff And Jitter" describes it: the delay before the
/// next attempt is drawn uniformly from zero to a ceiling that doubles
/// (by default) with each failure in a row, up to
/// [`max_delay`](ReconnectPolicy::max_delay).
///
/// A streak begins with the first [`attempt`](Self::attempt) and lasts
/// until a connection stays up [`min_uptime`](ReconnectPolicy::min_uptime);
/// a connection lost sooner counts as one more failure. The limits
/// ([`max_attempts`](ReconnectPolicy::max_attempts),
/// [`max_elapsed`](ReconnectPolicy::max_elapsed)) count within the streak.
///
/// ```
/// use std::time::{Duration, Instant};
/// use weft_io::reconnect::{Backoff, Disconnect, ReconnectPolicy};
/// use weft_io::weft_proto::CloseReason;
///
/// let mut backoff = Backoff::new(ReconnectPolicy::default().max_attempts(Some(3)));
/// let lost = Disconnect::Closed(CloseReason::Abnormal);
/// let mut now = Instant::now();
/// let mut delays = Vec::new();
/// loop {
///     backoff.attempt(now);
///     // ... the attempt fails.
///     match backoff.next_delay(&lost, now, &mut || 1.0) {
///         Some(delay) => {
///             delays.push(delay.as_secs());
///             now += delay;
///         }
///         None => break,
///     }
/// }
/// assert_eq!(delays, [1, 2]);
/// assert_eq!(backoff.attempts(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: ReconnectPolicy,
    /// `attempt` calls in the streak.
    attempts: u32,
    /// Failures in the streak: `next_delay` calls, a connection lost before
    /// `min_uptime` included.
    failures: u32,
    /// When the streak began; `None` before the first attempt.
    streak_start: Option<Instant>,
    /// When the open connection was made, if one is open.
    connected_at: Option<Instant>,
}

impl Backoff {
    /// A backoff with no attempt made yet.
    pub fn new(policy: ReconnectPolicy) -> Backoff {
        Backoff {
            policy,
            attempts: 0,
            failures: 0,
            streak_start: None,
            connected_at: None,
        }
    }

    /// The policy it follows.
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// An attempt to connect starts at `now`; returns its number in the
    /// current streak, from 1. The first call starts the streak.
    ///
    /// If a connection was open and stayed up `min_uptime` (its loss not
    /// reported through [`next_delay`](Self::next_delay)), the streak
    /// starts over first.
    pub fn attempt(&mut self, now: Instant) -> u32 {
        self.end_connection(now);
        if self.streak_start.is_none() {
            self.streak_start = Some(now);
        }
        self.attempts = self.attempts.saturating_add(1);
        self.attempts
    }

    /// The attempt succeeded: a connection is open since `now`.
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// The delay before the next attempt after `cause` at `now`, or `None`
    /// when the policy's limits are reached. Whether `cause` is worth
    /// another attempt at all is the caller's decision, made first:
    /// [`Disconnect::is_retryable`] is not consulted here.
    ///
    /// - If a connection was open and stayed up `min_uptime`, the streak
    ///   starts over at `now`: this is its first failure.
    /// - The ceiling is `min(max_delay, initial_delay * multiplier^n)`, `n`
    ///   the failures before this one in the streak (a connection lost
    ///   before `min_uptime` counts as a failure); the delay is
    ///   `jitter.unit()` times the ceiling.
    /// - When the peer asked for a later attempt
    ///   ([`Disconnect::try_again_later`]), the delay is drawn from
    ///   `initial_delay` to the ceiling (at least twice `initial_delay`)
    ///   instead: never almost immediate, and still spread out.
    /// - A `Retry-After` ([`Disconnect::retry_after`]) raises the delay to
    ///   at least what it asks, past `max_delay` if need be.
    /// - `None` once [`attempt`](Self::attempt) has been called
    ///   `max_attempts` times in the streak, or when the delay would end
    ///   past `max_elapsed` from the start of the streak.
    pub fn next_delay(
        &mut self,
        cause: &Disconnect,
        now: Instant,
        jitter: &mut dyn Jitter,
    ) -> Option<Duration> {
        self.end_connection(now);
        let start = *self.streak_start.get_or_insert(now);
        let ceiling = self.policy.ceiling(self.failures);
        self.failures = self.failures.saturating_add(1);

        if let Some(max) = self.policy.max_attempts {
            if self.attempts >= max {
                return None;
            }
        }

        let unit = clamp_unit(jitter.unit());
        let mut delay = if cause.try_again_later() {
            // At least initial_delay, and spread over a range at least as
            // wide again: every client of a restarting service gets the
            // same close at the same moment, and must not all come back
            // together exactly initial_delay later.
            let floor = self.policy.initial_delay.min(ceiling);
            let top = ceiling.max(self.policy.initial_delay.saturating_mul(2));
            floor.saturating_add(scale(top.saturating_sub(floor), unit))
        } else {
            scale(ceiling, unit)
        };
        if let Some(asked) = cause.retry_after() {
            delay = delay.max(asked);
        }

        if let Some(max) = self.policy.max_elapsed {
            let spent = now.saturating_duration_since(start);
            if spent.saturating_add(delay) > max {
                return None;
            }
        }
        Some(delay)
    }

    /// Attempts in the current streak.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether a connection is open (since [`connected`](Self::connected),
    /// its loss not yet reported).
    pub fn is_connected(&self) -> bool {
        self.connected_at.is_some()
    }

    /// The open connection, if any, has ended at `now`: the streak starts
    /// over if it stayed up `min_uptime`; otherwise its loss counts as a
    /// failure of the streak, as the attempt that made it did.
    fn end_connection(&mut self, now: Instant) {
        if let Some(at) = self.connected_at.take() {
            if now.saturating_duration_since(at) >= self.policy.min_uptime {
                self.attempts = 0;
                self.failures = 0;
                self.streak_start = Some(now);
            }
        }
    }
}

/// `unit` (in `[0, 1]`) times `duration`, without a panic on any input.
fn scale(duration: Duration, unit: f64) -> Duration {
    Duration::try_from_secs_f64(duration.as_secs_f64() * unit).unwrap_or(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::disconnect::tests::{closed, connection_refused, refused};
    use weft_proto::CloseReason;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn lost() -> Disconnect {
        Disconnect::Closed(CloseReason::Abnormal)
    }

    /// The delays of `n` failed attempts in a row, each attempt made when
    /// the previous delay ends.
    fn delays(backoff: &mut Backoff, n: usize, unit: f64, now: &mut Instant) -> Vec<Duration> {
        let mut out = Vec::new();
        for _ in 0..n {
            backoff.attempt(*now);
            let delay = backoff
                .next_delay(&connection_refused(), *now, &mut || unit)
                .expect("no limits");
            out.push(delay);
            *now += delay;
        }
        out
    }

    #[test]
    fn the_delay_grows_to_the_cap_times_the_unit() {
        let mut now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        let expected: Vec<Duration> = [1, 2, 4, 8, 16, 30, 30].map(secs).to_vec();
        assert_eq!(delays(&mut backoff, 7, 1.0, &mut now), expected);
        assert_eq!(backoff.attempts(), 7);

        let mut backoff = Backoff::new(ReconnectPolicy::default());
        let halves: Vec<Duration> = expected.iter().map(|d| *d / 2).collect();
        assert_eq!(delays(&mut backoff, 7, 0.5, &mut now), halves);

        let mut backoff = Backoff::new(ReconnectPolicy::default());
        assert_eq!(
            delays(&mut backoff, 3, 0.0, &mut now),
            [Duration::ZERO; 3].to_vec()
        );
    }

    #[test]
    fn the_multiplier_and_initial_delay_shape_the_ceilings() {
        let mut now = Instant::now();
        let policy = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .multiplier(3.0)
            .max_delay(secs(2));
        let mut backoff = Backoff::new(policy);
        let millis: Vec<u128> = delays(&mut backoff, 5, 1.0, &mut now)
            .iter()
            .map(Duration::as_millis)
            .collect();
        assert_eq!(millis, [100, 300, 900, 2000, 2000]);
    }

    #[test]
    fn a_connection_that_stays_up_min_uptime_resets_the_streak() {
        let mut now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        delays(&mut backoff, 3, 1.0, &mut now); // 1, 2, 4 s
        assert_eq!(backoff.attempt(now), 4);
        backoff.connected(now);
        assert!(backoff.is_connected());
        now += secs(10);
        let delay = backoff.next_delay(&lost(), now, &mut || 1.0);
        assert_eq!(delay, Some(secs(1)));
        assert!(!backoff.is_connected());
        assert_eq!(backoff.attempt(now), 1);
    }

    #[test]
    fn a_connection_lost_before_min_uptime_counts_as_a_failure() {
        let mut now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        delays(&mut backoff, 3, 1.0, &mut now); // 1, 2, 4 s
        assert_eq!(backoff.attempt(now), 4);
        backoff.connected(now);
        now += secs(1);
        // The accepted-then-dropped connection is the fourth failure.
        assert_eq!(backoff.next_delay(&lost(), now, &mut || 1.0), Some(secs(8)));
        assert_eq!(backoff.attempt(now), 5);
        // And a server that keeps doing so is not retried in a tight loop.
        backoff.connected(now);
        now += Duration::from_millis(9_999);
        assert_eq!(
            backoff.next_delay(&lost(), now, &mut || 1.0),
            Some(secs(16))
        );
    }

    #[test]
    fn an_attempt_after_a_long_connection_starts_a_new_streak() {
        let mut now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        delays(&mut backoff, 2, 1.0, &mut now);
        backoff.attempt(now);
        backoff.connected(now);
        now += secs(60);
        // The loss was not reported through next_delay (say, the
        // application asked for a fresh connection): still a new streak.
        assert_eq!(backoff.attempt(now), 1);
        assert_eq!(
            backoff.next_delay(&connection_refused(), now, &mut || 1.0),
            Some(secs(1))
        );
    }

    #[test]
    fn max_attempts_gives_none_after_that_many_attempts() {
        let mut now = Instant::now();
        let policy = ReconnectPolicy::default().max_attempts(Some(3));
        let mut backoff = Backoff::new(policy);
        delays(&mut backoff, 2, 1.0, &mut now);
        assert_eq!(backoff.attempt(now), 3);
        assert_eq!(
            backoff.next_delay(&connection_refused(), now, &mut || 1.0),
            None
        );
        // A connection that stays up gives a fresh allowance.
        backoff.connected(now);
        now += secs(10);
        assert_eq!(backoff.next_delay(&lost(), now, &mut || 1.0), Some(secs(1)));
    }

    #[test]
    fn max_attempts_of_zero_never_retries() {
        let mut backoff = Backoff::new(ReconnectPolicy::default().max_attempts(Some(0)));
        let now = Instant::now();
        assert_eq!(backoff.next_delay(&lost(), now, &mut || 0.5), None);
    }

    #[test]
    fn max_elapsed_gives_none_when_the_next_attempt_would_be_past_it() {
        let mut now = Instant::now();
        let policy = ReconnectPolicy::default().max_elapsed(Some(secs(10)));
        let mut backoff = Backoff::new(policy);
        // 1 + 2 + 4 = 7 s spent; the next delay, 8 s, would end at 15 s.
        delays(&mut backoff, 3, 1.0, &mut now);
        backoff.attempt(now);
        assert_eq!(
            backoff.next_delay(&connection_refused(), now, &mut || 1.0),
            None
        );
        // With a smaller draw the attempt fits: 7 + 2 = 9 s.
        let mut backoff = Backoff::new(ReconnectPolicy::default().max_elapsed(Some(secs(10))));
        let mut now = Instant::now();
        delays(&mut backoff, 3, 1.0, &mut now);
        backoff.attempt(now);
        assert_eq!(
            backoff.next_delay(&connection_refused(), now, &mut || 0.25),
            Some(secs(2))
        );
    }

    #[test]
    fn retry_after_raises_the_delay_past_the_cap() {
        let now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        backoff.attempt(now);
        let busy = refused(503, &[("Retry-After", "120")]);
        assert_eq!(backoff.next_delay(&busy, now, &mut || 1.0), Some(secs(120)));
        // A Retry-After shorter than the drawn delay leaves it alone.
        backoff.attempt(now);
        let soon = refused(500, &[("Retry-After", "0")]);
        assert_eq!(backoff.next_delay(&soon, now, &mut || 1.0), Some(secs(2)));
        // But max_elapsed still applies.
        let mut backoff = Backoff::new(ReconnectPolicy::default().max_elapsed(Some(secs(60))));
        backoff.attempt(now);
        assert_eq!(backoff.next_delay(&busy, now, &mut || 1.0), None);
    }

    #[test]
    fn try_again_later_never_draws_below_the_initial_delay() {
        let mut now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        let mut got = Vec::new();
        for code in [1013, 1012, 1013, 1013] {
            backoff.attempt(now);
            let delay = backoff.next_delay(&closed(code), now, &mut || 0.0);
            got.push(delay.unwrap());
            now += secs(1);
        }
        assert_eq!(got, [secs(1); 4].to_vec());
        // The range still grows with the streak: 1 + 0.5 * (16 - 1) s.
        backoff.attempt(now);
        let refusal = refused(429, &[]);
        assert_eq!(
            backoff.next_delay(&refusal, now, &mut || 0.5),
            Some(Duration::from_millis(8_500))
        );
    }

    #[test]
    fn try_again_later_after_a_long_connection_is_still_spread() {
        let start = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        backoff.attempt(start);
        backoff.connected(start);
        let later = start + secs(3600);
        let top = backoff.next_delay(&closed(1012), later, &mut || 1.0);
        assert_eq!(top, Some(secs(2)), "drawn up to twice initial_delay");
        let mut backoff = Backoff::new(ReconnectPolicy::default());
        backoff.attempt(start);
        backoff.connected(start);
        let middle = backoff.next_delay(&closed(1012), later, &mut || 0.5);
        assert_eq!(middle, Some(Duration::from_millis(1_500)));
    }

    #[test]
    fn odd_jitter_values_stay_within_the_ceiling() {
        let now = Instant::now();
        for unit in [f64::NAN, -1.0, 7.0, f64::INFINITY] {
            let mut backoff = Backoff::new(ReconnectPolicy::default());
            backoff.attempt(now);
            let delay = backoff.next_delay(&lost(), now, &mut || unit).unwrap();
            assert!(delay <= secs(1), "{unit}: {delay:?}");
        }
    }

    #[test]
    fn next_delay_without_attempts_still_grows_and_starts_the_streak() {
        let now = Instant::now();
        let mut backoff = Backoff::new(ReconnectPolicy::default().max_elapsed(Some(secs(5))));
        assert_eq!(backoff.next_delay(&lost(), now, &mut || 1.0), Some(secs(1)));
        assert_eq!(backoff.next_delay(&lost(), now, &mut || 1.0), Some(secs(2)));
        assert_eq!(backoff.next_delay(&lost(), now, &mut || 1.0), Some(secs(4)));
        // 1 s into the streak, 8 s more would pass 5 s.
        let later = now + secs(1);
        assert_eq!(
            backoff.next_delay(&lost(), later, &mut || 0.5),
            Some(secs(4))
        );
        assert_eq!(backoff.next_delay(&lost(), later, &mut || 1.0), None);
    }
}
