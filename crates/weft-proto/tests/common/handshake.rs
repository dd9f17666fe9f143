//! What the opening-handshake tests (RFC 6455 section 4) share: the RFC's
//! sample key and answers, request and response heads built by hand, and
//! checks of the error responses a server writes.

use std::time::Instant;

use weft_proto::handshake::{ClientHandshake, HandshakeError, OutgoingRequest, ServerHandshake};
use weft_proto::Config;

/// The nonce whose base64 is the RFC 6455 section 1.3 example key.
pub const NONCE: [u8; 16] = *b"the sample nonce";
/// The RFC 6455 section 1.3 example key, base64 of [`NONCE`].
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The RFC 6455 section 1.3 example accept value for [`KEY`].
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The server's correct 101 for [`KEY`].
pub const GOOD_101: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
\r\n";

/// A 302 whose five-byte body is complete.
pub const REDIRECT: &[u8] = b"HTTP/1.1 302 Found\r\n\
Location: https://example.com/elsewhere\r\n\
Content-Length: 5\r\n\
\r\n\
moved";

/// The RFC 6455 4.1 sample request, with a query and an extension offer.
pub const FULL_REQUEST: &[u8] = b"GET /chat?room=1&x=2 HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// A client handshake for `request` keyed with [`NONCE`].
pub fn client_with(request: OutgoingRequest, config: Config, now: Instant) -> ClientHandshake {
    ClientHandshake::new(request, config, NONCE, now).expect("valid request")
}

/// A plain client handshake for `/chat` on `example.com`.
pub fn plain_client(now: Instant) -> ClientHandshake {
    client_with(
        OutgoingRequest::new("example.com", "/chat"),
        Config::default(),
        now,
    )
}

/// A response head: status line, header lines, blank line.
pub fn response(status_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A 101 head with the correct accept for [`KEY`] plus `extra` header lines.
pub fn good_101_with(extra: &[&str]) -> Vec<u8> {
    let mut headers = vec![
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ];
    headers.extend_from_slice(extra);
    response("HTTP/1.1 101 Switching Protocols", &headers)
}

/// The header fields of a valid request, in order.
pub fn base_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
}

/// A request head from a request line and header fields.
pub fn request(request_line: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{request_line}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A valid `GET /chat` request with `name` removed (compared ignoring case).
pub fn request_without(name: &str) -> Vec<u8> {
    let headers: Vec<_> = base_headers()
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .collect();
    request("GET /chat HTTP/1.1", &headers)
}

/// A valid `GET /chat` request with the value of `name` replaced.
pub fn request_replacing(name: &str, value: &str) -> Vec<u8> {
    let headers: Vec<_> = base_headers()
        .into_iter()
        .map(|(n, v)| if n == name { (n, value) } else { (n, v) })
        .collect();
    request("GET /chat HTTP/1.1", &headers)
}

/// Feeds `bytes` whole to a fresh server handshake, expecting an error; then
/// feeds them one byte at a time to another, expecting the same error.
pub fn server_error(config: Config, now: Instant, bytes: &[u8]) -> HandshakeError {
    let mut whole = ServerHandshake::new(config.clone(), now);
    let error = whole
        .handle_data(bytes)
        .expect_err("the request must be refused");

    let mut bytewise = ServerHandshake::new(config, now);
    let mut bytewise_error = None;
    for (i, b) in bytes.iter().enumerate() {
        match bytewise.handle_data(std::slice::from_ref(b)) {
            Ok(None) => {}
            Ok(Some(request)) => panic!("byte {i}: accepted {request:?}"),
            Err(e) => {
                bytewise_error = Some(e);
                break;
            }
        }
    }
    assert_eq!(
        bytewise_error.as_ref(),
        Some(&error),
        "fed a byte at a time the error differs"
    );
    error
}

/// Checks the response `error.write_response` writes: the status line for
/// `status`, `Connection: close`, and a `Content-Length` equal to the body.
/// Returns the response as a string.
pub fn checked_error_response(error: &HandshakeError, status: u16) -> String {
    assert_eq!(error.status(), Some(status), "{error:?}");
    let mut out = Vec::new();
    assert!(error.write_response(&mut out), "{error:?} wrote nothing");
    let text = String::from_utf8(out).expect("an ASCII response");
    assert!(
        text.starts_with(&format!("HTTP/1.1 {status} ")),
        "status line of {text:?}"
    );
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    assert!(head.contains("\r\nConnection: close"), "{head:?}");
    let length = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .expect("a Content-Length header");
    assert_eq!(length.parse::<usize>().unwrap(), body.len(), "{text:?}");
    text
}

/// Whether `error` is an `InvalidHeader` about `name` (in any case: the
/// error names the header, and header names are case-insensitive).
pub fn is_invalid_header(error: &HandshakeError, name: &str) -> bool {
    matches!(error, HandshakeError::InvalidHeader { name: n, .. } if n.eq_ignore_ascii_case(name))
}

/// A server handshake holding a valid request, ready to accept or reject.
pub fn requested_server(now: Instant) -> ServerHandshake {
    let mut server = ServerHandshake::new(Config::default(), now);
    let wire = request("GET /chat HTTP/1.1", &base_headers());
    server
        .handle_data(&wire)
        .unwrap()
        .expect("request complete");
    server
}
