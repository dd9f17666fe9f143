//! What a run measured: round-trip time percentiles by the nearest rank,
//! and the [`Summary`] whose `Display` is the one machine-readable line.

use std::fmt;
use std::time::Duration;

use super::{Driver, Target};

/// The result of a run; its `Display` is the one summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The server.
    pub target: Target,
    /// How WebSocket connections were driven.
    pub driver: Driver,
    /// Whether text messages were sent.
    pub text: bool,
    /// Connections asked for.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// The measured window.
    pub duration: Duration,
    /// Round trips completed inside the measured window.
    pub messages: u64,
    /// Round-trip time percentiles in microseconds: 50th, 99th, 99.9th
    /// and the maximum (zero when nothing was measured).
    pub p50_us: f64,
    /// See [`Summary::p50_us`].
    pub p99_us: f64,
    /// See [`Summary::p50_us`].
    pub p999_us: f64,
    /// See [`Summary::p50_us`].
    pub max_us: f64,
    /// Failed connections, wrong echoes, stalls, unclean closes.
    pub errors: u64,
}

impl Summary {
    /// Round trips per second in the measured window.
    pub fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.duration.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Payload megabytes (10^6 bytes) echoed per second, counted once (the
    /// bytes sent; as many came back).
    pub fn mb_per_sec(&self) -> f64 {
        self.msgs_per_sec() * self.size as f64 / 1e6
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match (&self.target, self.text) {
            (Target::Raw(_), _) => "raw",
            (Target::Ws(_), true) => "text",
            (Target::Ws(_), false) => "binary",
        };
        let driver = match self.target {
            Target::Raw(_) => "tcp".to_owned(),
            Target::Ws(_) => self.driver.to_string(),
        };
        write!(
            f,
            "loadgen target={} driver={driver} kind={kind} conns={} size={} duration={} \
             messages={} msgs_per_sec={:.1} mb_per_sec={:.1} p50_us={:.1} p99_us={:.1} \
             p999_us={:.1} max_us={:.1} errors={}",
            self.target,
            self.conns,
            self.size,
            self.duration.as_secs_f64(),
            self.messages,
            self.msgs_per_sec(),
            self.mb_per_sec(),
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.errors,
        )
    }
}

/// The `q` quantile (0 < q ≤ 1) of sorted values, by the nearest rank.
pub(super) fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(percentile(&[7], 0.001), 7);
    }
}
