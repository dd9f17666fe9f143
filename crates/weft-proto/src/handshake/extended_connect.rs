//! The client's side of an RFC 8441 handshake ([`ExtendedConnect`]): a
//! WebSocket opened with an HTTP/2 extended CONNECT on one stream of a
//! connection that the adapter's HTTP/2 implementation runs.

use std::time::Instant;

use bytes::Bytes;

use super::acceptance::{self, Acceptance};
use super::outgoing::OutgoingRequest;
use super::{HandshakeError, Headers, Rejection, MAX_REJECTION_BODY};
use crate::config::Config;
use crate::connection::{Connection, MaskKeys};
use crate::logging;

/// The client's handshake over HTTP/2 (RFC 8441 4-5).
///
/// HTTP/2 carries the request and the response, so this does not read or
/// write bytes: it says what the CONNECT request holds
/// ([`authority`](Self::authority), [`path`](Self::path),
/// [`fields`](Self::fields), with `:method = CONNECT` and
/// `:protocol = websocket`), checks the response the adapter's HTTP/2
/// client received ([`handle_response`](Self::handle_response)), and makes
/// the [`Connection`] that runs over the stream. There is no key and no
/// `Sec-WebSocket-Accept`; a 2xx status accepts (RFC 8441 5). Frames are
/// unchanged, masking included.
///
/// ```
/// use std::time::Instant;
/// use weft_proto::handshake::{ExtendedConnect, Headers, OutgoingRequest};
/// use weft_proto::Config;
///
/// let request = OutgoingRequest::new("example.com", "/chat").subprotocol("chat");
/// let mut handshake = ExtendedConnect::new(request, Config::default(), Instant::now()).unwrap();
/// assert_eq!(handshake.authority(), "example.com");
/// assert!(handshake.fields().contains(&("sec-websocket-version".into(), "13".into())));
///
/// let headers: Headers = [("sec-websocket-protocol", "chat")].into_iter().collect();
/// let acceptance = handshake.handle_response(200, headers, Default::default()).unwrap();
/// assert_eq!(acceptance.subprotocol(), Some("chat"));
/// let connection = handshake.into_connection(|| [1, 2, 3, 4], Instant::now()).unwrap();
/// # drop(connection);
/// ```
#[derive(Debug)]
pub struct ExtendedConnect {
    config: Config,
    request: OutgoingRequest,
    deadline: Option<Instant>,
    accepted: Option<Acceptance>,
}

impl ExtendedConnect {
    /// A handshake for `request`; the timeout counts from `now`. Offers
    /// permessage-deflate when `config.deflate` says so, as
    /// [`ClientHandshake`](super::ClientHandshake) does.
    ///
    /// Fails with [`HandshakeError::InvalidInput`] if the request has a
    /// header that would break it or that HTTP/2 forbids (`Connection`,
    /// `Upgrade`, `Host`, ...), or a target not starting with `/`.
    pub fn new(
        request: OutgoingRequest,
        config: Config,
        now: Instant,
    ) -> Result<ExtendedConnect, HandshakeError> {
        request.check()?;
        request.check_http2()?;
        let request = request.offering(&config);
        Ok(ExtendedConnect {
            deadline: config.handshake_timeout.and_then(|t| now.checked_add(t)),
            config,
            request,
            accepted: None,
        })
    }

    /// `:authority`: the host, with `:port` if not the default.
    pub fn authority(&self) -> &str {
        self.request.host()
    }

    /// `:path`: the request target.
    pub fn path(&self) -> &str {
        self.request.target()
    }

    /// The request's header fields beside the pseudo-headers, names in
    /// lower case: `sec-websocket-version: 13`, `origin`, the subprotocols
    /// and extensions offered, then the application's own.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.request.extended_connect_fields()
    }

    /// The response's `:status` and header fields, with the start of its
    /// body for a refusal (at most 4 KiB are kept). A 2xx status accepts
    /// (RFC 8441 5) if the subprotocol and extensions chosen were offered;
    /// any other fails with [`HandshakeError::Rejected`].
    pub fn handle_response(
        &mut self,
        status: u16,
        headers: Headers,
        body: Bytes,
    ) -> Result<Acceptance, HandshakeError> {
        logging::response_received(status, "");
        let result = if (200..300).contains(&status) {
            acceptance::validate_agreement(headers, &self.request, &self.config)
        } else {
            Err(HandshakeError::Rejected(Box::new(Rejection {
                status,
                reason: String::new(),
                headers,
                body: body.slice(..body.len().min(MAX_REJECTION_BODY)),
            })))
        };
        match &result {
            Ok(acceptance) => {
                logging::accepted_by_server(acceptance.subprotocol(), acceptance.extensions());
                self.accepted = Some(acceptance.clone());
            }
            Err(e) => logging::client_handshake_failed(e),
        }
        result
    }

    /// When the handshake times out, while the response is awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.accepted {
            None => self.deadline,
            Some(_) => None,
        }
    }

    /// The client's connection, once [`handle_response`](Self::handle_response)
    /// has accepted, with what was agreed turned on. Masking keys come from
    /// `mask_keys`, as over HTTP/1.1.
    pub fn into_connection(
        self,
        mask_keys: impl MaskKeys + 'static,
        now: Instant,
    ) -> Result<Connection, HandshakeError> {
        let Some(accepted) = self.accepted else {
            return Err(HandshakeError::NotReady);
        };
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut connection = Connection::client(self.config, mask_keys, now);
        #[cfg(feature = "deflate")]
        if let Some(params) = accepted.deflate() {
            connection.enable_deflate(*params);
        }
        #[cfg(not(feature = "deflate"))]
        let _ = accepted;
        Ok(connection)
    }
}
