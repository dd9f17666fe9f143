//! Why a handshake failed ([`HandshakeError`]), the HTTP answer a server
//! gives for it, and a server's refusal as the client sees it
//! ([`Rejection`]).

use std::fmt;

use bytes::Bytes;

use super::{write_header, Headers};

/// An HTTP response other than 101 that a server answered the handshake with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The status code (a 3xx carries `Location` in its headers).
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
    /// The start of the body: at most 4 KiB, as much as arrived before the
    /// body ended, the transport closed, or the limit was reached.
    pub body: Bytes,
}

/// Why an opening handshake failed.
///
/// A server that meets an error in the client's request answers with the
/// HTTP status [`status`](Self::status) gives; [`write_response`](Self::write_response)
/// writes that answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request or response head is not valid HTTP/1.1 (400).
    Malformed(String),
    /// The head is larger than the configured limit (431).
    TooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The head has more header fields than the configured limit (431).
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The request method is not GET (CONNECT for HTTP/2) (405).
    MethodNotAllowed(String),
    /// The HTTP version is older than 1.1 (505).
    HttpVersion,
    /// A required header field is missing (400).
    MissingHeader(&'static str),
    /// A header field has a value the handshake does not allow (400).
    InvalidHeader {
        /// The header's name.
        name: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The upgrade request has a body, announced by the header named
    /// (`Transfer-Encoding`, or a `Content-Length` above 0) (400). Under
    /// HTTP the bytes after such a head are the request's body; a proxy in
    /// front would not read them as the WebSocket's frames.
    RequestBody(&'static str),
    /// The client asked for a WebSocket version other than 13 (426, with
    /// `Sec-WebSocket-Version: 13`).
    UnsupportedVersion(String),
    /// The server answered with a status other than 101.
    Rejected(Box<Rejection>),
    /// The server's `Sec-WebSocket-Accept` does not match the key sent.
    WrongAccept,
    /// The server chose a subprotocol the client did not offer.
    UnexpectedSubprotocol(String),
    /// The server accepted an extension the client did not offer.
    UnexpectedExtension(String),
    /// The server's answer to an extension offer breaks the extension's
    /// rules (a permessage-deflate parameter not offered, a bad value); the
    /// [`NegotiationError`](crate::deflate::NegotiationError) says which, and
    /// is also this error's [`source`](std::error::Error::source).
    #[cfg(feature = "deflate")]
    InvalidExtension(crate::deflate::NegotiationError),
    /// The transport closed before the handshake completed.
    ConnectionClosed,
    /// The handshake took longer than the handshake timeout (408).
    TimedOut,
    /// The application gave something the handshake cannot send: a header
    /// that would break the head, a subprotocol the client did not offer.
    InvalidInput(String),
    /// A method was called out of order: accepting before the request was
    /// complete, making a connection before the handshake succeeded.
    NotReady,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with, for errors in a
    /// client's request. `None` for errors a server does not answer.
    pub fn status(&self) -> Option<u16> {
        use HandshakeError::*;
        Some(match self {
            Malformed(_) | MissingHeader(_) | InvalidHeader { .. } | RequestBody(_) => 400,
            MethodNotAllowed(_) => 405,
            TimedOut => 408,
            TooLarge { .. } | TooManyHeaders { .. } => 431,
            UnsupportedVersion(_) => 426,
            HttpVersion => 505,
            Rejected(_)
            | WrongAccept
            | UnexpectedSubprotocol(_)
            | UnexpectedExtension(_)
            | ConnectionClosed
            | InvalidInput(_)
            | NotReady => return None,
            #[cfg(feature = "deflate")]
            InvalidExtension(_) => return None,
        })
    }

    /// The header fields the [`status`](Self::status) calls for, beside
    /// those of any response: `Sec-WebSocket-Version` with a 426, `Allow`
    /// with a 405.
    pub fn response_headers(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            // RFC 6455 4.2.2: "If this version does not match a version
            // understood by the server, the server MUST abort the WebSocket
            // handshake described in this section and instead send an
            // appropriate HTTP error code (such as 426 Upgrade Required) and
            // a |Sec-WebSocket-Version| header field indicating the
            // version(s) the server is capable of understanding."
            HandshakeError::UnsupportedVersion(_) => &[("Sec-WebSocket-Version", "13")],
            HandshakeError::MethodNotAllowed(_) => &[("Allow", "GET")],
            _ => &[],
        }
    }

    /// Writes the HTTP response a server sends for this error (status line,
    /// the headers the status calls for, the error's text as the body) and
    /// returns `true`; returns `false` and writes nothing if the error has
    /// no [`status`](Self::status).
    pub fn write_response(&self, out: &mut Vec<u8>) -> bool {
        let Some(status) = self.status() else {
            return false;
        };
        let body = format!("{self}\n");
        out.extend_from_slice(
            format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes(),
        );
        for (name, value) in self.response_headers() {
            write_header(out, name, value);
        }
        write_header(out, "Connection", "close");
        write_header(out, "Content-Type", "text/plain; charset=utf-8");
        write_header(out, "Content-Length", &body.len().to_string());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body.as_bytes());
        true
    }
}

/// The standard reason phrase for the statuses this crate writes.
pub(super) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HandshakeError::*;
        match self {
            Malformed(e) => write!(f, "malformed handshake: {e}"),
            TooLarge { limit } => write!(f, "handshake head exceeds the limit of {limit} bytes"),
            TooManyHeaders { limit } => {
                write!(f, "handshake has more than the limit of {limit} header fields")
            }
            MethodNotAllowed(m) => write!(
                f,
                "method {m} not allowed: a WebSocket handshake is a GET (a CONNECT over HTTP/2)"
            ),
            RequestBody(header) => write!(
                f,
                "the upgrade request has a body ({header}): a WebSocket handshake has none"
            ),
            HttpVersion => f.write_str("a WebSocket handshake needs HTTP/1.1 or later"),
            MissingHeader(name) => write!(f, "handshake lacks the {name} header"),
            InvalidHeader { name, problem } => write!(f, "handshake header {name} {problem}"),
            UnsupportedVersion(v) => {
                write!(f, "WebSocket version {v:?} is not supported; this server speaks 13")
            }
            Rejected(r) => {
                write!(f, "server rejected the handshake with {} {}", r.status, r.reason)?;
                if let Some(location) = r.headers.get_str("location") {
                    write!(f, " (Location: {location})")?;
                }
                if !r.body.is_empty() {
                    let body = String::from_utf8_lossy(&r.body[..r.body.len().min(200)]);
                    write!(f, ": {}", body.trim())?;
                }
                Ok(())
            }
            WrongAccept => f.write_str(
                "server's Sec-WebSocket-Accept does not match the key sent (not a WebSocket server, or a proxy in the way)",
            ),
            UnexpectedSubprotocol(p) => write!(f, "server chose subprotocol {p:?}, which was not offered"),
            UnexpectedExtension(e) => write!(f, "server accepted extension {e:?}, which was not offered"),
            #[cfg(feature = "deflate")]
            InvalidExtension(e) => write!(f, "server's extension response is invalid: {e}"),
            ConnectionClosed => f.write_str("connection closed before the handshake completed"),
            TimedOut => f.write_str("handshake timed out"),
            InvalidInput(e) => write!(f, "cannot send handshake: {e}"),
            NotReady => f.write_str("handshake method called out of order"),
        }
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "deflate")]
            HandshakeError::InvalidExtension(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(feature = "deflate")]
impl From<crate::deflate::NegotiationError> for HandshakeError {
    fn from(e: crate::deflate::NegotiationError) -> Self {
        HandshakeError::InvalidExtension(e)
    }
}
