//! A server's accepting answer as a status and header fields
//! ([`Answer`]), for HTTP servers that write their own responses (hyper's
//! HTTP/1.1 and HTTP/2, the h2 crate) and for [`ServerHandshake`]'s
//! own 101.
//!
//! [`ServerHandshake`]: super::ServerHandshake

use std::time::Instant;

use super::accept_key;
use super::decision::Accept;
use super::incoming::IncomingRequest;
use super::HandshakeError;
use crate::config::Config;
use crate::connection::Connection;
use crate::logging;

/// How a server accepts a request: the response's status (101 for an
/// HTTP/1.1 upgrade, 200 for an HTTP/2 extended CONNECT) and header fields,
/// what was agreed, and the [`Connection`] that follows.
///
/// Servers that read the request through [`ServerHandshake`](super::ServerHandshake)
/// do not need this: it writes the answer itself. An HTTP server of the
/// application's makes the [`IncomingRequest`] with
/// [`IncomingRequest::http11`] or [`IncomingRequest::extended_connect`],
/// sends the answer's status and headers, and runs the connection over the
/// upgraded stream.
///
/// ```
/// use std::time::Instant;
/// use weft_proto::handshake::{Accept, Answer, Headers, IncomingRequest};
/// use weft_proto::Config;
///
/// let headers: Headers = [
///     ("Host", "example.com"),
///     ("Upgrade", "websocket"),
///     ("Connection", "Upgrade"),
///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
///     ("Sec-WebSocket-Version", "13"),
///     ("Sec-WebSocket-Protocol", "chat"),
/// ]
/// .into_iter()
/// .collect();
/// let request = IncomingRequest::http11("GET", "/", headers).unwrap();
/// let answer = Answer::new(&request, Accept::new().subprotocol("chat"), Config::default()).unwrap();
/// assert_eq!(answer.status(), 101);
/// assert!(answer
///     .headers()
///     .contains(&("Sec-WebSocket-Accept".into(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into())));
/// let connection = answer.into_connection(Instant::now());
/// # drop(connection);
/// ```
#[derive(Debug)]
pub struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    subprotocol: Option<String>,
    extensions: Option<String>,
    config: Config,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateParams>,
}

impl Answer {
    /// Accepts `request` as `accept` says; the connection gets `config`,
    /// whose permessage-deflate settings answer the client's offer.
    ///
    /// Fails with [`HandshakeError::InvalidInput`] if the subprotocol was
    /// not offered or a header would break the response; answer the client
    /// 500 then.
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    pub fn new(
        request: &IncomingRequest,
        accept: Accept,
        config: Config,
    ) -> Result<Answer, HandshakeError> {
        accept.check(request)?;
        let mut headers = Vec::new();
        let status = match request.key() {
            // RFC 6455 4.2.2: "If the server chooses to accept the incoming
            // connection, it MUST reply with a valid HTTP response
            // indicating the following": a 101 status, Upgrade, Connection
            // and Sec-WebSocket-Accept, then what was agreed.
            Some(key) => {
                headers.push(("Upgrade".to_owned(), "websocket".to_owned()));
                headers.push(("Connection".to_owned(), "Upgrade".to_owned()));
                headers.push((
                    "Sec-WebSocket-Accept".to_owned(),
                    accept_key(key.as_bytes()),
                ));
                101
            }
            // RFC 8441 5: "a 2xx status code [...] indicates that the
            // WebSocket connection has been established"; there is no key
            // to answer, and HTTP/2 has no Upgrade or Connection.
            None => 200,
        };
        if let Some(protocol) = &accept.subprotocol {
            headers.push(("Sec-WebSocket-Protocol".to_owned(), protocol.clone()));
        }
        // RFC 6455 4.2.2: "Extensions not listed by the client MUST NOT be
        // listed": the response answers one of the request's offers.
        let mut extensions: Option<String> = None;
        #[cfg(feature = "deflate")]
        let mut deflate = None;
        #[cfg(feature = "deflate")]
        if let (true, Some(offer)) = (accept.compression, &config.deflate) {
            if let Some((params, response)) =
                offer.negotiate(request.extensions().iter().map(String::as_str))
            {
                headers.push(("Sec-WebSocket-Extensions".to_owned(), response.clone()));
                deflate = Some(params);
                extensions = Some(response);
            }
        }
        headers.extend(accept.headers);
        logging::accepting(accept.subprotocol.as_deref(), extensions.as_deref());
        Ok(Answer {
            status,
            headers,
            subprotocol: accept.subprotocol,
            extensions,
            config,
            #[cfg(feature = "deflate")]
            deflate,
        })
    }

    /// The response's status: 101 (HTTP/1.1 upgrade) or 200 (HTTP/2
    /// extended CONNECT).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response's header fields, in order: the handshake's own, then
    /// the application's.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The subprotocol chosen, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The `Sec-WebSocket-Extensions` answer, if an extension was agreed.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// The connection that follows the response, with what was agreed
    /// (permessage-deflate) turned on. Feed it the bytes that follow the
    /// request on the stream, including any the HTTP server read ahead.
    pub fn into_connection(self, now: Instant) -> Connection {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut connection = Connection::server(self.config, now);
        #[cfg(feature = "deflate")]
        if let Some(params) = self.deflate {
            connection.enable_deflate(params);
        }
        connection
    }
}
