//! Where the randomness of the backoff comes from.

/// A source of uniform random numbers in `[0, 1)` for the jitter of the
/// backoff.
///
/// Spreading the delays at random keeps many clients that lost their
/// server at the same moment from coming back at the same moment. The
/// default source is [`OsRandom`](crate::OsRandom); a closure returning a
/// fixed value makes the delays predictable, as tests want them. Values
/// outside `[0, 1]` are clamped, and a NaN counts as 0.5.
///
/// ```
/// use weft_io::reconnect::Jitter;
///
/// let mut half = || 0.5;
/// assert_eq!(half.unit(), 0.5);
///
/// let mut os = weft_io::OsRandom::new().unwrap();
/// let unit = os.unit();
/// assert!((0.0..1.0).contains(&unit));
/// ```
pub trait Jitter: Send {
    /// The next number, uniform in `[0, 1)`.
    fn unit(&mut self) -> f64;
}

/// Any closure returning numbers in `[0, 1)`.
impl<F: FnMut() -> f64 + Send> Jitter for F {
    fn unit(&mut self) -> f64 {
        self()
    }
}

/// `unit` brought into `[0, 1]`: a misbehaving source cannot make a delay
/// negative or past its ceiling.
pub(crate) fn clamp_unit(unit: f64) -> f64 {
    if unit.is_nan() {
        0.5
    } else {
        unit.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_are_sources_and_odd_values_are_clamped() {
        let mut values = [0.25, 2.0, -1.0, f64::NAN].into_iter();
        let mut source = move || values.next().unwrap_or(0.0);
        let drawn: Vec<f64> = (0..4).map(|_| clamp_unit(source.unit())).collect();
        assert_eq!(drawn, [0.25, 1.0, 0.0, 0.5]);
    }

    #[test]
    fn the_os_source_stays_in_the_unit_interval() {
        let mut os = crate::OsRandom::new().unwrap();
        let draws: Vec<f64> = (0..1000).map(|_| os.unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        // Not constant: a stuck source would undo the jitter.
        assert!(draws.iter().any(|u| *u != draws[0]));
    }
}
