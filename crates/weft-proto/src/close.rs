//! Close codes, close frames and the reasons a connection ends.

use std::fmt;

use crate::error::ProtocolError;

/// A WebSocket close status code (RFC 6455 section 7.4).
///
/// A newtype rather than an enum, so that every code a peer may send
/// (registered ones, 3000–3999 for libraries and frameworks, 4000–4999 for
/// private use) is representable without a catch-all variant.
///
/// ```
/// use weft_proto::CloseCode;
/// assert_eq!(CloseCode::NORMAL.as_u16(), 1000);
/// assert!(CloseCode::from(4000).is_sendable());
/// assert!(!CloseCode::ABNORMAL.is_sendable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose for which the connection was established has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: an endpoint is going away (a server going down, a browser leaving a page).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the endpoint is terminating the connection due to a protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: reserved; reported when a close frame carried no status code. Never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reserved; reported when the connection closed without a close frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: the endpoint received data inconsistent with the message type (non-UTF-8 text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: the endpoint received a message that violates its policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: the endpoint received a message too big for it to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition that prevented it from fulfilling the request.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: the service is overloaded; try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway or proxy received an invalid response from upstream (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reserved; reported when the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may appear in a close frame on the wire, in either
    /// direction: 1000–1003, 1007–1014 and 3000–4999 (RFC 6455 section 7.4.2
    /// and the IANA registry). 1004–1006 and 1015 are reserved and never sent.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The RFC's short name for a registered code, if it has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid frame payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake",
            _ => return None,
        })
    }
}

impl CloseCode {
    /// What a registered code means, in a few words, for messages and logs.
    pub const fn meaning(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "the purpose of the connection was fulfilled",
            1001 => "the endpoint is going away (a server shutting down, a page left)",
            1002 => "the endpoint saw a protocol error",
            1003 => "the endpoint received data of a type it cannot accept",
            1005 => "the close frame carried no status code",
            1006 => "the connection ended without a close frame",
            1007 => {
                "the endpoint received data inconsistent with its type (text that is not UTF-8)"
            }
            1008 => "the endpoint received a message that violates its policy",
            1009 => "the endpoint received a message too big to process",
            1010 => "the server did not negotiate an extension the client requires",
            1011 => "the server met an unexpected condition",
            1012 => "the service is restarting",
            1013 => "the service is overloaded; try again later",
            1014 => "a gateway or proxy received an invalid response from upstream",
            1015 => "the TLS handshake failed",
            _ => return None,
        })
    }

    /// Whether a connection closed with this code is worth opening again:
    /// `Some(true)` for causes that pass (1001 going away, 1006 abnormal
    /// closure, 1011 internal error, 1012 service restart, 1013 try again
    /// later, 1014 bad gateway), `Some(false)` for those that would end the
    /// same way (1000 and 1005, the purpose fulfilled; protocol and policy
    /// codes; 1015, a TLS failure), and `None` for 3000-4999, whose meaning
    /// is the application's to classify.
    ///
    /// ```
    /// use weft_proto::CloseCode;
    /// assert_eq!(CloseCode::TRY_AGAIN_LATER.is_retryable(), Some(true));
    /// assert_eq!(CloseCode::POLICY_VIOLATION.is_retryable(), Some(false));
    /// assert_eq!(CloseCode::from(4001).is_retryable(), None);
    /// ```
    pub const fn is_retryable(self) -> Option<bool> {
        match self.0 {
            1001 | 1006 | 1011 | 1012 | 1013 | 1014 => Some(true),
            3000..=4999 => None,
            _ => Some(false),
        }
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "CloseCode({} {name})", self.0),
            None => write!(f, "CloseCode({})", self.0),
        }
    }
}

impl fmt::Display for CloseCode {
    /// The number, the RFC's name and what it means, as in `1006 abnormal
    /// closure: the connection ended without a close frame`; for codes
    /// outside the registry, the number and whose they are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.meaning()) {
            (Some(name), Some(meaning)) => write!(f, "{} {name}: {meaning}", self.0),
            _ => match self.0 {
                3000..=3999 => write!(f, "{} (a library's or framework's code)", self.0),
                4000..=4999 => write!(f, "{} (an application's code)", self.0),
                code => write!(f, "{code}"),
            },
        }
    }
}

/// The most bytes a close reason may take: a control frame carries at most
/// 125 bytes, two of which are the code (RFC 6455 section 5.5).
pub const MAX_CLOSE_REASON: usize = 123;

/// The contents of a close frame: a status code and a UTF-8 reason.
///
/// A close frame received with an empty payload is reported with the code
/// [`CloseCode::NO_STATUS`] and an empty reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most [`MAX_CLOSE_REASON`] bytes of UTF-8.
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with the given code and reason.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// Parses a received close frame's payload (RFC 6455 section 5.5.1).
    ///
    /// An empty payload gives [`CloseCode::NO_STATUS`]. A one-byte payload or
    /// a code that may not be sent fails with 1002; a reason that is not
    /// UTF-8 fails with 1007.
    pub fn parse(payload: &[u8]) -> Result<CloseFrame, ProtocolError> {
        match payload {
            [] => Ok(CloseFrame::new(CloseCode::NO_STATUS, String::new())),
            [_] => Err(ProtocolError::TruncatedCloseCode),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                let reason =
                    std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
                Ok(CloseFrame::new(code, reason))
            }
        }
    }
}

impl fmt::Display for CloseFrame {
    /// The code with its name (the meaning is left to [`CloseCode`]'s own
    /// `Display`), then the reason: `1000 normal closure: "bye"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code.name() {
            Some(name) => write!(f, "{} {name}", self.code.0)?,
            None => write!(f, "{}", self.code.0)?,
        }
        if !self.reason.is_empty() {
            write!(f, ": {:?}", self.reason)?;
        }
        Ok(())
    }
}

/// Which timer ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// The closing handshake did not complete within the close timeout.
    Close,
    /// A keepalive ping got no pong within the pong timeout.
    Pong,
    /// Nothing was received for the idle timeout.
    Idle,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Close => "the closing handshake timed out",
            Timeout::Pong => "no pong arrived in time for a keepalive ping",
            Timeout::Idle => "nothing was received for the idle timeout",
        })
    }
}

/// Why a connection ended: the payload of the terminal [`Event::Closed`](crate::Event::Closed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The closing handshake completed. Carries the close frame the peer sent
    /// (its own close, or its reply to ours).
    Clean(CloseFrame),
    /// The peer violated the protocol; a close frame with
    /// [`ProtocolError::close_code`] was queued for it.
    Protocol(ProtocolError),
    /// The transport ended without a closing handshake (close code 1006).
    Abnormal,
    /// A timer expired.
    TimedOut(Timeout),
}

impl CloseReason {
    /// The close code that sums up this ending, as a browser's `CloseEvent.code`
    /// would: the peer's code when clean, the code we sent on a protocol error,
    /// 1006 otherwise.
    pub fn code(&self) -> CloseCode {
        match self {
            CloseReason::Clean(frame) => frame.code,
            CloseReason::Protocol(e) => e.close_code(),
            CloseReason::Abnormal | CloseReason::TimedOut(_) => CloseCode::ABNORMAL,
        }
    }

    /// Whether the closing handshake completed.
    pub fn is_clean(&self) -> bool {
        matches!(self, CloseReason::Clean(_))
    }

    /// Whether a connection that ended this way is worth opening again,
    /// classified as [`CloseCode::is_retryable`] classifies the peer's
    /// code: a clean close by the peer's code; the transport ending without
    /// a closing handshake and every timer (a silent peer, an unanswered
    /// close) are retryable; a protocol violation by the peer is not (it
    /// would happen again). `None` for the application's own codes,
    /// 3000-4999.
    pub fn is_retryable(&self) -> Option<bool> {
        match self {
            CloseReason::Clean(frame) => frame.code.is_retryable(),
            CloseReason::Protocol(_) => Some(false),
            CloseReason::Abnormal | CloseReason::TimedOut(_) => Some(true),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The frame is the peer's whoever started the closing handshake.
            CloseReason::Clean(frame) => write!(f, "closed cleanly; the peer sent {frame}"),
            CloseReason::Protocol(e) => {
                let code = e.close_code();
                let name = code.name().unwrap_or("close code");
                write!(f, "failed with {} {name}: {e}", code.0)
            }
            CloseReason::Abnormal => {
                f.write_str("the connection ended without a closing handshake (1006)")
            }
            CloseReason::TimedOut(t) => write!(f, "{t}"),
        }
    }
}
