//! Conversions between the handshake's types and the `http` crate's, for
//! servers and clients built on hyper, h2, axum and the like (feature
//! `http`).

use bytes::Bytes;

use super::answer::Answer;
use super::decision::Reject;
use super::error::{HandshakeError, Rejection};
use super::extended_connect::ExtendedConnect;
use super::incoming::IncomingRequest;
use super::outgoing::OutgoingRequest;
use super::Headers;

/// Headers the client's handshake writes itself; an `http::Request` may
/// carry them (as other crates require), and they are left out.
const CLIENT_HANDSHAKE_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "origin",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

impl From<&http::HeaderMap> for Headers {
    fn from(map: &http::HeaderMap) -> Headers {
        map.iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect()
    }
}

impl IncomingRequest {
    /// The request an HTTP server parsed: an HTTP/1.1 `GET` upgrade, or,
    /// with `protocol` (the value of HTTP/2's `:protocol` pseudo-header,
    /// which the `http` crate leaves to the server's own extension type:
    /// `hyper::ext::Protocol`, `h2::ext::Protocol`), an extended CONNECT.
    /// Fails as [`http11`](Self::http11) and
    /// [`extended_connect`](Self::extended_connect) do.
    pub fn from_http(
        parts: &http::request::Parts,
        protocol: Option<&str>,
    ) -> Result<IncomingRequest, HandshakeError> {
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let headers = Headers::from(&parts.headers);
        if parts.method == http::Method::CONNECT && parts.version >= http::Version::HTTP_2 {
            let authority = parts.uri.authority().map_or("", |a| a.as_str());
            return IncomingRequest::extended_connect(
                parts.method.as_str(),
                protocol,
                authority,
                target,
                headers,
            );
        }
        // RFC 6455 4.1: "the HTTP version MUST be at least 1.1."
        if parts.version < http::Version::HTTP_11 {
            return Err(HandshakeError::HttpVersion);
        }
        IncomingRequest::http11(parts.method.as_str(), target, headers)
    }

    /// The request as `http` types: method, target, version and headers as
    /// received (`CONNECT` over HTTP/2 for an extended CONNECT, with the
    /// authority in the URI).
    pub fn to_http(&self) -> http::request::Parts {
        let mut builder = http::Request::builder();
        if self.is_extended_connect() {
            builder = builder
                .method(http::Method::CONNECT)
                .version(http::Version::HTTP_2)
                .uri(
                    http::Uri::builder()
                        .scheme("https")
                        .authority(self.host())
                        .path_and_query(self.target())
                        .build()
                        .unwrap_or_default(),
                );
        } else {
            builder = builder
                .method(http::Method::GET)
                .version(http::Version::HTTP_11)
                .uri(http::Uri::try_from(self.target()).unwrap_or_default());
        }
        let (mut parts, ()) = builder.body(()).unwrap_or_default().into_parts();
        for (name, value) in self.headers().iter() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                parts.headers.append(name, value);
            }
        }
        parts
    }
}

impl TryFrom<http::Request<()>> for OutgoingRequest {
    type Error = HandshakeError;

    /// A client's request from an `http::Request`: the host from the URI's
    /// authority (or its `Host` header), the target from its path and
    /// query, `Origin`, subprotocols and extension offers from their
    /// headers, every other header as it is. The headers the handshake
    /// writes itself (`Upgrade`, `Connection`, `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version`) are left out.
    fn try_from(request: http::Request<()>) -> Result<OutgoingRequest, HandshakeError> {
        let (parts, ()) = request.into_parts();
        let host = match parts.uri.authority() {
            // Credentials in the URI never reach the Host header.
            Some(authority) if authority.as_str().contains('@') => {
                return Err(HandshakeError::InvalidInput(
                    "the request's URI carries credentials: send them in a header".into(),
                ))
            }
            Some(authority) => authority.as_str().to_owned(),
            None => match parts.headers.get(http::header::HOST) {
                Some(host) => host
                    .to_str()
                    .map_err(|_| HandshakeError::InvalidInput("Host is not ASCII".into()))?
                    .to_owned(),
                None => {
                    return Err(HandshakeError::InvalidInput(
                        "the request names no host (no authority in the URI, no Host header)"
                            .into(),
                    ))
                }
            },
        };
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let headers = Headers::from(&parts.headers);
        let mut request = OutgoingRequest::new(host, target);
        if let Some(origin) = headers.get_str("origin") {
            request = request.origin(origin);
        }
        for protocol in headers.list("sec-websocket-protocol") {
            request = request.subprotocol(protocol);
        }
        for offer in headers.list("sec-websocket-extensions") {
            request = request.extension(offer);
        }
        for (name, value) in parts.headers.iter() {
            if CLIENT_HANDSHAKE_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let value = value.to_str().map_err(|_| {
                HandshakeError::InvalidInput(format!("header {name} is not visible ASCII"))
            })?;
            request = request.header(name.as_str(), value);
        }
        request.check()?;
        Ok(request)
    }
}

impl ExtendedConnect {
    /// The extended CONNECT as an `http::Request` for an HTTP/2 client:
    /// `CONNECT`, HTTP/2, `scheme://authority/path` (`scheme` is `https`
    /// over TLS, `http` otherwise), and [`fields`](Self::fields). The
    /// `:protocol = websocket` pseudo-header is the client's own extension
    /// type to add (`h2::ext::Protocol`).
    pub fn to_http(&self, scheme: &str) -> Result<http::Request<()>, HandshakeError> {
        let uri = http::Uri::builder()
            .scheme(scheme)
            .authority(self.authority())
            .path_and_query(self.path())
            .build()
            .map_err(|e| HandshakeError::InvalidInput(format!("request URI: {e}")))?;
        let mut builder = http::Request::builder()
            .method(http::Method::CONNECT)
            .version(http::Version::HTTP_2)
            .uri(uri);
        for (name, value) in self.fields() {
            builder = builder.header(name, value);
        }
        builder
            .body(())
            .map_err(|e| HandshakeError::InvalidInput(format!("request header: {e}")))
    }
}

/// A response of `status` with `headers` and `body`; `None` if a header
/// is not valid HTTP.
fn response<'a>(
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    body: Bytes,
) -> Option<http::Response<Bytes>> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(body).ok()
}

/// The plain 500 a server answers when the application's own answer cannot
/// be sent.
fn internal_error() -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from_static(b"Internal Server Error\n"));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

impl Answer {
    /// The accepting response head: status 101 or 200 and the header
    /// fields, with an empty body. An HTTP server of the application's
    /// sends this, then runs [`into_connection`](Self::into_connection)'s
    /// connection over the upgraded stream.
    pub fn to_http(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() =
            http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::OK);
        for (name, value) in self.headers() {
            // The names and values were checked by `Answer::new`: tokens,
            // no line breaks; other bytes go as they are, as
            // `ServerHandshake` writes them.
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

impl Reject {
    /// The rejection as a response: status, headers and body. A rejection
    /// that cannot be sent (a status outside 200-599, a header that is not
    /// valid HTTP) becomes a 500, as [`ServerHandshake::respond`] does.
    ///
    /// [`ServerHandshake::respond`]: super::ServerHandshake::respond
    pub fn to_http(&self) -> http::Response<Bytes> {
        if self.check().is_err() {
            return internal_error();
        }
        response(
            self.status,
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
            Bytes::from(self.body.clone()),
        )
        .unwrap_or_else(internal_error)
    }
}

impl HandshakeError {
    /// The response a server answers this error with (see
    /// [`status`](Self::status)): the status, the headers it calls for and
    /// the error's text as a plain-text body. `None` for errors a server
    /// does not answer.
    pub fn to_http(&self) -> Option<http::Response<Bytes>> {
        let status = self.status()?;
        let body = Bytes::from(format!("{self}\n"));
        let headers = self
            .response_headers()
            .iter()
            .map(|(n, v)| (*n, v.as_bytes()))
            .chain([("Content-Type", "text/plain; charset=utf-8".as_bytes())]);
        Some(response(status, headers, body).unwrap_or_else(internal_error))
    }
}

impl Rejection {
    /// The server's refusal as an `http::Response`: status, headers and
    /// the start of the body that was kept.
    pub fn to_http(&self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
        for (name, value) in self.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http11_request_converts_both_ways() {
        let request = http::Request::get("/chat?room=1")
            .header("Host", "example.com")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Protocol", "a, b")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let incoming = IncomingRequest::from_http(&parts, None).unwrap();
        assert_eq!(incoming.path(), "/chat");
        assert_eq!(incoming.query(), Some("room=1"));
        assert_eq!(incoming.subprotocols(), ["a", "b"]);
        let back = incoming.to_http();
        assert_eq!(back.method, http::Method::GET);
        assert_eq!(back.uri, "/chat?room=1");
        assert_eq!(back.headers, parts.headers);
    }

    #[test]
    fn extended_connect_needs_the_protocol() {
        let request = http::Request::connect("https://example.com/chat")
            .version(http::Version::HTTP_2)
            .header("Sec-WebSocket-Version", "13")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let incoming = IncomingRequest::from_http(&parts, Some("websocket")).unwrap();
        assert!(incoming.is_extended_connect());
        assert_eq!(incoming.host(), "example.com");
        assert_eq!(incoming.target(), "/chat");
        assert_eq!(
            IncomingRequest::from_http(&parts, None),
            Err(HandshakeError::MissingHeader(":protocol"))
        );
        let back = incoming.to_http();
        assert_eq!(back.method, http::Method::CONNECT);
        assert_eq!(back.uri.authority().unwrap(), "example.com");
    }

    #[test]
    fn http10_is_refused() {
        let (parts, ()) = http::Request::get("/")
            .version(http::Version::HTTP_10)
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(
            IncomingRequest::from_http(&parts, None),
            Err(HandshakeError::HttpVersion)
        );
    }

    #[test]
    fn outgoing_request_from_http() {
        let request = http::Request::get("ws://example.com:9001/chat")
            .header("Sec-WebSocket-Key", "ignored")
            .header("Sec-WebSocket-Protocol", "chat.v1, chat.v2")
            .header("Origin", "https://example.com")
            .header("Authorization", "Bearer x")
            .body(())
            .unwrap();
        let outgoing = OutgoingRequest::try_from(request).unwrap();
        let mut head = Vec::new();
        outgoing.write("a2V5", &mut head);
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("GET /chat HTTP/1.1\r\nHost: example.com:9001\r\n"));
        assert!(head.contains("Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"));
        assert!(head.contains("Origin: https://example.com\r\n"));
        assert!(head.contains("authorization: Bearer x\r\n"));
        assert_eq!(head.matches("Sec-WebSocket-Key").count(), 1);
        let no_host = http::Request::get("/").body(()).unwrap();
        assert!(OutgoingRequest::try_from(no_host).is_err());
        let credentials = http::Request::get("ws://user:pw@example.com/")
            .body(())
            .unwrap();
        assert!(OutgoingRequest::try_from(credentials).is_err());
    }

    #[test]
    fn refusals_become_responses() {
        let reject = Reject::new(401)
            .header("WWW-Authenticate", "Bearer")
            .body("who?");
        let response = reject.to_http();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(response.body(), "who?");
        assert_eq!(Reject::new(99).to_http().status(), 500);
        let error = HandshakeError::UnsupportedVersion("8".into());
        let response = error.to_http().unwrap();
        assert_eq!(response.status(), 426);
        assert_eq!(response.headers()["sec-websocket-version"], "13");
        assert!(HandshakeError::WrongAccept.to_http().is_none());
    }
}
