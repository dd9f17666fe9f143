//! The request a server receives: [`IncomingRequest`], the checks of
//! RFC 6455 4.2.1 that make one, and its target's path and query.

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
    key: String,
}

impl IncomingRequest {
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
    pub(super) fn key(&self) -> &str {
        &self.key
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
    // RFC 6455 4.2.1: "An |Upgrade| header field containing the value
    // "websocket", treated as an ASCII case-insensitive value."
    if headers.get("upgrade").is_none() {
        return Err(HandshakeError::MissingHeader("Upgrade"));
    }
    // RFC 6455 4.2.1: "A |Connection| header field that includes the token
    // "Upgrade", treated as an ASCII case-insensitive value."
    headers.check_upgrade()?;
    // RFC 6455 4.2.1: "A |Sec-WebSocket-Version| header field, with a value
    // of 13." 11.3.5: "the |Sec-WebSocket-Version| header field MUST NOT
    // appear more than once in an HTTP request."
    match headers.single("Sec-WebSocket-Version")? {
        None => return Err(HandshakeError::MissingHeader("Sec-WebSocket-Version")),
        Some(b"13") => {}
        Some(v) => {
            return Err(HandshakeError::UnsupportedVersion(
                String::from_utf8_lossy(v).into_owned(),
            ))
        }
    }
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
    Ok(IncomingRequest {
        target,
        headers,
        host,
        origin,
        subprotocols,
        extensions,
        key,
    })
}
