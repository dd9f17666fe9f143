//! The opening handshake (RFC 6455 section 4), for both roles, as state
//! machines of their own that hand over any bytes that follow the handshake
//! to the [`Connection`](crate::Connection).
//!
//! A client sends an [`OutgoingRequest`] through a [`ClientHandshake`] and
//! gets an [`Acceptance`] or a [`Rejection`]. A server reads an
//! [`IncomingRequest`] through a [`ServerHandshake`] and answers with the
//! application's [`Accept`] or [`Reject`].
//!
//! Over HTTP/2 (RFC 8441), or behind an HTTP server that parses requests
//! itself (hyper), the HTTP is someone else's: a client runs an
//! [`ExtendedConnect`]; a server makes the [`IncomingRequest`] from the
//! parsed request ([`IncomingRequest::http11`],
//! [`IncomingRequest::extended_connect`]) and answers with an [`Answer`].

mod acceptance;
mod answer;
mod client;
mod decision;
mod error;
mod extended_connect;
#[cfg(feature = "http")]
mod http_types;
mod incoming;
mod origin;
mod outgoing;
mod server;

pub use acceptance::Acceptance;
pub use answer::Answer;
pub use client::ClientHandshake;
pub use decision::{Accept, Reject, Responded};
pub use error::{HandshakeError, Rejection};
pub use extended_connect::ExtendedConnect;
pub use incoming::IncomingRequest;
pub use origin::OriginPolicy;
pub use outgoing::OutgoingRequest;
pub use server::ServerHandshake;

use base64::Engine as _;

use crate::config::Config;
use sha1::{Digest, Sha1};

/// The GUID appended to the key to compute `Sec-WebSocket-Accept` (RFC 6455 1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The most body bytes of a rejection a client keeps for its error.
const MAX_REJECTION_BODY: usize = 4096;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
///
/// ```
/// // The example from RFC 6455 section 1.3.
/// assert_eq!(
///     weft_proto::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// The header fields of a request or response, in order, names as received.
/// Lookups ignore ASCII case, as HTTP requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    fn from_httparse(headers: &[httparse::Header<'_>]) -> Headers {
        Headers(
            headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_owned()))
                .collect(),
        )
    }

    /// No header fields.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Adds a header field after those already there.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every header field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of header fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no header fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The comma-separated items of every `name` field, trimmed, empty ones
    /// skipped (RFC 9110 5.6.1). Items that are not UTF-8 are skipped.
    fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .map(|item| item.trim_matches([' ', '\t']))
            .filter(|item| !item.is_empty())
    }

    /// Whether the `name` list holds `token`, ignoring ASCII case.
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|item| item.eq_ignore_ascii_case(token))
    }

    /// The two header fields that make a request or a response an upgrade
    /// to WebSocket, which both sides check alike (RFC 6455 4.1 and 4.2.1):
    /// `Upgrade` holding "websocket" and `Connection` holding "Upgrade",
    /// each "treated as an ASCII case-insensitive value".
    fn check_upgrade(&self) -> Result<(), HandshakeError> {
        if !self.has_token("upgrade", "websocket") {
            return Err(HandshakeError::InvalidHeader {
                name: "Upgrade",
                problem: "does not contain \"websocket\"",
            });
        }
        if !self.has_token("connection", "upgrade") {
            return Err(HandshakeError::InvalidHeader {
                name: "Connection",
                problem: "does not contain \"Upgrade\"",
            });
        }
        Ok(())
    }

    /// The single value of `name`: `Ok(None)` if absent, an error if repeated.
    fn single(&self, name: &'static str) -> Result<Option<&[u8]>, HandshakeError> {
        let mut values = self.get_all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(HandshakeError::InvalidHeader {
                name,
                problem: "appears more than once",
            });
        }
        Ok(first)
    }
}

impl<N: Into<String>, V: Into<Vec<u8>>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Headers {
        Headers(
            iter.into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        )
    }
}

/// Decides when a growing handshake buffer is worth handing to httparse,
/// and how much of it: a head that arrives a byte at a time is parsed a few
/// times rather than once per byte, and each parse sees the buffer only up
/// to the byte that prompted it, so the verdict never depends on how the
/// bytes were split into reads. Each byte is looked at once.
///
/// A parse is prompted by: a control byte in the first line (no HTTP head
/// has one there, so garbage such as a TLS hello on a plain port is
/// refused at once), the end of the first line, the blank line that ends
/// the head, and the size limit.
#[derive(Debug, Default)]
struct HeadScan {
    /// Bytes looked at so far.
    scanned: usize,
    /// Where the current line starts.
    line_start: usize,
    /// A non-empty line has ended (leading empty lines do not count).
    first_line_seen: bool,
}

impl HeadScan {
    /// How much of `buf` to parse now, if anything.
    fn ready(&mut self, buf: &[u8], limit: usize) -> Option<usize> {
        let end = buf.len().min(limit);
        let mut ready = None;
        for i in self.scanned..end {
            let byte = buf[i];
            if byte != b'\n' {
                let control = byte < 0x20 && byte != b'\t' && byte != b'\r' || byte == 0x7f;
                if control && !self.first_line_seen {
                    ready = Some(i + 1);
                }
                continue;
            }
            let line = &buf[self.line_start..i];
            let empty = line.is_empty() || line == b"\r";
            self.line_start = i + 1;
            if !empty && !self.first_line_seen {
                self.first_line_seen = true;
                ready = Some(i + 1);
            } else if empty && self.first_line_seen {
                ready = Some(i + 1);
            }
            if ready.is_some() {
                self.scanned = i + 1;
                return ready;
            }
        }
        self.scanned = self.scanned.max(end);
        if ready.is_none() && end >= limit {
            ready = Some(limit);
        }
        ready
    }
}

/// The length of a request or response head from httparse's verdict on a
/// window of at most `max_handshake_size` bytes (`window_full`: the window
/// reached that limit). `None`: the head is incomplete and may still fit.
fn head_len(
    parsed: httparse::Result<usize>,
    window_full: bool,
    config: &Config,
) -> Result<Option<usize>, HandshakeError> {
    match parsed {
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        Ok(httparse::Status::Partial) if window_full => Err(HandshakeError::TooLarge {
            limit: config.max_handshake_size,
        }),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HandshakeError::TooManyHeaders {
            limit: config.max_headers,
        }),
        Err(e) => Err(HandshakeError::Malformed(e.to_string())),
    }
}

/// The name of an extension offer or response item: what precedes the first `;`.
fn extension_name(item: &str) -> &str {
    item.split(';')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t'])
}

/// Whether `s` is an HTTP token (RFC 9110 5.6.2): what header names and
/// subprotocol names are made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// Checks a header field the application wants to send: a token name and a
/// value without line breaks, so no header can be injected.
fn check_header(name: &str, value: &str) -> Result<(), HandshakeError> {
    if !is_token(name) {
        return Err(HandshakeError::InvalidInput(format!(
            "header name {name:?} is not an HTTP token"
        )));
    }
    if value.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0) {
        return Err(HandshakeError::InvalidInput(format!(
            "header {name} has a line break or NUL in its value"
        )));
    }
    Ok(())
}

/// Refuses an application header that the handshake writes itself, so the
/// head never carries two conflicting values.
fn check_not_reserved(name: &str, reserved: &[&str]) -> Result<(), HandshakeError> {
    match reserved.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        Some(r) => Err(HandshakeError::InvalidInput(format!(
            "header {r} is written by the handshake itself"
        ))),
        None => Ok(()),
    }
}

fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}
