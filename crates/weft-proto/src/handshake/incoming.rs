//! The request a server receives: [`IncomingRequest`], the checks of
//! RFC 6455 4.2.1 (an HTTP/1.1 upgrade) and RFC 8441 4-5 (an HTTP/2
//! extended CONNECT) that make one, and its target's path and query.

use base64::Engine as _;

use super::{HandshakeError, Headers};

/// A validated WebSocket handshake request, for the application to accept
/// or reject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingRequest {
    target: String,
    headers: Headers,
    host: String,
    origin: Option<String>,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
    /// `Sec-WebSocket-Key` of an HTTP/1.1 upgrade; `None` for an extended
    /// CONNECT, which has none (RFC 8441 5).
    key: Option<String>,
}

impl IncomingRequest {
    /// Checks an HTTP/1.1 upgrade request whose head was parsed elsewhere
    /// (by hyper, say): `method` must be `GET` and `headers` those of RFC
    /// 6455 4.2.1. `target` is the request target as sent. Each error
    /// carries the status to answer with ([`HandshakeError::status`]).
    ///
    /// ```
    /// use weft_proto::handshake::{Headers, IncomingRequest};
    ///
    /// let headers: Headers = [
    ///     ("Host", "example.com"),
    ///     ("Upgrade", "websocket"),
    ///     ("Connection", "Upgrade"),
    ///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ///     ("Sec-WebSocket-Version", "13"),
    /// ]
    /// .into_iter()
    /// .collect();
    /// let request = IncomingRequest::http11("GET", "/chat", headers).unwrap();
    /// assert_eq!(request.path(), "/chat");
    /// assert!(!request.is_extended_connect());
    /// ```
    pub fn http11(
        method: &str,
        target: impl Into<String>,
        headers: Headers,
    ) -> Result<IncomingRequest, HandshakeError> {
        // RFC 6455 4.1: "The method of the request MUST be GET".
        if method != "GET" {
            return Err(HandshakeError::MethodNotAllowed(method.to_owned()));
        }
        validate(target.into(), headers)
    }

    /// Checks an HTTP/2 extended CONNECT request (RFC 8441 4): `method`
    /// must be `CONNECT` and `protocol` (the `:protocol` pseudo-header)
    /// `websocket`; `authority` is `:authority` and `target` is `:path`.
    /// The handshake's headers are those of RFC 6455 but for the key,
    /// `Upgrade` and `Connection`, which HTTP/2 does not use (RFC 8441 5).
    ///
    /// ```
    /// use weft_proto::handshake::{Headers, IncomingRequest};
    ///
    /// let headers: Headers = [("Sec-WebSocket-Version", "13")].into_iter().collect();
    /// let request = IncomingRequest::extended_connect(
    ///     "CONNECT",
    ///     Some("websocket"),
    ///     "example.com",
    ///     "/chat",
    ///     headers,
    /// )
    /// .unwrap();
    /// assert_eq!(request.host(), "example.com");
    /// assert!(request.is_extended_connect());
    /// ```
    pub fn extended_connect(
        method: &str,
        protocol: Option<&str>,
        authority: &str,
        target: impl Into<String>,
        headers: Headers,
    ) -> Result<IncomingRequest, HandshakeError> {
        // RFC 8441 4: "The :method pseudo-header field is set to CONNECT" and
        // "A new pseudo-header field :protocol MAY be included on request
        // HEADERS indicating the desired protocol to be spoken on the tunnel".
        if method != "CONNECT" {
            return Err(HandshakeError::MethodNotAllowed(method.to_owned()));
        }
        match protocol {
            Some(p) if p.eq_ignore_ascii_case("websocket") => {}
            Some(_) => {
                return Err(HandshakeError::InvalidHeader {
                    name: ":protocol",
                    problem: "is not \"websocket\"",
                })
            }
            None => return Err(HandshakeError::MissingHeader(":protocol")),
        }
        // RFC 8441 4: "The :scheme and :path pseudo-header fields MUST be
        // included" and ":authority [...] conveys the host".
        if authority.is_empty() {
            return Err(HandshakeError::MissingHeader(":authority"));
        }
        let target = target.into();
        if target.is_empty() {
            return Err(HandshakeError::MissingHeader(":path"));
        }
        check_version(&headers)?;
        let (origin, subprotocols, extensions) = offers(&headers);
        Ok(IncomingRequest {
            target,
            host: authority.to_owned(),
            headers,
            origin,
            subprotocols,
            extensions,
            key: None,
        })
    }

    /// Whether the request is an HTTP/2 extended CONNECT (RFC 8441),
    /// answered with 200, rather than an HTTP/1.1 upgrade answered with 101.
    pub fn is_extended_connect(&self) -> bool {
        self.key.is_none()
    }

    /// The request target as sent: path and query, e.g. `/chat?room=1`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path part of the target, e.g. `/chat`. For a target in absolute
    /// form (`http://host/chat`, RFC 6455 4.2.1 allows it) the scheme and
    /// host are left out.
    pub fn path(&self) -> &str {
        let origin_form = origin_form(&self.target);
        origin_form.split('?').next().unwrap_or("")
    }

    /// The query part of the target, without the `?`.
    pub fn query(&self) -> Option<&str> {
        origin_form(&self.target).split_once('?').map(|(_, q)| q)
    }

    /// Every header field.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The `Host` header.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header, sent by browsers (RFC 6455 10.2).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The subprotocols offered, in the client's order of preference.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extension offers, each as sent (`name; param=value`).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The `Sec-WebSocket-Key`, as sent: the 101 response answers it.
    /// `None` for an extended CONNECT.
    pub(super) fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

/// The path-and-query of a target: itself in origin form (`/a?b`), what
/// follows the authority in absolute form (`http://host/a?b`).
fn origin_form(target: &str) -> &str {
    let Some((scheme, rest)) = target.split_once("://") else {
        return target;
    };
    if !["http", "https", "ws", "wss"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return target;
    }
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
        // `http://host?q` has an empty path, which means `/`.
        Some(i) => &rest[i..],
        None => "/",
    }
}

/// The checks of RFC 6455 4.2.1 on a parsed GET request. Each error
/// carries the status to answer with: "the server MUST stop processing the
/// client's handshake and return an HTTP response with an appropriate
/// error code (such as 400 Bad Request)".
pub(super) fn validate(
    target: String,
    headers: Headers,
) -> Result<IncomingRequest, HandshakeError> {
    // RFC 6455 4.2.1: "A |Host| header field containing the server's
    // authority."
    let host = match headers.single("Host")? {
        Some(host) if !host.is_empty() => String::from_utf8_lossy(host).into_owned(),
        _ => return Err(HandshakeError::MissingHeader("Host")),
    };
    // An upgrade request has no body (RFC 6455 4.1 sends none). Under HTTP
    // the bytes after a head with Transfer-Encoding or a non-zero
    // Content-Length are that body (RFC 9112 6.3): reading them as frames
    // would disagree with any proxy in front about where the request ends.
    if headers.get("transfer-encoding").is_some() {
        return Err(HandshakeError::RequestBody("Transfer-Encoding"));
    }
    for length in headers.get_all("content-length") {
        if length.iter().any(|&b| b != b'0') || length.is_empty() {
            return Err(HandshakeError::RequestBody("Content-Length"));
        }
    }
    // RFC 6455 4.2.1: "An |Upgrade| header field containing the value
    // "websocket", treated as an ASCII case-insensitive value."
    if headers.get("upgrade").is_none() {
        return Err(HandshakeError::MissingHeader("Upgrade"));
    }
    // RFC 6455 4.2.1: "A |Connection| header field that includes the token
    // "Upgrade", treated as an ASCII case-insensitive value."
    headers.check_upgrade()?;
    check_version(&headers)?;
    // RFC 6455 4.2.1: "A |Sec-WebSocket-Key| header field with a
    // base64-encoded (see Section 4 of [RFC4648]) value that, when decoded,
    // is 16 bytes in length." 11.3.1: "The |Sec-WebSocket-Key| header field
    // MUST NOT appear more than once in an HTTP request."
    let key = match headers.single("Sec-WebSocket-Key")? {
        None => return Err(HandshakeError::MissingHeader("Sec-WebSocket-Key")),
        Some(key) => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(key);
            if decoded.map(|k| k.len()) != Ok(16) {
                return Err(HandshakeError::InvalidHeader {
                    name: "Sec-WebSocket-Key",
                    problem: "is not the base64 encoding of 16 bytes",
                });
            }
            // Base64 is ASCII, so this is exact.
            String::from_utf8_lossy(key).into_owned()
        }
    };
    let (origin, subprotocols, extensions) = offers(&headers);
    Ok(IncomingRequest {
        target,
        headers,
        host,
        origin,
        subprotocols,
        extensions,
        key: Some(key),
    })
}

/// RFC 6455 4.2.1: "A |Sec-WebSocket-Version| header field, with a value
/// of 13." 11.3.5: "the |Sec-WebSocket-Version| header field MUST NOT
/// appear more than once in an HTTP request." RFC 8441 5 keeps it.
fn check_version(headers: &Headers) -> Result<(), HandshakeError> {
    match headers.single("Sec-WebSocket-Version")? {
        None => Err(HandshakeError::MissingHeader("Sec-WebSocket-Version")),
        Some(b"13") => Ok(()),
        Some(v) => Err(HandshakeError::UnsupportedVersion(
            String::from_utf8_lossy(v).into_owned(),
        )),
    }
}

/// What a request offers: its origin, subprotocols and extensions.
fn offers(headers: &Headers) -> (Option<String>, Vec<String>, Vec<String>) {
    let origin = headers
        .get("origin")
        .map(|o| String::from_utf8_lossy(o).into_owned());
    let subprotocols = headers
        .list("sec-websocket-protocol")
        .map(str::to_owned)
        .collect();
    let extensions = headers
        .list("sec-websocket-extensions")
        .map(str::to_owned)
        .collect();
    (origin, subprotocols, extensions)
}
