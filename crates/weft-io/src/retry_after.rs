//! Reading a refusal's `Retry-After` header (RFC 9110 10.2.3).

use std::time::{Duration, SystemTime};

use weft_proto::handshake::Rejection;

/// How long `rejection` asks the client to wait: `Retry-After` as
/// delay-seconds, or as an HTTP date counted from now (zero once it has
/// passed). `None` without the header or with a value that is neither.
pub(crate) fn retry_after(rejection: &Rejection) -> Option<Duration> {
    parse(rejection.headers.get_str("retry-after")?, SystemTime::now())
}

/// The wait a `Retry-After` value asks for at `now`.
fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // delay-seconds = 1*DIGIT; a value too long for u64 is "a long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates_are_both_read() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date in the past asks for no wait at all.
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn anything_else_is_no_hint() {
        let now = SystemTime::UNIX_EPOCH;
        for value in ["", "-1", "1.5", "soon", "30s"] {
            assert_eq!(parse(value, now), None, "{value:?}");
        }
    }
}
