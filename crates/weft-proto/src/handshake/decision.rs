//! The application's decision on a handshake request: [`Accept`] it or
//! [`Reject`] it, what each may add to the response, and what
//! [`Responded`] says was written.

use super::incoming::IncomingRequest;
use super::{check_header, check_not_reserved, is_token, HandshakeError};

/// Headers a 101 response gets from the handshake; an [`Accept`] may not add them.
const ACCEPT_HEADERS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// Headers a rejection gets from the handshake; a [`Reject`] may not add them.
const REJECT_HEADERS: &[&str] = &["Connection", "Content-Length", "Transfer-Encoding"];

/// How the application accepts a request: which subprotocol, which extra headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    pub(super) subprotocol: Option<String>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) compression: bool,
}

impl Default for Accept {
    fn default() -> Self {
        Accept {
            subprotocol: None,
            headers: Vec::new(),
            compression: true,
        }
    }
}

impl Accept {
    /// Accepts with no subprotocol and no extra headers.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Whether to accept a permessage-deflate offer, when
    /// [`Config::deflate`](crate::Config) enables it. Default: `true`.
    pub fn compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }

    /// Chooses one of the subprotocols the client offered.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Adds a header to the 101 response (a `Set-Cookie`, say).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether this acceptance can answer `request`: a subprotocol it
    /// offered, headers that neither break the head nor repeat the
    /// handshake's own.
    pub(super) fn check(&self, request: &IncomingRequest) -> Result<(), HandshakeError> {
        // RFC 6455 4.2.2: "The value chosen MUST be derived from the
        // client's handshake, specifically by selecting one of the values
        // from the |Sec-WebSocket-Protocol| field that the server is willing
        // to use for this connection (if any)."
        if let Some(protocol) = &self.subprotocol {
            // RFC 6455 4.1: subprotocol names are tokens. A request parsed
            // elsewhere (hyper, HTTP/2) may offer anything; the answer
            // never carries what is not one.
            if !is_token(protocol) {
                return Err(HandshakeError::InvalidInput(format!(
                    "subprotocol {protocol:?} is not an HTTP token"
                )));
            }
            if !request.subprotocols().iter().any(|p| p == protocol) {
                return Err(HandshakeError::InvalidInput(format!(
                    "subprotocol {protocol:?} was not offered by the client"
                )));
            }
        }
        for (name, value) in &self.headers {
            check_header(name, value)?;
            check_not_reserved(name, ACCEPT_HEADERS)?;
        }
        Ok(())
    }
}

/// How the application rejects a request: any status, headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Reject {
    /// Rejects with `status` (for instance 401, 403, 404 or 429).
    pub fn new(status: u16) -> Self {
        Reject {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header to the response.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The status the rejection answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Sets the response body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Whether this rejection can be written: a status from 200 to 599 (an
    /// informational one would leave the client waiting), headers that
    /// neither break the head nor repeat the handshake's own.
    pub(super) fn check(&self) -> Result<(), HandshakeError> {
        if !(200..=599).contains(&self.status) {
            return Err(HandshakeError::InvalidInput(format!(
                "status {} cannot reject a handshake",
                self.status
            )));
        }
        for (name, value) in &self.headers {
            check_header(name, value)?;
            check_not_reserved(name, REJECT_HEADERS)?;
        }
        Ok(())
    }
}

/// What [`ServerHandshake::respond`] wrote: the outcome of the handshake
/// on the server's side, matching the client's [`Acceptance`] and
/// [`Rejection`](super::Rejection).
///
/// [`ServerHandshake::respond`]: super::ServerHandshake::respond
/// [`Acceptance`]: super::Acceptance
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Responded {
    /// The 101 response: the connection follows.
    Accepted,
    /// The application's rejection, with this status.
    Rejected(u16),
    /// The application's decision could not be written, for this reason;
    /// a 500 was written instead (nothing, for [`HandshakeError::NotReady`]).
    Failed(HandshakeError),
}
