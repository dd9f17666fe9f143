//! The client's side: write the request, check the response.

use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;

use super::{
    accept_key, check_header, extension_name, head_len, is_token, write_header, HandshakeError,
    HeadScan, Headers, Rejection, MAX_REJECTION_BODY,
};
use crate::config::Config;
use crate::connection::{Connection, MaskKeys};

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
    subprotocols: Vec<String>,
    extensions: Vec<String>,
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
}

/// The server's 101 response, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    headers: Headers,
    subprotocol: Option<String>,
    extensions: Vec<String>,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateParams>,
}

impl Acceptance {
    /// Every header field of the response.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol the server chose, one of those offered.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, each as sent.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The permessage-deflate parameters agreed, if the server accepted it.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::deflate::DeflateParams> {
        self.deflate.as_ref()
    }
}

/// Where the start of a rejection's body ends, so that what is kept does
/// not depend on how the response was split into reads.
#[derive(Debug, Clone, Copy)]
enum BodyEnd {
    /// No body (204, 304).
    None,
    /// This many bytes (the Content-Length, capped).
    Bytes(usize),
    /// A chunked body: up to its last chunk, capped.
    Chunked,
}

#[derive(Debug)]
enum Stage {
    Reading,
    /// A non-101 head arrived; reading the start of its body.
    ReadingRejection {
        response: Rejection,
        head_len: usize,
        want: BodyEnd,
    },
    Succeeded {
        head_len: usize,
        #[cfg(feature = "deflate")]
        deflate: Option<crate::deflate::DeflateParams>,
    },
    Done,
}

/// The client's opening handshake.
///
/// Write the request with [`write_request`](Self::write_request), feed the
/// server's bytes to [`handle_data`](Self::handle_data) until it returns the
/// [`Acceptance`], then make the [`Connection`] with
/// [`into_connection`](Self::into_connection), which keeps any bytes that
/// followed the response.
#[derive(Debug)]
pub struct ClientHandshake {
    config: Config,
    request: OutgoingRequest,
    key: String,
    buf: Vec<u8>,
    scan: HeadScan,
    /// Bytes of interim (1xx) responses skipped so far.
    interim_len: usize,
    deadline: Option<Instant>,
    stage: Stage,
}

impl ClientHandshake {
    /// A handshake for `request`, keyed with `nonce` (RFC 6455 4.1: 16 bytes
    /// "randomly selected"; the caller draws them, adapters from the OS).
    /// The handshake timeout counts from `now`.
    ///
    /// Fails with [`HandshakeError::InvalidInput`] if the request has a
    /// header that would break the head or a target not starting with `/`.
    pub fn new(
        request: OutgoingRequest,
        config: Config,
        nonce: [u8; 16],
        now: Instant,
    ) -> Result<Self, HandshakeError> {
        check_header("Host", &request.host)?;
        if request.host.is_empty() {
            return Err(HandshakeError::InvalidInput("empty host".into()));
        }
        // RFC 6455 3: a resource name, no fragment ('#' is sent as %23).
        let target = &request.target;
        if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == b'#' || b == 0x7f) {
            return Err(HandshakeError::InvalidInput(format!(
                "request target {target:?} must start with / and hold no spaces, control characters or fragment"
            )));
        }
        // RFC 6455 4.1 item 10: unique tokens.
        for (i, protocol) in request.subprotocols.iter().enumerate() {
            if !is_token(protocol) {
                return Err(HandshakeError::InvalidInput(format!(
                    "subprotocol {protocol:?} is not an HTTP token"
                )));
            }
            if request.subprotocols[..i].contains(protocol) {
                return Err(HandshakeError::InvalidInput(format!(
                    "subprotocol {protocol:?} is offered twice"
                )));
            }
        }
        if let Some(origin) = &request.origin {
            check_header("Origin", origin)?;
        }
        for value in &request.extensions {
            check_header("Sec-WebSocket-Extensions", value)?;
        }
        for (name, value) in &request.headers {
            check_header(name, value)?;
        }
        #[cfg(feature = "deflate")]
        let request = {
            let mut request = request;
            if let Some(deflate) = &config.deflate {
                request.extensions.insert(0, deflate.offer());
            }
            request
        };
        Ok(ClientHandshake {
            deadline: config.handshake_timeout.and_then(|t| now.checked_add(t)),
            config,
            request,
            key: base64::engine::general_purpose::STANDARD.encode(nonce),
            buf: Vec::new(),
            scan: HeadScan::default(),
            interim_len: 0,
            stage: Stage::Reading,
        })
    }

    /// Writes the request head (RFC 6455 4.1) to `out`.
    pub fn write_request(&self, out: &mut Vec<u8>) {
        let r = &self.request;
        out.extend_from_slice(format!("GET {} HTTP/1.1\r\n", r.target).as_bytes());
        write_header(out, "Host", &r.host);
        write_header(out, "Upgrade", "websocket");
        write_header(out, "Connection", "Upgrade");
        write_header(out, "Sec-WebSocket-Key", &self.key);
        write_header(out, "Sec-WebSocket-Version", "13");
        if let Some(origin) = &r.origin {
            write_header(out, "Origin", origin);
        }
        if !r.subprotocols.is_empty() {
            write_header(out, "Sec-WebSocket-Protocol", &r.subprotocols.join(", "));
        }
        if !r.extensions.is_empty() {
            write_header(out, "Sec-WebSocket-Extensions", &r.extensions.join(", "));
        }
        for (name, value) in &r.headers {
            write_header(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Bytes from the server, in any chunks. Returns the checked response
    /// once the head is complete; fails if the server refused (with its
    /// status, headers and the start of its body) or answered wrongly.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Option<Acceptance>, HandshakeError> {
        match &self.stage {
            Stage::Reading | Stage::ReadingRejection { .. } | Stage::Succeeded { .. } => {
                self.buf.extend_from_slice(data)
            }
            Stage::Done => return Ok(None),
        }
        let result = match &self.stage {
            Stage::Reading => self.parse(),
            Stage::ReadingRejection { .. } => self.check_rejection_body().map(|()| None),
            Stage::Succeeded { .. } | Stage::Done => Ok(None),
        };
        if result.is_err() {
            self.stage = Stage::Done;
        }
        result
    }

    /// The transport closed: the error to report. A rejection keeps the
    /// body that arrived.
    pub fn handle_eof(&mut self) -> HandshakeError {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::ReadingRejection {
                mut response,
                head_len,
                ..
            } => {
                let body = self.buf.get(head_len..).unwrap_or(&[]);
                response.body = Bytes::copy_from_slice(&body[..body.len().min(MAX_REJECTION_BODY)]);
                HandshakeError::Rejected(Box::new(response))
            }
            _ => HandshakeError::ConnectionClosed,
        }
    }

    /// When the handshake times out, while the response is awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.stage {
            Stage::Reading | Stage::ReadingRejection { .. } => self.deadline,
            _ => None,
        }
    }

    /// Fails with [`HandshakeError::TimedOut`] if the response is still
    /// incomplete at the deadline, or with the rejection and the body that
    /// arrived if a refusal's body is. Spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match self.poll_timeout() {
            Some(deadline) if now >= deadline => match self.stage {
                Stage::ReadingRejection { .. } => Err(self.handle_eof()),
                _ => {
                    self.stage = Stage::Done;
                    Err(HandshakeError::TimedOut)
                }
            },
            _ => Ok(()),
        }
    }

    /// The connection, once [`handle_data`](Self::handle_data) has returned
    /// the response, with the bytes that followed it already fed to it.
    pub fn into_connection(
        self,
        mask_keys: impl MaskKeys + 'static,
        now: Instant,
    ) -> Result<Connection, HandshakeError> {
        let Stage::Succeeded {
            head_len,
            #[cfg(feature = "deflate")]
            deflate,
        } = self.stage
        else {
            return Err(HandshakeError::NotReady);
        };
        let mut connection = Connection::client(self.config, mask_keys, now);
        #[cfg(feature = "deflate")]
        if let Some(params) = deflate {
            connection.enable_deflate(params);
        }
        let leftover = self.buf.get(head_len..).unwrap_or(&[]);
        if !leftover.is_empty() {
            connection.handle_data(now, leftover);
        }
        Ok(connection)
    }

    fn parse(&mut self) -> Result<Option<Acceptance>, HandshakeError> {
        let limit = self.config.max_handshake_size;
        loop {
            // Never look past the limit, counting interim heads already skipped.
            let room = limit.saturating_sub(self.interim_len);
            let Some(end) = self.scan.ready(&self.buf, room) else {
                return Ok(None);
            };
            let mut headers = vec![httparse::EMPTY_HEADER; self.config.max_headers];
            let mut resp = httparse::Response::new(&mut headers);
            let window = &self.buf[..end];
            let parsed = resp.parse(window);
            let Some(head_len) = head_len(parsed, end >= room, &self.config)? else {
                // Asks for more: look for the next prompt.
                continue;
            };
            let status = resp.code.unwrap_or(0);
            if (100..200).contains(&status) && status != 101 {
                // An interim response (100 Continue, 103 Early Hints): skip it
                // and read the final one (RFC 9110 15.2).
                self.interim_len += head_len;
                self.buf.drain(..head_len);
                self.scan = HeadScan::default();
                continue;
            }
            let reason = resp.reason.unwrap_or("").to_owned();
            let response_headers = Headers::from_httparse(resp.headers);
            if status != 101 {
                return self.start_rejection(status, reason, response_headers, head_len);
            }
            let response = self.check(response_headers)?;
            self.stage = Stage::Succeeded {
                head_len,
                #[cfg(feature = "deflate")]
                deflate: response.deflate,
            };
            return Ok(Some(response));
        }
    }

    /// RFC 6455 4.1: the checks a client makes of a 101 response.
    fn check(&self, headers: Headers) -> Result<Acceptance, HandshakeError> {
        if !headers.has_token("upgrade", "websocket") {
            return Err(HandshakeError::InvalidHeader {
                name: "Upgrade",
                problem: "does not contain \"websocket\"",
            });
        }
        if !headers.has_token("connection", "upgrade") {
            return Err(HandshakeError::InvalidHeader {
                name: "Connection",
                problem: "does not contain \"Upgrade\"",
            });
        }
        match headers.single("Sec-WebSocket-Accept")? {
            Some(accept) if accept == accept_key(self.key.as_bytes()).as_bytes() => {}
            Some(_) => return Err(HandshakeError::WrongAccept),
            None => return Err(HandshakeError::MissingHeader("Sec-WebSocket-Accept")),
        }
        let protocols: Vec<&str> = headers.list("sec-websocket-protocol").collect();
        if protocols.len() > 1 {
            return Err(HandshakeError::InvalidHeader {
                name: "Sec-WebSocket-Protocol",
                problem: "names more than one subprotocol",
            });
        }
        let subprotocol = protocols.first().map(|p| (*p).to_owned());
        if let Some(p) = &subprotocol {
            if !self.request.subprotocols.contains(p) {
                return Err(HandshakeError::UnexpectedSubprotocol(p.clone()));
            }
        }
        let mut extensions = Vec::new();
        #[cfg(feature = "deflate")]
        let mut deflate = None;
        for item in headers.list("sec-websocket-extensions") {
            let name = extension_name(item);
            let offered = self
                .request
                .extensions
                .iter()
                .any(|offer| extension_name(offer).eq_ignore_ascii_case(name));
            if !offered {
                return Err(HandshakeError::UnexpectedExtension(item.to_owned()));
            }
            #[cfg(feature = "deflate")]
            if name.eq_ignore_ascii_case(crate::deflate::EXTENSION) {
                // RFC 7692 5: at most one permessage-deflate in a response.
                if deflate.is_some() {
                    return Err(HandshakeError::InvalidExtension(
                        "permessage-deflate accepted twice".into(),
                    ));
                }
                // The offer must be the one Config::deflate made: a hand-made
                // one would leave the connection compressing with settings
                // it never agreed to.
                let Some(config) = &self.config.deflate else {
                    return Err(HandshakeError::InvalidExtension(
                        "permessage-deflate was offered by hand; enable it with Config::deflate"
                            .into(),
                    ));
                };
                deflate = Some(config.accept_response(item)?);
            }
            extensions.push(item.to_owned());
        }
        Ok(Acceptance {
            headers,
            subprotocol,
            extensions,
            #[cfg(feature = "deflate")]
            deflate,
        })
    }

    /// A refusal: keep reading until the start of its body is here.
    fn start_rejection(
        &mut self,
        status: u16,
        reason: String,
        headers: Headers,
        head_len: usize,
    ) -> Result<Option<Acceptance>, HandshakeError> {
        let chunked = headers.has_token("transfer-encoding", "chunked");
        let length = headers
            .get_str("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok());
        let want = match length {
            // No body, whatever follows (RFC 9110 15.3.5, 15.4.5).
            _ if matches!(status, 204 | 304) => BodyEnd::None,
            _ if chunked => BodyEnd::Chunked,
            Some(n) => BodyEnd::Bytes(n.min(MAX_REJECTION_BODY)),
            // Delimited by the end of the connection.
            None => BodyEnd::Bytes(MAX_REJECTION_BODY),
        };
        self.stage = Stage::ReadingRejection {
            response: Rejection {
                status,
                reason,
                headers,
                body: Bytes::new(),
            },
            head_len,
            want,
        };
        self.check_rejection_body().map(|()| None)
    }

    /// Fails with the rejection once the start of its body is here.
    fn check_rejection_body(&mut self) -> Result<(), HandshakeError> {
        let Stage::ReadingRejection { head_len, want, .. } = self.stage else {
            return Ok(());
        };
        let body = &self.buf[head_len..];
        let keep = match want {
            BodyEnd::None => 0,
            BodyEnd::Bytes(n) if body.len() >= n => n,
            BodyEnd::Bytes(_) => return Ok(()),
            BodyEnd::Chunked => {
                // The last chunk: "0" at a line start, then a blank line.
                let end = (body.starts_with(b"0\r\n\r\n")).then_some(5).or_else(|| {
                    body.windows(7)
                        .position(|w| w == b"\r\n0\r\n\r\n")
                        .map(|p| p + 7)
                });
                match end {
                    Some(end) => end.min(MAX_REJECTION_BODY),
                    None if body.len() >= MAX_REJECTION_BODY => MAX_REJECTION_BODY,
                    None => return Ok(()),
                }
            }
        };
        let Stage::ReadingRejection { mut response, .. } =
            std::mem::replace(&mut self.stage, Stage::Done)
        else {
            return Ok(());
        };
        response.body = Bytes::copy_from_slice(&self.buf[head_len..head_len + keep]);
        Err(HandshakeError::Rejected(Box::new(response)))
    }
}
