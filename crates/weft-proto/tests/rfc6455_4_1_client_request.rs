//! RFC 6455 4.1, the client's opening request: "The request MUST contain a
//! |Host| header field whose value contains /host/ plus optionally ":"
//! followed by /port/", then |Upgrade|, |Connection|, a |Sec-WebSocket-Key|
//! made from the 16-byte nonce and |Sec-WebSocket-Version| 13, each checked
//! byte for byte. Also what `ClientHandshake::new` refuses to write: header
//! injection, targets that are no resource name (section 3: fragment
//! identifiers "MUST NOT be used on these URIs"), and subprotocols that
//! break 4.1's rule that they "MUST be non-empty strings with characters
//! in the range U+0021 to U+007E not including separator characters ...
//! and MUST all be unique strings".

mod common;

use std::time::Instant;

use common::handshake::{client_with, plain_client, NONCE};
use weft_proto::handshake::{ClientHandshake, HandshakeError, OutgoingRequest, ServerHandshake};
use weft_proto::Config;

#[test]
fn client_request_bytes_are_exact_with_every_option() {
    let now = Instant::now();
    let request = OutgoingRequest::new("server.example.com:8080", "/chat?room=1")
        .origin("http://example.com")
        .subprotocol("chat")
        .subprotocol("superchat")
        .extension("permessage-deflate; client_max_window_bits")
        .header("Authorization", "Bearer t0ken");
    let handshake = client_with(request, Config::default(), now);
    let mut out = Vec::new();
    handshake.write_request(&mut out);
    let expected = "GET /chat?room=1 HTTP/1.1\r\n\
Host: server.example.com:8080\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Authorization: Bearer t0ken\r\n\
\r\n";
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn client_request_minimal_has_only_required_headers() {
    let now = Instant::now();
    let mut out = Vec::new();
    plain_client(now).write_request(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /chat HTTP/1.1\r\n\
Host: example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n"
    );
}

#[test]
fn client_key_is_base64_of_the_16_byte_nonce() {
    let now = Instant::now();
    let nonce = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    let handshake = ClientHandshake::new(
        OutgoingRequest::new("example.com", "/"),
        Config::default(),
        nonce,
        now,
    )
    .unwrap();
    let mut out = Vec::new();
    handshake.write_request(&mut out);
    let text = String::from_utf8(out).unwrap();
    // base64 of 00 01 02 .. 0f, computed by hand.
    assert!(
        text.contains("\r\nSec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw==\r\n"),
        "{text:?}"
    );
}

#[test]
fn client_request_is_accepted_by_the_server_handshake() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat?room=1")
        .origin("https://example.com")
        .subprotocol("chat")
        .subprotocol("superchat")
        .extension("permessage-deflate");
    let client = client_with(request, Config::default(), now);
    let mut wire = Vec::new();
    client.write_request(&mut wire);
    let mut server = ServerHandshake::new(Config::default(), now);
    let request = server.handle_data(&wire).unwrap().expect("complete");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1"));
    assert_eq!(request.host(), "example.com");
    assert_eq!(request.origin(), Some("https://example.com"));
    assert_eq!(request.subprotocols(), ["chat", "superchat"]);
    assert_eq!(request.extensions(), ["permessage-deflate"]);
}

#[test]
fn client_new_rejects_line_breaks_and_nul_in_header_values() {
    let now = Instant::now();
    for value in ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"] {
        let request = OutgoingRequest::new("example.com", "/").header("X-Custom", value);
        let result = ClientHandshake::new(request, Config::default(), NONCE, now);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "value {value:?}: {result:?}"
        );
    }
}

#[test]
fn client_new_rejects_header_names_that_are_not_tokens() {
    let now = Instant::now();
    for name in [
        "",
        "Bad Name",
        "X:Y",
        "X-A\r\nX-B",
        "Ünicode",
        "X(1)",
        "X\tY",
    ] {
        let request = OutgoingRequest::new("example.com", "/").header(name, "v");
        let result = ClientHandshake::new(request, Config::default(), NONCE, now);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "name {name:?}: {result:?}"
        );
    }
}

#[test]
fn client_new_rejects_injection_through_host_origin_subprotocol_and_extension() {
    let now = Instant::now();
    let requests = [
        OutgoingRequest::new("example.com\r\nX-Injected: 1", "/"),
        OutgoingRequest::new("", "/"),
        OutgoingRequest::new("example.com", "/").origin("http://a\r\nX-Injected: 1"),
        OutgoingRequest::new("example.com", "/").subprotocol("chat\r\nX-Injected: 1"),
        OutgoingRequest::new("example.com", "/").extension("deflate\nX-Injected: 1"),
    ];
    for request in requests {
        let shown = format!("{request:?}");
        let result = ClientHandshake::new(request, Config::default(), NONCE, now);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "{shown}: {result:?}"
        );
    }
}

#[test]
fn client_new_rejects_target_without_leading_slash_or_with_whitespace() {
    let now = Instant::now();
    for target in [
        "",
        "chat",
        "*",
        "?a=1",
        "/chat room",
        "/chat\r\nX-Injected: 1",
        "/chat\tx",
    ] {
        let request = OutgoingRequest::new("example.com", target);
        let result = ClientHandshake::new(request, Config::default(), NONCE, now);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "target {target:?}: {result:?}"
        );
    }
}

#[test]
fn client_new_accepts_ordinary_header_values() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/a/b?c=d&e=f")
        .header("X-Token_1.a~b", "value: with colon, comma\tand tab")
        .header("Cookie", "a=1; b=2");
    let handshake = client_with(request, Config::default(), now);
    let mut out = Vec::new();
    handshake.write_request(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("GET /a/b?c=d&e=f HTTP/1.1\r\n"),
        "{text:?}"
    );
    assert!(
        text.contains(
            "\r\nX-Token_1.a~b: value: with colon, comma\tand tab\r\nCookie: a=1; b=2\r\n\r\n"
        ),
        "{text:?}"
    );
}

/// RFC 6455 4.1, item 10: the subprotocol elements "MUST be non-empty
/// strings with characters in the range U+0021 to U+007E not including
/// separator characters as defined in [RFC2616]".
#[test]
fn client_new_rejects_subprotocols_that_are_not_tokens() {
    let now = Instant::now();
    for protocol in ["", "a,b", "chat v2", "a;b", "a/b", "ch\u{e9}t", "a\u{7f}"] {
        let request = OutgoingRequest::new("example.com", "/").subprotocol(protocol);
        let result = ClientHandshake::new(request, Config::default(), NONCE, now);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "subprotocol {protocol:?}: {result:?}"
        );
    }
}

/// RFC 6455 4.1, item 10: the subprotocol elements "MUST all be unique strings".
#[test]
fn client_new_rejects_duplicate_subprotocols() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/")
        .subprotocol("chat")
        .subprotocol("chat");
    let result = ClientHandshake::new(request, Config::default(), NONCE, now);
    assert!(
        matches!(result, Err(HandshakeError::InvalidInput(_))),
        "{result:?}"
    );
}

/// RFC 6455 3: "Fragment identifiers ... MUST NOT be used on these URIs";
/// "#" must be escaped as %23. An origin-form request target has no fragment.
#[test]
fn client_new_rejects_target_with_fragment() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat#section");
    let result = ClientHandshake::new(request, Config::default(), NONCE, now);
    assert!(
        matches!(result, Err(HandshakeError::InvalidInput(_))),
        "{result:?}"
    );
}
