//! [`ProxyError`]: what went wrong on the way through a proxy, from its URL
//! to the tunnel being open.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::socks5::reply_meaning;

/// A failure to open a tunnel through a proxy. The adapters report it as
/// [`Error::Proxy`](crate::Error::Proxy), which names the proxy; this says
/// what happened there and, in its `Display`, what to try.
///
/// The handshakes ([`HttpConnect`](super::HttpConnect),
/// [`Socks5`](super::Socks5)) return the variants about the proxy's
/// answers; the adapters add the ones about reaching it (`Resolve`,
/// `Connect`, `ConnectTimeout`, `TimedOut`, `Io`).
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be used: not a URL, an unsupported scheme
    /// (`https://`, `socks4://`), a bad port. `source` says where it came
    /// from (an environment variable's name, or `ClientOptions::proxy`).
    InvalidUrl {
        /// The environment variable the URL was read from, if any.
        variable: Option<String>,
        /// What is wrong with it.
        problem: String,
    },
    /// The proxy's host name could not be resolved.
    Resolve(io::Error),
    /// The TCP connection to the proxy failed (refused, unreachable).
    Connect {
        /// The proxy's address last tried.
        addr: SocketAddr,
        /// The connect error.
        source: io::Error,
    },
    /// The TCP connection to the proxy was not made within
    /// [`ClientOptions::connect_timeout`](crate::ClientOptions::connect_timeout).
    ConnectTimeout {
        /// The proxy's address last tried.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The proxy accepted the TCP connection but did not open the tunnel
    /// within the handshake timeout, which bounds the whole opening.
    TimedOut {
        /// The handshake timeout, when known.
        timeout: Option<Duration>,
    },
    /// Reading from or writing to the proxy failed.
    Io(io::Error),
    /// The proxy closed the connection before the tunnel was open.
    Closed,
    /// The HTTP proxy answered the `CONNECT` with a status other than 2xx
    /// (RFC 9110 9.3.6): its status line and headers.
    Refused {
        /// The status code (407: credentials wanted, 403: forbidden, 502:
        /// the proxy could not reach the server, ...).
        status: u16,
        /// The reason phrase, possibly empty.
        reason: String,
        /// The response's header fields, names as sent, values lossily
        /// decoded.
        headers: Vec<(String, String)>,
        /// Whether the request carried `Proxy-Authorization` (from the
        /// proxy URL's userinfo).
        sent_credentials: bool,
    },
    /// The HTTP proxy's response head is longer than the limit.
    HeadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The HTTP proxy's response has more header fields than the limit.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The proxy's answer is not SOCKS version 5 (the first byte of the
    /// answer, which names the version).
    WrongVersion {
        /// The version byte received.
        got: u8,
    },
    /// The SOCKS5 proxy accepts none of the authentication methods
    /// offered (RFC 1928 3: `X'FF'`).
    NoAcceptableMethod {
        /// Whether username/password authentication was offered.
        offered_credentials: bool,
    },
    /// The SOCKS5 proxy refused the username and password (RFC 1929 2: a
    /// non-zero status).
    AuthFailed {
        /// The status byte.
        status: u8,
    },
    /// The SOCKS5 proxy could not open the connection (RFC 1928 6: a reply
    /// field other than `X'00'`).
    SocksReply {
        /// The reply code: 1 general failure, 2 not allowed by the
        /// ruleset, 3 network unreachable, 4 host unreachable, 5 connection
        /// refused, 6 TTL expired, 7 command not supported, 8 address type
        /// not supported.
        code: u8,
    },
    /// A request that cannot be put into the protocol: a user name or
    /// password over 255 bytes, a host name over 255 bytes (RFC 1928,
    /// RFC 1929), a host with characters a request line cannot carry.
    InvalidRequest(String),
    /// The proxy's answer breaks its protocol (not HTTP, a method not
    /// offered, an unknown address type, ...).
    Protocol(String),
    /// Bytes arrived after the proxy's answer, before anything was sent
    /// through the tunnel. A WebSocket server (and a TLS server) speaks
    /// only after the client, so these cannot be the destination's.
    UnexpectedData {
        /// How many bytes.
        len: usize,
    },
}

impl ProxyError {
    /// Whether trying again can succeed: reaching the proxy (resolution,
    /// connect, timeouts, the connection dropping), the proxy's 408, 429
    /// and 5xx but 501 and 505 (502, 503, 504: it could not reach the
    /// server or is overloaded), SOCKS replies 1 and 3 to 6 (a failure on
    /// the way). Not a bad URL, refused credentials, 403, 407, SOCKS
    /// replies forbidding the connection, or an answer that breaks the
    /// protocol.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProxyError::Resolve(_)
            | ProxyError::ConnectTimeout { .. }
            | ProxyError::TimedOut { .. }
            | ProxyError::Closed => true,
            ProxyError::Connect { source: e, .. } | ProxyError::Io(e) => !matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::Unsupported
            ),
            ProxyError::Refused { status, .. } => {
                matches!(status, 408 | 429 | 500..=599) && !matches!(status, 501 | 505)
            }
            ProxyError::SocksReply { code } => matches!(code, 1 | 3..=6),
            ProxyError::InvalidUrl { .. }
            | ProxyError::HeadTooLarge { .. }
            | ProxyError::TooManyHeaders { .. }
            | ProxyError::WrongVersion { .. }
            | ProxyError::NoAcceptableMethod { .. }
            | ProxyError::AuthFailed { .. }
            | ProxyError::InvalidRequest(_)
            | ProxyError::Protocol(_)
            | ProxyError::UnexpectedData { .. } => false,
        }
    }

    /// A header of a refusal, by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            ProxyError::Refused { headers, .. } => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl { variable, problem } => {
                f.write_str("invalid proxy URL")?;
                if let Some(variable) = variable {
                    write!(f, " in ${variable}")?;
                }
                write!(f, ": {problem}")
            }
            ProxyError::Resolve(e) => write!(
                f,
                "could not resolve the proxy's host name: {e} (check the proxy URL)"
            ),
            ProxyError::Connect { addr, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => {
                    write!(f, "connection refused by {addr} (is the proxy running?)")
                }
                _ => write!(f, "connecting to the proxy at {addr} failed: {source}"),
            },
            ProxyError::ConnectTimeout { addr, timeout } => write!(
                f,
                "connecting to the proxy at {addr} timed out after {timeout:?}"
            ),
            ProxyError::TimedOut { timeout } => {
                f.write_str("the proxy did not open the tunnel")?;
                if let Some(timeout) = timeout {
                    write!(f, " within {timeout:?}")?;
                }
                f.write_str(" (is it a proxy, and of the kind the URL's scheme says?)")
            }
            ProxyError::Io(e) => write!(f, "transport error talking to the proxy: {e}"),
            ProxyError::Closed => f.write_str(
                "the proxy closed the connection before opening the tunnel \
                 (is it a proxy, and of the kind the URL's scheme says: http:// or socks5://?)",
            ),
            ProxyError::Refused {
                status,
                reason,
                headers: _,
                sent_credentials,
            } => {
                write!(f, "the proxy refused the CONNECT with {status}")?;
                if !reason.is_empty() {
                    write!(f, " {reason}")?;
                }
                let hint = match (status, sent_credentials) {
                    (407, false) => {
                        "it wants credentials: put them in the proxy URL, http://user:password@host:port"
                    }
                    (401 | 407, true) => "it did not accept the credentials in the proxy URL",
                    (403, _) => "it does not allow this destination or port",
                    (502 | 504, _) => "it could not reach the server",
                    (503, _) => "it is unavailable; retrying later may succeed",
                    (405 | 501, _) => "it does not support CONNECT",
                    _ => "",
                };
                if !hint.is_empty() {
                    write!(f, " ({hint})")?;
                }
                if let Some(challenge) = self.header("proxy-authenticate") {
                    write!(f, "; Proxy-Authenticate: {challenge}")?;
                }
                Ok(())
            }
            ProxyError::HeadTooLarge { limit } => write!(
                f,
                "the proxy's response head is longer than {limit} bytes (is it an HTTP proxy?)"
            ),
            ProxyError::TooManyHeaders { limit } => {
                write!(f, "the proxy's response has more than {limit} header fields")
            }
            ProxyError::WrongVersion { got } => {
                write!(f, "the proxy's answer is not SOCKS5 (version byte {got:#04x}")?;
                if *got == b'H' {
                    f.write_str(", 'H': an HTTP proxy? use http://")?;
                }
                f.write_str(")")
            }
            ProxyError::NoAcceptableMethod {
                offered_credentials,
            } => {
                f.write_str("the SOCKS5 proxy accepts none of the authentication methods offered")?;
                if *offered_credentials {
                    f.write_str(" (no authentication, username/password)")
                } else {
                    f.write_str(
                        " (it may want a username and password: socks5://user:password@host:port)",
                    )
                }
            }
            ProxyError::AuthFailed { status } => write!(
                f,
                "the SOCKS5 proxy refused the username and password (status {status}; check the credentials in the proxy URL)"
            ),
            ProxyError::SocksReply { code } => write!(
                f,
                "the SOCKS5 proxy could not connect: {} (reply {code})",
                reply_meaning(*code)
            ),
            ProxyError::InvalidRequest(why) => write!(f, "cannot ask the proxy: {why}"),
            ProxyError::Protocol(why) => write!(f, "the proxy's answer is invalid: {why}"),
            ProxyError::UnexpectedData { len } => write!(
                f,
                "the proxy sent {len} bytes after opening the tunnel, before the client spoke (a misbehaving proxy)"
            ),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProxyError::Resolve(e) | ProxyError::Connect { source: e, .. } | ProxyError::Io(e) => {
                Some(e)
            }
            _ => None,
        }
    }
}
