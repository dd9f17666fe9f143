//! The request a client sends: [`OutgoingRequest`], the checks that keep
//! it a valid RFC 6455 4.1 request, and its head on the wire.

use super::{check_header, is_token, write_header, HandshakeError};
use crate::logging;

/// What a client asks for: where, and with which options.
///
/// ```
/// use weft_proto::handshake::OutgoingRequest;
/// let request = OutgoingRequest::new("example.com", "/chat")
///     .origin("https://example.com")
///     .subprotocol("chat.v2")
///     .header("Authorization", "Bearer t0ken");
/// # let _ = request;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingRequest {
    host: String,
    target: String,
    origin: Option<String>,
    pub(super) subprotocols: Vec<String>,
    pub(super) extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl OutgoingRequest {
    /// A request for `target` (path and query, starting with `/`) on `host`
    /// (the `Host` header: a host name, with `:port` if not the default).
    pub fn new(host: impl Into<String>, target: impl Into<String>) -> Self {
        OutgoingRequest {
            host: host.into(),
            target: target.into(),
            origin: None,
            subprotocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Offers a subprotocol; call again to offer more, most preferred first.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Offers an extension, as it appears in `Sec-WebSocket-Extensions`
    /// (`name; param=value`).
    pub fn extension(mut self, offer: impl Into<String>) -> Self {
        self.extensions.push(offer.into());
        self
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Refuses what would make the head invalid or break it: an empty
    /// host, a target that is no resource name, a subprotocol that is no
    /// token or is repeated, a header with a line break.
    pub(super) fn check(&self) -> Result<(), HandshakeError> {
        // RFC 6455 4.1: "The request MUST contain a |Host| header field whose
        // value contains /host/ plus optionally ":" followed by /port/ (when
        // not using the default port)."
        check_header("Host", &self.host)?;
        if self.host.is_empty() {
            return Err(HandshakeError::InvalidInput("empty host".into()));
        }
        // RFC 6455 3: "Fragment identifiers are meaningless in the context
        // of WebSocket URIs and MUST NOT be used on these URIs. As with any
        // URI scheme, the character "#", when not indicating the start of a
        // fragment, MUST be escaped as %23."
        let target = &self.target;
        if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == b'#' || b == 0x7f) {
            return Err(HandshakeError::InvalidInput(format!(
                "request target {target:?} must start with / and hold no spaces, control characters or fragment"
            )));
        }
        // RFC 6455 4.1: "The elements that comprise this value MUST be
        // non-empty strings with characters in the range U+0021 to U+007E not
        // including separator characters as defined in [RFC2616] and MUST all
        // be unique strings."
        for (i, protocol) in self.subprotocols.iter().enumerate() {
            if !is_token(protocol) {
                return Err(HandshakeError::InvalidInput(format!(
                    "subprotocol {protocol:?} is not an HTTP token"
                )));
            }
            if self.subprotocols[..i].contains(protocol) {
                return Err(HandshakeError::InvalidInput(format!(
                    "subprotocol {protocol:?} is offered twice"
                )));
            }
        }
        if let Some(origin) = &self.origin {
            check_header("Origin", origin)?;
        }
        for value in &self.extensions {
            check_header("Sec-WebSocket-Extensions", value)?;
        }
        for (name, value) in &self.headers {
            check_header(name, value)?;
        }
        Ok(())
    }

    /// The host the request is for (`Host`, or HTTP/2's `:authority`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The request with the extensions `config` offers put first: its
    /// permessage-deflate offer, when it has one.
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut, unused_variables))]
    pub(super) fn offering(mut self, config: &crate::config::Config) -> OutgoingRequest {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            self.extensions.insert(0, deflate.offer());
        }
        self
    }

    /// Refuses what HTTP/2 forbids in a request (RFC 9113 8.2.2): the
    /// connection-specific fields (`Connection`, `Keep-Alive`,
    /// `Proxy-Connection`, `Transfer-Encoding`, `Upgrade`, `TE` other than
    /// `trailers`), and `Host`, which `:authority` replaces (8.3.1).
    pub(super) fn check_http2(&self) -> Result<(), HandshakeError> {
        const FORBIDDEN: &[&str] = &[
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
            "upgrade",
            "host",
        ];
        for (name, value) in &self.headers {
            let forbidden = FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name))
                || name.eq_ignore_ascii_case("te") && !value.eq_ignore_ascii_case("trailers");
            if forbidden {
                return Err(HandshakeError::InvalidInput(format!(
                    "header {name} is not allowed over HTTP/2 (RFC 9113 8.2.2)"
                )));
            }
        }
        Ok(())
    }

    /// The header fields of an HTTP/2 extended CONNECT for this request
    /// (RFC 8441 5): those of RFC 6455 4.1 but `Host`, `Upgrade`,
    /// `Connection` and the key, which HTTP/2 does not use. Names are
    /// lower case, as HTTP/2 requires (RFC 9113 8.2.1).
    pub(super) fn extended_connect_fields(&self) -> Vec<(String, String)> {
        let mut fields = vec![("sec-websocket-version".to_owned(), "13".to_owned())];
        if let Some(origin) = &self.origin {
            fields.push(("origin".to_owned(), origin.clone()));
        }
        if !self.subprotocols.is_empty() {
            fields.push((
                "sec-websocket-protocol".to_owned(),
                self.subprotocols.join(", "),
            ));
        }
        if !self.extensions.is_empty() {
            fields.push((
                "sec-websocket-extensions".to_owned(),
                self.extensions.join(", "),
            ));
        }
        for (name, value) in &self.headers {
            fields.push((name.to_ascii_lowercase(), value.clone()));
        }
        fields
    }

    /// Writes the request head (RFC 6455 4.1), keyed with `key`, to `out`.
    pub(super) fn write(&self, key: &str, out: &mut Vec<u8>) {
        logging::request_sent(
            &self.target,
            &self.host,
            &self.subprotocols,
            &self.extensions,
        );
        out.extend_from_slice(format!("GET {} HTTP/1.1\r\n", self.target).as_bytes());
        write_header(out, "Host", &self.host);
        write_header(out, "Upgrade", "websocket");
        write_header(out, "Connection", "Upgrade");
        write_header(out, "Sec-WebSocket-Key", key);
        write_header(out, "Sec-WebSocket-Version", "13");
        if let Some(origin) = &self.origin {
            write_header(out, "Origin", origin);
        }
        if !self.subprotocols.is_empty() {
            write_header(out, "Sec-WebSocket-Protocol", &self.subprotocols.join(", "));
        }
        if !self.extensions.is_empty() {
            write_header(out, "Sec-WebSocket-Extensions", &self.extensions.join(", "));
        }
        for (name, value) in &self.headers {
            write_header(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
    }
}
