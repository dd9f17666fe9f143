//! The backoff and the limits of reconnecting, as data.

use std::time::Duration;

/// How long to wait between attempts to connect, and when to stop.
///
/// The delay before an attempt is drawn at random between zero and a
/// ceiling that grows with each failure in a row:
/// `min(max_delay, initial_delay * multiplier^failures)` ("full jitter").
/// The count of failures starts again only once a connection has stayed up
/// [`min_uptime`](Self::min_uptime). See [`Backoff`](super::Backoff).
///
/// ```
/// use std::time::Duration;
/// use weft_io::reconnect::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::default()
///     .initial_delay(Duration::from_millis(250))
///     .max_delay(Duration::from_secs(10))
///     .max_attempts(Some(20));
/// assert_eq!(policy.multiplier, 2.0);
/// assert_eq!(policy.min_uptime, Duration::from_secs(10));
/// assert_eq!(policy.max_elapsed, None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReconnectPolicy {
    /// The ceiling of the first delay, and the unit the ceiling grows
    /// from. Default: 1 s.
    pub initial_delay: Duration,
    /// The most the ceiling grows to (a server's `Retry-After` may ask for
    /// longer, and is obeyed). Default: 30 s.
    pub max_delay: Duration,
    /// How much the ceiling grows with each failure in a row. Default: 2.0.
    /// A value that is not a number, or negative, keeps the ceiling at
    /// `initial_delay`.
    pub multiplier: f64,
    /// How long a connection must stay up for the backoff to start over:
    /// a connection that is lost sooner counts as one more failure, so a
    /// server that accepts and then drops every connection is retried with
    /// growing delays rather than in a tight loop. Default: 10 s.
    pub min_uptime: Duration,
    /// The most attempts in a row (since the last connection that stayed
    /// up `min_uptime`) before giving up; `None` for no limit. Default:
    /// `None`.
    pub max_attempts: Option<u32>,
    /// The most time spent trying since the streak of failures began,
    /// before giving up: no attempt is scheduled past it. `None` for no
    /// limit. Default: `None`.
    pub max_elapsed: Option<Duration>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            min_uptime: Duration::from_secs(10),
            max_attempts: None,
            max_elapsed: None,
        }
    }
}

impl ReconnectPolicy {
    /// The default policy: 1 s growing by 2 to 30 s, reset after 10 s up,
    /// no limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`initial_delay`](Self::initial_delay).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`multiplier`](Self::multiplier).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets [`min_uptime`](Self::min_uptime).
    pub fn min_uptime(mut self, uptime: Duration) -> Self {
        self.min_uptime = uptime;
        self
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`max_elapsed`](Self::max_elapsed).
    pub fn max_elapsed(mut self, elapsed: Option<Duration>) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// The ceiling of the delay after `failures` earlier failures in a
    /// row: `min(max_delay, initial_delay * multiplier^failures)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_io::reconnect::ReconnectPolicy;
    ///
    /// let policy = ReconnectPolicy::default();
    /// assert_eq!(policy.ceiling(0), Duration::from_secs(1));
    /// assert_eq!(policy.ceiling(3), Duration::from_secs(8));
    /// assert_eq!(policy.ceiling(100), Duration::from_secs(30));
    /// ```
    pub fn ceiling(&self, failures: u32) -> Duration {
        let exponent = i32::try_from(failures).unwrap_or(i32::MAX);
        let secs = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        // NaN (a NaN multiplier, or 0 * infinity) or a negative product:
        // the multiplier is unusable, so the ceiling stays where it began.
        let grown = if secs >= 0.0 {
            // Infinity or past Duration's range: the cap applies.
            Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
        } else {
            self.initial_delay
        };
        grown.min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_one_second_doubling_to_thirty_with_no_limits() {
        let policy = ReconnectPolicy::new();
        assert_eq!(policy.initial_delay, Duration::from_secs(1));
        assert_eq!(policy.max_delay, Duration::from_secs(30));
        assert_eq!(policy.multiplier, 2.0);
        assert_eq!(policy.min_uptime, Duration::from_secs(10));
        assert_eq!(policy.max_attempts, None);
        assert_eq!(policy.max_elapsed, None);
    }

    #[test]
    fn builder_methods_set_their_fields() {
        let policy = ReconnectPolicy::new()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(5))
            .multiplier(1.5)
            .min_uptime(Duration::from_secs(1))
            .max_attempts(Some(3))
            .max_elapsed(Some(Duration::from_secs(60)));
        assert_eq!(
            policy,
            ReconnectPolicy {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(5),
                multiplier: 1.5,
                min_uptime: Duration::from_secs(1),
                max_attempts: Some(3),
                max_elapsed: Some(Duration::from_secs(60)),
            }
        );
    }

    #[test]
    fn the_ceiling_grows_to_the_cap_and_survives_odd_multipliers() {
        let policy = ReconnectPolicy::new();
        let ceilings: Vec<u64> = (0..7).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(30));
        for multiplier in [f64::NAN, -2.0, f64::INFINITY, 0.0] {
            let policy = ReconnectPolicy::new().multiplier(multiplier);
            assert!(policy.ceiling(5) <= Duration::from_secs(30), "{multiplier}");
        }
        let policy = ReconnectPolicy::new().multiplier(f64::NAN);
        assert_eq!(policy.ceiling(5), Duration::from_secs(1));
        let policy = ReconnectPolicy::new().initial_delay(Duration::ZERO);
        assert_eq!(policy.ceiling(u32::MAX), Duration::ZERO);
    }
}
