//! Why a reconnecting client lost its connection, and whether that is
//! worth another attempt.

use std::fmt;
use std::time::Duration;

use weft_proto::{CloseCode, CloseReason};

/// Why a connection was lost or could not be made.
///
/// [`is_retryable`](Self::is_retryable) is the default decision of a
/// reconnecting client; [`ReconnectOptions::retry_if`](super::ReconnectOptions::retry_if)
/// replaces it.
///
/// ```
/// use weft_io::reconnect::Disconnect;
/// use weft_io::weft_proto::{CloseCode, CloseFrame, CloseReason};
///
/// let restart = Disconnect::Closed(CloseReason::Clean(CloseFrame::new(
///     CloseCode::SERVICE_RESTART,
///     "deploying",
/// )));
/// assert!(restart.is_retryable());
/// assert!(restart.try_again_later());
/// assert_eq!(
///     restart.to_string(),
///     "the connection ended: closed cleanly; the peer sent 1012 service restart: \"deploying\""
/// );
///
/// let bad_url = Disconnect::Failed(weft_io::Error::Url("\"ftp://x\": the scheme must be ws or wss".into()));
/// assert!(!bad_url.is_retryable());
/// ```
#[derive(Debug)]
pub enum Disconnect {
    /// An attempt to connect failed.
    Failed(crate::Error),
    /// An open connection ended without the application closing it.
    Closed(CloseReason),
    /// An open connection's transport failed with an error of its own (a
    /// peer that resets or vanishes is [`Closed`](Self::Closed) with
    /// [`CloseReason::Abnormal`] instead).
    Transport(crate::Error),
}

impl Disconnect {
    /// Whether another attempt can succeed: for a failed attempt,
    /// [`Error::is_retryable`](crate::Error::is_retryable); for a lost
    /// connection, [`CloseReason::is_retryable`], where the application's
    /// own codes (3000-4999) count as final: a client that wants to
    /// reconnect after some of them says so with
    /// [`ReconnectOptions::retry_if`](super::ReconnectOptions::retry_if).
    pub fn is_retryable(&self) -> bool {
        match self {
            Disconnect::Failed(e) => e.is_retryable(),
            Disconnect::Closed(reason) => reason.is_retryable().unwrap_or(false),
            // The connection was up: the server and the network worked a
            // moment ago, whatever the error says.
            Disconnect::Transport(_) => true,
        }
    }

    /// How long the server asked to wait before the next attempt: a
    /// refusal's `Retry-After`. `None` otherwise.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Disconnect::Failed(e) => e.retry_after(),
            Disconnect::Closed(_) | Disconnect::Transport(_) => None,
        }
    }

    /// Whether the peer asked for a later attempt: it closed cleanly with
    /// 1012 (service restart) or 1013 (try again later), or refused the
    /// handshake with 429 (too many requests) or 503 (unavailable). The
    /// backoff then never picks an almost-immediate delay, so that a
    /// fleet of clients does not come back all at once to a server that
    /// has just said it cannot take them.
    pub fn try_again_later(&self) -> bool {
        match self {
            Disconnect::Failed(e) => e.rejection().is_some_and(|r| matches!(r.status, 429 | 503)),
            Disconnect::Closed(CloseReason::Clean(frame)) => {
                matches!(
                    frame.code,
                    CloseCode::SERVICE_RESTART | CloseCode::TRY_AGAIN_LATER
                )
            }
            Disconnect::Closed(_) | Disconnect::Transport(_) => false,
        }
    }

    /// The error, for [`Disconnect::Failed`] and [`Disconnect::Transport`].
    pub fn error(&self) -> Option<&crate::Error> {
        match self {
            Disconnect::Failed(e) | Disconnect::Transport(e) => Some(e),
            Disconnect::Closed(_) => None,
        }
    }

    /// How the connection ended, for [`Disconnect::Closed`].
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match self {
            Disconnect::Failed(_) | Disconnect::Transport(_) => None,
            Disconnect::Closed(reason) => Some(reason),
        }
    }
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Failed(e) => write!(f, "connecting failed: {e}"),
            Disconnect::Closed(reason) => write!(f, "the connection ended: {reason}"),
            Disconnect::Transport(e) => write!(f, "the connection failed: {e}"),
        }
    }
}

impl std::error::Error for Disconnect {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Disconnect::Failed(e) | Disconnect::Transport(e) => Some(e),
            Disconnect::Closed(_) => None,
        }
    }
}

impl From<crate::Error> for Disconnect {
    fn from(e: crate::Error) -> Disconnect {
        Disconnect::Failed(e)
    }
}

impl From<CloseReason> for Disconnect {
    fn from(reason: CloseReason) -> Disconnect {
        Disconnect::Closed(reason)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Error;
    use std::io;
    use weft_proto::{CloseFrame, HandshakeError, ProtocolError, Timeout};

    /// A connection the peer closed cleanly with `code`.
    pub(crate) fn closed(code: u16) -> Disconnect {
        Disconnect::Closed(CloseReason::Clean(CloseFrame::new(CloseCode(code), "")))
    }

    /// The failure of a client whose handshake the server answered with
    /// `status` and these headers.
    pub(crate) fn refused(status: u16, headers: &[(&str, &str)]) -> Disconnect {
        use weft_proto::handshake::{ClientHandshake, OutgoingRequest};
        let mut handshake = ClientHandshake::new(
            OutgoingRequest::new("example.com", "/"),
            weft_proto::Config::default(),
            [7; 16],
            std::time::Instant::now(),
        )
        .unwrap();
        let mut response = format!("HTTP/1.1 {status} \r\nContent-Length: 0\r\n");
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        let e = handshake.handle_data(response.as_bytes()).unwrap_err();
        assert!(matches!(e, HandshakeError::Rejected(_)), "{e:?}");
        Disconnect::Failed(Error::from(e))
    }

    /// A refused TCP connection: retryable.
    pub(crate) fn connection_refused() -> Disconnect {
        Disconnect::Failed(Error::Connect {
            addr: "127.0.0.1:9001".parse().unwrap(),
            source: io::ErrorKind::ConnectionRefused.into(),
        })
    }

    #[test]
    fn closes_are_classified_by_their_code() {
        // 1000: the purpose fulfilled; 1008: the peer's policy refused us.
        for code in [1000, 1008] {
            let cause = closed(code);
            assert!(!cause.is_retryable(), "{code}");
            assert!(!cause.try_again_later(), "{code}");
        }
        // 1001: the server went away; another one (or the same, back) can
        // take the connection.
        assert!(closed(1001).is_retryable());
        assert!(!closed(1001).try_again_later());
        // 1012 and 1013 ask for a later attempt.
        for code in [1012, 1013] {
            assert!(closed(code).is_retryable(), "{code}");
            assert!(closed(code).try_again_later(), "{code}");
        }
        // The application's codes are final unless the application says
        // otherwise.
        assert!(!closed(4001).is_retryable());
        assert!(!closed(3000).is_retryable());
        for cause in [closed(1000), closed(1013), closed(4001)] {
            assert_eq!(cause.retry_after(), None);
        }
    }

    #[test]
    fn endings_without_a_clean_close_are_classified_by_their_kind() {
        let abnormal = Disconnect::Closed(CloseReason::Abnormal);
        assert!(abnormal.is_retryable());
        assert!(!abnormal.try_again_later());
        let silent = Disconnect::Closed(CloseReason::TimedOut(Timeout::Pong));
        assert!(silent.is_retryable());
        let protocol = Disconnect::Closed(CloseReason::Protocol(ProtocolError::InvalidUtf8));
        assert!(!protocol.is_retryable());
        assert!(!protocol.try_again_later());
    }

    #[test]
    fn failed_attempts_are_classified_by_their_error() {
        assert!(connection_refused().is_retryable());
        assert!(!connection_refused().try_again_later());
        assert_eq!(connection_refused().retry_after(), None);
        let bad_url = Disconnect::Failed(Error::Url("\"x\"".into()));
        assert!(!bad_url.is_retryable());
        let forbidden = refused(403, &[]);
        assert!(!forbidden.is_retryable());
        assert!(!forbidden.try_again_later());
        let crashed = refused(500, &[]);
        assert!(crashed.is_retryable());
        assert!(!crashed.try_again_later());
    }

    #[test]
    fn refusals_with_429_or_503_ask_for_later_and_carry_retry_after() {
        let busy = refused(503, &[("Retry-After", "30")]);
        assert!(busy.is_retryable());
        assert!(busy.try_again_later());
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(30)));
        let throttled = refused(429, &[]);
        assert!(throttled.try_again_later());
        assert_eq!(throttled.retry_after(), None);
    }

    #[test]
    fn the_message_says_which_kind_of_loss() {
        assert_eq!(
            Disconnect::Closed(CloseReason::Abnormal).to_string(),
            "the connection ended: the connection ended without a closing handshake (1006)"
        );
        assert_eq!(
            connection_refused().to_string(),
            "connecting failed: connection refused by 127.0.0.1:9001 (is the server running?)"
        );
        use std::error::Error as _;
        assert!(connection_refused().source().is_some());
        assert!(closed(1000).source().is_none());
        assert!(connection_refused().error().is_some());
        assert_eq!(
            Disconnect::from(CloseReason::Abnormal).close_reason(),
            Some(&CloseReason::Abnormal)
        );
    }
}
