//! The adapters' error type: what went wrong, in terms a program can act
//! on (retry or give up) and a person can read (what happened, what to
//! try).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use weft_proto::handshake::Rejection;
use weft_proto::{HandshakeError, SendError};

use crate::proxy::{ProxyError, ProxyUrl};
use crate::retry_after::retry_after;
use crate::TlsError;

/// What can go wrong in an adapter. A closed connection is not an error:
/// reading ends, and the close reason says why (and
/// [`CloseReason::is_retryable`](weft_proto::CloseReason::is_retryable)
/// whether to open it again).
///
/// Each way of failing to connect has its own variant, in the order a
/// connection is opened: the URL, name resolution, the TCP connect, TLS,
/// the HTTP handshake. Every underlying error (the `io::Error`, rustls's
/// error, the core's [`HandshakeError`]) stays reachable through
/// [`source`](std::error::Error::source). [`is_retryable`](Self::is_retryable)
/// says whether trying again can succeed.
///
/// ```
/// use weft_io::Error;
///
/// let refused = Error::Connect {
///     addr: "127.0.0.1:9001".parse().unwrap(),
///     source: std::io::ErrorKind::ConnectionRefused.into(),
/// };
/// assert_eq!(
///     refused.to_string(),
///     "connection refused by 127.0.0.1:9001 (is the server running?)"
/// );
/// assert!(refused.is_retryable());
/// assert!(!Error::Url("\"ftp://x\": the scheme must be ws or wss".into()).is_retryable());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a `ws://` or `wss://` URL the adapter can use.
    Url(String),
    /// The host name could not be resolved to an address.
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The TCP connection could not be made: refused (nothing listens on
    /// the port), the host or network unreachable, ... (the source's
    /// [`kind`](io::Error::kind) says which). With several addresses for
    /// the host, this is the last one's failure.
    Connect {
        /// The address last tried.
        addr: SocketAddr,
        /// The connect error.
        source: io::Error,
    },
    /// The TCP connection was not made within
    /// [`ClientOptions::connect_timeout`](crate::ClientOptions::connect_timeout).
    ConnectTimeout {
        /// The address last tried.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed: the server's certificate is not trusted,
    /// not valid for the name, expired, or the TLS protocol failed.
    Tls(TlsError),
    /// The opening (TCP, TLS and HTTP) did not complete within the
    /// handshake timeout ([`Config::handshake_timeout`](weft_proto::Config::handshake_timeout)).
    HandshakeTimeout {
        /// The timeout, when known.
        timeout: Option<Duration>,
    },
    /// The server answered the handshake with an HTTP status other than
    /// 101: its status, headers and the start of its body.
    /// [`retry_after`](Self::retry_after) reads its `Retry-After`.
    Refused(Box<Rejection>),
    /// Another failure of the opening handshake: a response that is not
    /// a WebSocket acceptance (a wrong `Sec-WebSocket-Accept`, a
    /// subprotocol or extension not offered, malformed HTTP), the
    /// transport closing during it; on a server, a request that is not a
    /// valid handshake.
    Handshake(HandshakeError),
    /// The transport failed, on an open connection or during the opening
    /// (after the TCP connection was made).
    Io(io::Error),
    /// The connection refused a command (sending after close, a control
    /// payload over 125 bytes, ...).
    Send(SendError),
    /// `wss://` was asked for but this build has no TLS (feature `tls`).
    TlsUnavailable,
    /// The application rejected the handshake request; the response with
    /// this status was sent (a server-side result).
    Rejected(u16),
    /// Going through the proxy failed: its URL, reaching it, or its
    /// handshake ([`ProxyError`] says which). Everything up to the
    /// tunnel being open is reported here, labelled as the proxy's; TLS
    /// and the WebSocket handshake through the tunnel fail with their own
    /// variants.
    Proxy {
        /// The proxy (its password hidden in `Display`); `None` when its
        /// URL could not be parsed.
        proxy: Option<Box<ProxyUrl>>,
        /// What went wrong.
        source: Box<ProxyError>,
    },
}

impl Error {
    /// Whether trying again can succeed: `true` for transient causes (a
    /// name that did not resolve, a refused or unreachable connection,
    /// timeouts, a connection reset or closed during the handshake, a
    /// refusal with 408, 429 or 5xx), `false` for those that will fail the
    /// same way (a bad URL, any other 4xx, certificate errors, a response
    /// that is not a WebSocket acceptance, the application's own mistakes).
    ///
    /// The end of an open connection is classified from its
    /// [`CloseReason`](weft_proto::CloseReason::is_retryable) instead.
    pub fn is_retryable(&self) -> bool {
        match self {
            // A resolver failing is as often the network (a laptop between
            // networks) as a wrong name; a wrong name never succeeds, but
            // retrying it with backoff costs little.
            Error::Resolve { .. } => true,
            Error::Connect { source, .. } => !matches!(
                source.kind(),
                io::ErrorKind::PermissionDenied
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::Unsupported
            ),
            Error::ConnectTimeout { .. } | Error::HandshakeTimeout { .. } => true,
            Error::Tls(e) => e.is_retryable(),
            Error::Refused(rejection) => status_is_retryable(rejection.status),
            Error::Handshake(e) => match e {
                HandshakeError::ConnectionClosed | HandshakeError::TimedOut => true,
                HandshakeError::Rejected(rejection) => status_is_retryable(rejection.status),
                _ => false,
            },
            Error::Io(e) => io_is_retryable(e),
            Error::Proxy { source, .. } => source.is_retryable(),
            Error::Url(_) | Error::Send(_) | Error::TlsUnavailable | Error::Rejected(_) => false,
        }
    }

    /// [`Error::Resolve`] for a host name that resolved to no address.
    pub fn no_address(host: &str) -> Error {
        Error::Resolve {
            host: host.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "the name has no address"),
        }
    }

    /// Whether a proxy answered that it cannot reach the address it was
    /// asked for (SOCKS replies 3, 4 and 5: network or host unreachable,
    /// connection refused), so that another of the destination's
    /// addresses is worth asking for, as a direct connection tries each.
    pub fn proxy_cannot_reach(&self) -> bool {
        matches!(
            self.proxy_error(),
            Some(ProxyError::SocksReply { code: 3..=5 })
        )
    }

    /// The error for a failure on the way to `proxy`: the steps that are
    /// the same as a direct connection's (resolving the name, the TCP
    /// connect, a transport error, the deadline passing) become
    /// [`Error::Proxy`] with the matching [`ProxyError`], so that they read
    /// as the proxy's rather than the server's. Other errors are kept.
    pub fn at_proxy(self, proxy: &ProxyUrl) -> Error {
        let source = match self {
            Error::Resolve { source, .. } => ProxyError::Resolve(source),
            Error::Connect { addr, source } => ProxyError::Connect { addr, source },
            Error::ConnectTimeout { addr, timeout } => ProxyError::ConnectTimeout { addr, timeout },
            Error::HandshakeTimeout { timeout } => ProxyError::TimedOut { timeout },
            Error::Io(e) => ProxyError::Io(e),
            Error::Proxy { source, .. } => *source,
            e => return e,
        };
        Error::proxy(Some(proxy), source)
    }

    /// [`Error::Proxy`] for `proxy` (if its URL is known) and `source`.
    pub fn proxy(proxy: Option<&ProxyUrl>, source: ProxyError) -> Error {
        Error::Proxy {
            proxy: proxy.map(|p| Box::new(p.clone())),
            source: Box::new(source),
        }
    }

    /// The proxy's error, for [`Error::Proxy`].
    pub fn proxy_error(&self) -> Option<&ProxyError> {
        match self {
            Error::Proxy { source, .. } => Some(source),
            _ => None,
        }
    }

    /// How long the server asked to wait before trying again: its
    /// `Retry-After` header (delay-seconds, or an HTTP date, counted from
    /// now), on a refusal. `None` when there is no such header or it is
    /// not valid.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Refused(rejection) => retry_after(rejection),
            Error::Handshake(HandshakeError::Rejected(rejection)) => retry_after(rejection),
            _ => None,
        }
    }

    /// The server's refusal, for [`Error::Refused`].
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Refused(rejection) => Some(rejection),
            Error::Handshake(HandshakeError::Rejected(rejection)) => Some(rejection),
            _ => None,
        }
    }

    /// The error for a handshake that ran past its timeout.
    pub fn handshake_timed_out(timeout: Option<Duration>) -> Error {
        Error::HandshakeTimeout { timeout }
    }
}

/// 408 (the request took too long), 429 (too many requests) and 5xx (the
/// server failed, is overloaded or restarting) can go another way next
/// time; any other status is the server's considered answer, and so are
/// 501 (the method is not implemented) and 505 (the HTTP version is not
/// supported, as from a proxy that speaks HTTP/1.0): the same request
/// meets them again.
fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599) && !matches!(status, 501 | 505)
}

/// A transport error is retryable unless it says the data or the request
/// itself is wrong (TLS records that do not decrypt, say).
fn io_is_retryable(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::Unsupported
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) => write!(f, "invalid WebSocket URL {e}"),
            Error::Resolve { host, source } => write!(
                f,
                "could not resolve {host:?}: {source} (check the host name and the DNS settings)"
            ),
            Error::Connect { addr, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => {
                    write!(f, "connection refused by {addr} (is the server running?)")
                }
                io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => write!(
                    f,
                    "{addr} is unreachable: {source} (check the network, a VPN or a firewall)"
                ),
                _ => write!(f, "connecting to {addr} failed: {source}"),
            },
            Error::ConnectTimeout { addr, timeout } => write!(
                f,
                "connecting to {addr} timed out after {timeout:?} (is the host up, or a firewall dropping packets?)"
            ),
            Error::Tls(e) => write!(f, "{e}"),
            Error::HandshakeTimeout { timeout } => {
                f.write_str("the opening handshake did not complete")?;
                if let Some(timeout) = timeout {
                    write!(f, " within {timeout:?}")?;
                }
                f.write_str(" (is the server overloaded, or not a WebSocket server?)")
            }
            Error::Refused(rejection) => write_refusal(f, rejection, retry_after(rejection)),
            Error::Handshake(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "transport error: {e}"),
            Error::Send(e) => write!(f, "{e}"),
            Error::TlsUnavailable => {
                f.write_str("wss:// needs the `tls` feature, which this build lacks")
            }
            Error::Rejected(status) => write!(f, "handshake rejected with status {status}"),
            Error::Proxy {
                proxy: Some(proxy),
                source,
            } => write!(f, "proxy {proxy}: {source}"),
            Error::Proxy {
                proxy: None,
                source,
            } => write!(f, "{source}"),
        }
    }
}

/// The refusal, what the body said, and what to try.
fn write_refusal(
    f: &mut fmt::Formatter<'_>,
    rejection: &Rejection,
    wait: Option<Duration>,
) -> fmt::Result {
    write!(
        f,
        "the server refused the WebSocket handshake with {}",
        rejection.status
    )?;
    if !rejection.reason.is_empty() {
        write!(f, " {}", rejection.reason)?;
    }
    if !rejection.body.is_empty() {
        let end = rejection.body.len().min(200);
        let body = String::from_utf8_lossy(&rejection.body[..end]);
        let body = body.trim();
        if !body.is_empty() {
            write!(f, ": {body}")?;
        }
    }
    let hint = match rejection.status {
        300..=399 => match rejection.headers.get_str("location") {
            Some(location) => format!("redirects are not followed: connect to {location}"),
            None => "redirects are not followed".to_owned(),
        },
        401 | 403 => "check the credentials the request carries".to_owned(),
        404 => "check the URL's path".to_owned(),
        400 | 405 | 426 => "is this a WebSocket endpoint?".to_owned(),
        501 | 505 => {
            "the server (or a proxy on the way) cannot handle this HTTP request".to_owned()
        }
        408 | 429 | 500..=599 => match wait {
            Some(wait) => format!("retry after {wait:?}"),
            None => "retrying later may succeed".to_owned(),
        },
        _ => return Ok(()),
    };
    write!(f, " ({hint})")
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve { source, .. } | Error::Connect { source, .. } => Some(source),
            Error::Tls(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Proxy { source, .. } => Some(source.as_ref()),
            Error::Url(_)
            | Error::ConnectTimeout { .. }
            | Error::HandshakeTimeout { .. }
            | Error::Refused(_)
            | Error::TlsUnavailable
            | Error::Rejected(_) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

/// A refusal becomes [`Error::Refused`], a timeout
/// [`Error::HandshakeTimeout`]; every other handshake error stays one.
impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Error {
        match e {
            HandshakeError::Rejected(rejection) => Error::Refused(rejection),
            HandshakeError::TimedOut => Error::HandshakeTimeout { timeout: None },
            e => Error::Handshake(e),
        }
    }
}

/// A proxy error without its proxy's URL (one that could not be parsed).
impl From<ProxyError> for Error {
    fn from(e: ProxyError) -> Error {
        Error::proxy(None, e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        Error::Send(e)
    }
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Error {
        Error::Tls(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreachable_socks_replies_are_worth_another_address() {
        for code in 0..=255u8 {
            let error = Error::proxy(None, ProxyError::SocksReply { code });
            assert_eq!(
                error.proxy_cannot_reach(),
                (3..=5).contains(&code),
                "{code}"
            );
        }
        assert!(!Error::no_address("example.com").proxy_cannot_reach());
        assert!(matches!(
            Error::no_address("example.com"),
            Error::Resolve { .. }
        ));
    }

    /// The error a client gets from a server answering with `status`,
    /// these headers and this body, through the core's handshake.
    fn refusal(status: u16, headers: &[(&str, &str)], body: &str) -> Error {
        use weft_proto::handshake::{ClientHandshake, OutgoingRequest};
        let mut handshake = ClientHandshake::new(
            OutgoingRequest::new("example.com", "/"),
            weft_proto::Config::default(),
            [7; 16],
            std::time::Instant::now(),
        )
        .unwrap();
        let mut response = format!("HTTP/1.1 {status} \r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(body);
        let e = handshake.handle_data(response.as_bytes()).unwrap_err();
        assert!(matches!(e, HandshakeError::Rejected(_)), "{e:?}");
        Error::from(e)
    }

    #[test]
    fn statuses_that_can_change_are_retryable_and_the_others_are_not() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(refusal(status, &[], "").is_retryable(), "{status}");
        }
        for status in [301, 400, 401, 403, 404, 426, 501, 505] {
            assert!(!refusal(status, &[], "").is_retryable(), "{status}");
        }
    }

    #[test]
    fn a_refusal_says_what_the_server_said_and_what_to_try() {
        let e = refusal(503, &[("Retry-After", "30")], "restarting\n");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(
            e.to_string(),
            "the server refused the WebSocket handshake with 503: restarting (retry after 30s)"
        );
        let e = refusal(401, &[], "");
        assert_eq!(
            e.to_string(),
            "the server refused the WebSocket handshake with 401 (check the credentials the request carries)"
        );
        let e = refusal(302, &[("Location", "wss://elsewhere/")], "");
        assert!(e
            .to_string()
            .ends_with("(redirects are not followed: connect to wss://elsewhere/)"));
    }

    #[test]
    fn transport_errors_keep_their_source_and_are_classified_by_kind() {
        use std::error::Error as _;
        let e = Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(e.is_retryable());
        let source = e.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(source.kind(), io::ErrorKind::ConnectionReset);
        assert!(!Error::from(io::Error::from(io::ErrorKind::InvalidData)).is_retryable());
        let unreachable = Error::Connect {
            addr: "10.0.0.1:80".parse().unwrap(),
            source: io::ErrorKind::HostUnreachable.into(),
        };
        assert!(unreachable.is_retryable());
        assert!(unreachable
            .to_string()
            .starts_with("10.0.0.1:80 is unreachable"));
    }

    #[test]
    fn failures_on_the_way_to_a_proxy_are_labelled_as_the_proxy_s() {
        let proxy = ProxyUrl::parse("http://user:secret@127.0.0.1:3128").unwrap();
        let refused = Error::Connect {
            addr: "127.0.0.1:3128".parse().unwrap(),
            source: io::ErrorKind::ConnectionRefused.into(),
        }
        .at_proxy(&proxy);
        assert!(matches!(
            refused.proxy_error(),
            Some(ProxyError::Connect { .. })
        ));
        assert_eq!(
            refused.to_string(),
            "proxy http://user:***@127.0.0.1:3128: connection refused by 127.0.0.1:3128 (is the proxy running?)"
        );
        assert!(refused.is_retryable());
        let timeout = Error::handshake_timed_out(Some(Duration::from_secs(2))).at_proxy(&proxy);
        assert!(matches!(
            timeout.proxy_error(),
            Some(ProxyError::TimedOut { .. })
        ));
        assert!(timeout.is_retryable());
        assert!(timeout
            .to_string()
            .contains("did not open the tunnel within 2s"));
        // Errors that are not about reaching something stay as they are.
        assert!(matches!(
            Error::TlsUnavailable.at_proxy(&proxy),
            Error::TlsUnavailable
        ));
        let forbidden = Error::proxy(
            Some(&proxy),
            ProxyError::Refused {
                status: 403,
                reason: "Forbidden".into(),
                headers: vec![],
                sent_credentials: false,
            },
        );
        assert!(!forbidden.is_retryable());
        assert!(!Error::from(ProxyError::Closed)
            .to_string()
            .starts_with("proxy"));
        use std::error::Error as _;
        assert!(forbidden
            .source()
            .unwrap()
            .downcast_ref::<ProxyError>()
            .is_some());
    }

    #[test]
    fn handshake_errors_convert_to_the_variant_that_names_them() {
        assert!(matches!(
            Error::from(HandshakeError::TimedOut),
            Error::HandshakeTimeout { timeout: None }
        ));
        let e = Error::from(HandshakeError::WrongAccept);
        assert!(matches!(e, Error::Handshake(HandshakeError::WrongAccept)));
        assert!(!e.is_retryable());
        assert!(Error::from(HandshakeError::ConnectionClosed).is_retryable());
        assert!(!Error::Send(SendError::Closed).is_retryable());
    }
}
