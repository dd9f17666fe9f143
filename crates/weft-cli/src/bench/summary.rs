//! What a run measured: the round-trip times in an HDR histogram (bounded
//! memory whatever the run's length, 3 significant digits), and the
//! summary printed for people or as one JSON line.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

use super::args::{Driver, Length, Options, Target};

/// The longest round trip recorded, in nanoseconds (longer ones count as
/// this long): an hour.
const LONGEST_NS: u64 = 3_600_000_000_000;

/// A histogram of round-trip times in nanoseconds.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LONGEST_NS, 3).expect("valid histogram bounds")
}

/// Records one round trip.
pub(crate) fn record(histogram: &mut Histogram<u64>, rtt: Duration) {
    let ns = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
    histogram.saturating_record(ns.clamp(1, LONGEST_NS));
}

/// The result of a run.
pub(crate) struct Summary {
    pub(crate) options: Options,
    /// How long the measured part lasted.
    pub(crate) elapsed: Duration,
    pub(crate) rtts: Histogram<u64>,
    /// Connections opened.
    pub(crate) opened: usize,
    /// Failed connections, wrong echoes, stalls, unclean closes.
    pub(crate) errors: u64,
}

impl Summary {
    /// Round trips measured.
    pub(crate) fn messages(&self) -> u64 {
        self.rtts.len()
    }

    /// Round trips per second in the measured part.
    pub(crate) fn msgs_per_sec(&self) -> f64 {
        self.messages() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Payload megabytes (10^6 bytes) echoed per second, counted once.
    pub(crate) fn mb_per_sec(&self) -> f64 {
        self.msgs_per_sec() * self.options.size as f64 / 1e6
    }

    /// A quantile of the round-trip time, in microseconds (0 when nothing
    /// was measured).
    pub(crate) fn quantile_us(&self, q: f64) -> f64 {
        if self.rtts.is_empty() {
            return 0.0;
        }
        self.rtts.value_at_quantile(q) as f64 / 1e3
    }

    fn kind(&self) -> &'static str {
        match (&self.options.target, self.options.text) {
            (Target::Raw(_), _) => "raw",
            (Target::Ws(_), true) => "text",
            (Target::Ws(_), false) => "binary",
        }
    }

    fn driver(&self) -> String {
        match self.options.target {
            Target::Raw(_) => "tcp".to_owned(),
            Target::Ws(_) => self.options.driver.to_string(),
        }
    }

    /// The one JSON line of `--json`.
    pub(crate) fn json(&self) -> serde_json::Value {
        let round = |x: f64| (x * 10.0).round() / 10.0;
        json!({
            "target": self.options.target.to_string(),
            "driver": self.driver(),
            "kind": self.kind(),
            "conns": self.options.conns,
            "opened": self.opened,
            "size": self.options.size,
            "rate": self.options.rate,
            "idle": self.options.idle,
            "duration": self.elapsed.as_secs_f64(),
            "messages": self.messages(),
            "msgs_per_sec": round(self.msgs_per_sec()),
            "mb_per_sec": round(self.mb_per_sec()),
            "p50_us": round(self.quantile_us(0.50)),
            "p90_us": round(self.quantile_us(0.90)),
            "p99_us": round(self.quantile_us(0.99)),
            "p999_us": round(self.quantile_us(0.999)),
            "max_us": round(self.quantile_us(1.0)),
            "errors": self.errors,
        })
    }
}

/// A time in microseconds, in the unit that reads best.
fn time(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

impl fmt::Display for Summary {
    /// The summary for people: what ran, then one figure a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        if o.idle {
            let held = self.elapsed.as_secs_f64();
            writeln!(
                f,
                "{}: held {} of {} connections for {held} s, sending nothing",
                o.target, self.opened, o.conns
            )?;
            return write!(f, "  errors      {}", self.errors);
        }
        let load = match o.rate {
            Some(rate) => format!("{rate} messages/s"),
            None => "closed loop".to_owned(),
        };
        let length = match o.length {
            Length::Time { warmup, measured } => format!(
                "{} s after {} s of warm-up",
                measured.as_secs_f64(),
                warmup.as_secs_f64()
            ),
            Length::Messages(n) => format!("{n} messages"),
        };
        let driver = match (&o.target, o.driver) {
            (Target::Ws(_), Driver::Adapter) => ", weft-tokio client",
            _ => "",
        };
        writeln!(
            f,
            "{}: {} connections, {} B {}, {length}, {load}{driver}",
            o.target,
            o.conns,
            o.size,
            self.kind()
        )?;
        writeln!(
            f,
            "  messages    {} in {:.2} s: {:.1}/s, {:.1} MB/s",
            self.messages(),
            self.elapsed.as_secs_f64(),
            self.msgs_per_sec(),
            self.mb_per_sec()
        )?;
        writeln!(
            f,
            "  round trip  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            time(self.quantile_us(0.50)),
            time(self.quantile_us(0.90)),
            time(self.quantile_us(0.99)),
            time(self.quantile_us(0.999)),
            time(self.quantile_us(1.0)),
        )?;
        write!(f, "  errors      {}", self.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_histogram_within_its_precision() {
        let mut h = histogram();
        for us in 1..=1000u64 {
            record(&mut h, Duration::from_micros(us));
        }
        assert_eq!(h.len(), 1000);
        let p50 = h.value_at_quantile(0.5) as f64 / 1e3;
        let p999 = h.value_at_quantile(0.999) as f64 / 1e3;
        assert!((p50 - 500.0).abs() <= 1.0, "{p50}");
        assert!((p999 - 999.0).abs() <= 1.0, "{p999}");
        // Longer than the bound: recorded as the bound, not lost.
        record(&mut h, Duration::from_secs(7200));
        assert_eq!(h.len(), 1001);
        assert_eq!(time(1500.0), "1.50 ms");
        assert_eq!(time(2.5e6), "2.50 s");
    }
}
