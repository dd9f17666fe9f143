//! RFC 6455 section 4: the opening handshake, client and server.

mod common;

use std::time::{Duration, Instant};

use common::{client_frame, events, server_frame};
use weft_proto::handshake::{
    accept_key, Accept, ClientHandshake, HandshakeError, OutgoingRequest, Reject, ServerHandshake,
};
use weft_proto::{Config, Event};

/// The nonce whose base64 is the RFC 6455 section 1.3 example key.
const NONCE: [u8; 16] = *b"the sample nonce";
/// The RFC 6455 section 1.3 example key, base64 of [`NONCE`].
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The RFC 6455 section 1.3 example accept value for [`KEY`].
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The server's correct 101 for [`KEY`].
const GOOD_101: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
\r\n";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A client handshake for `request` keyed with [`NONCE`].
fn client_with(request: OutgoingRequest, config: Config, now: Instant) -> ClientHandshake {
    ClientHandshake::new(request, config, NONCE, now).expect("valid request")
}

/// A plain client handshake for `/chat` on `example.com`.
fn plain_client(now: Instant) -> ClientHandshake {
    client_with(
        OutgoingRequest::new("example.com", "/chat"),
        Config::default(),
        now,
    )
}

/// A response head: status line, header lines, blank line.
fn response(status_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A 101 head with the correct accept for [`KEY`] plus `extra` header lines.
fn good_101_with(extra: &[&str]) -> Vec<u8> {
    let mut headers = vec![
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ];
    headers.extend_from_slice(extra);
    response("HTTP/1.1 101 Switching Protocols", &headers)
}

/// The header fields of a valid request, in order.
fn base_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
}

/// A request head from a request line and header fields.
fn request(request_line: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{request_line}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A valid `GET /chat` request with `name` removed (compared ignoring case).
fn request_without(name: &str) -> Vec<u8> {
    let headers: Vec<_> = base_headers()
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .collect();
    request("GET /chat HTTP/1.1", &headers)
}

/// A valid `GET /chat` request with the value of `name` replaced.
fn request_replacing(name: &str, value: &str) -> Vec<u8> {
    let headers: Vec<_> = base_headers()
        .into_iter()
        .map(|(n, v)| if n == name { (n, value) } else { (n, v) })
        .collect();
    request("GET /chat HTTP/1.1", &headers)
}

/// Feeds `bytes` whole to a fresh server handshake, expecting an error; then
/// feeds them one byte at a time to another, expecting the same error.
fn server_error(config: Config, now: Instant, bytes: &[u8]) -> HandshakeError {
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
fn checked_error_response(error: &HandshakeError, status: u16) -> String {
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
fn is_invalid_header(error: &HandshakeError, name: &str) -> bool {
    matches!(error, HandshakeError::InvalidHeader { name: n, .. } if n.eq_ignore_ascii_case(name))
}

// ---------------------------------------------------------------------------
// The accept value (RFC 6455 1.3, 4.2.2)
// ---------------------------------------------------------------------------

#[test]
fn accept_key_matches_rfc_1_3_example() {
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
}

// ---------------------------------------------------------------------------
// Client: the request (RFC 6455 4.1)
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Client: checking the response (RFC 6455 4.1, 4.2.2)
// ---------------------------------------------------------------------------

#[test]
fn client_accepts_correct_101_fed_whole() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let response = handshake
        .handle_data(GOOD_101)
        .unwrap()
        .expect("the response is complete");
    assert_eq!(response.subprotocol(), None);
    assert!(response.extensions().is_empty());
    assert_eq!(
        response.headers().get_str("sec-websocket-accept"),
        Some(ACCEPT)
    );
    assert_eq!(response.headers().len(), 3);
}

#[test]
fn client_accepts_correct_101_in_every_two_way_split() {
    let now = Instant::now();
    let mut expected = None;
    for split in 0..=GOOD_101.len() {
        let mut handshake = plain_client(now);
        let (first, second) = GOOD_101.split_at(split);
        let r1 = handshake.handle_data(first);
        let r2 = handshake.handle_data(second);
        let response = if split < GOOD_101.len() {
            assert_eq!(r1, Ok(None), "split {split}: first part");
            r2.unwrap_or_else(|e| panic!("split {split}: {e}"))
                .unwrap_or_else(|| panic!("split {split}: incomplete"))
        } else {
            assert_eq!(r2, Ok(None), "split {split}: nothing after the response");
            r1.unwrap().expect("complete")
        };
        assert_eq!(
            response.headers().get_str("Sec-WebSocket-Accept"),
            Some(ACCEPT)
        );
        match &expected {
            None => expected = Some(response),
            Some(e) => assert_eq!(&response, e, "split {split}"),
        }
    }
}

#[test]
fn client_accepts_correct_101_fed_one_byte_at_a_time() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let last = GOOD_101.len() - 1;
    for (i, b) in GOOD_101.iter().enumerate() {
        let result = handshake.handle_data(std::slice::from_ref(b));
        if i < last {
            assert_eq!(result, Ok(None), "byte {i}");
        } else {
            let response = result.unwrap().expect("complete on the last byte");
            assert_eq!(response.headers().get_str("upgrade"), Some("websocket"));
        }
    }
    assert!(handshake.into_connection(|| [1, 2, 3, 4], now).is_ok());
}

#[test]
fn client_accepts_upgrade_and_connection_tokens_in_any_case_and_in_lists() {
    let now = Instant::now();
    let variants: [&[&str]; 5] = [
        &["Upgrade: WebSocket", "Connection: keep-alive, Upgrade"],
        &["upgrade: WEBSOCKET", "connection: UPGRADE"],
        &["Upgrade: websocket", "Connection: upgrade,keep-alive"],
        &["Upgrade: h2c, websocket", "Connection: Upgrade"],
        &[
            "Upgrade: websocket",
            "Connection: keep-alive",
            "Connection: Upgrade",
        ],
    ];
    for headers in variants {
        let mut all = headers.to_vec();
        all.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bytes = response("HTTP/1.1 101 Switching Protocols", &all);
        let mut handshake = plain_client(now);
        let result = handshake.handle_data(&bytes);
        assert!(matches!(result, Ok(Some(_))), "{headers:?}: {result:?}");
    }
}

#[test]
fn client_rejects_wrong_accept() {
    let now = Instant::now();
    for accept in [
        // The accept for a different key, x3JJHMbDL1EzLkh9GBhXDw==.
        "HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
        // Right value, wrong case: base64 is case-sensitive.
        "S3PPLMBITXAQ9KYGZZHZRBK+XOO=",
        // The key echoed back.
        KEY,
        "",
    ] {
        let bytes = response(
            "HTTP/1.1 101 Switching Protocols",
            &[
                "Upgrade: websocket",
                "Connection: Upgrade",
                &format!("Sec-WebSocket-Accept: {accept}"),
            ],
        );
        let mut handshake = plain_client(now);
        assert_eq!(
            handshake.handle_data(&bytes),
            Err(HandshakeError::WrongAccept),
            "accept {accept:?}"
        );
    }
}

#[test]
fn client_rejects_missing_accept() {
    let now = Instant::now();
    let bytes = response(
        "HTTP/1.1 101 Switching Protocols",
        &["Upgrade: websocket", "Connection: Upgrade"],
    );
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(&bytes),
        Err(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))
    );
}

#[test]
fn client_rejects_missing_or_wrong_upgrade() {
    let now = Instant::now();
    for upgrade in [None, Some("Upgrade: h2c"), Some("Upgrade: websocket2")] {
        let mut headers = vec![];
        headers.extend(upgrade);
        headers.push("Connection: Upgrade");
        headers.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bytes = response("HTTP/1.1 101 Switching Protocols", &headers);
        let mut handshake = plain_client(now);
        let result = handshake.handle_data(&bytes);
        assert!(
            matches!(
                result,
                Err(HandshakeError::InvalidHeader {
                    name: "Upgrade",
                    ..
                })
            ),
            "{upgrade:?}: {result:?}"
        );
    }
}

#[test]
fn client_rejects_missing_or_wrong_connection() {
    let now = Instant::now();
    for connection in [
        None,
        Some("Connection: keep-alive"),
        Some("Connection: close"),
    ] {
        let mut headers = vec!["Upgrade: websocket"];
        headers.extend(connection);
        headers.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bytes = response("HTTP/1.1 101 Switching Protocols", &headers);
        let mut handshake = plain_client(now);
        let result = handshake.handle_data(&bytes);
        assert!(
            matches!(
                result,
                Err(HandshakeError::InvalidHeader {
                    name: "Connection",
                    ..
                })
            ),
            "{connection:?}: {result:?}"
        );
    }
}

#[test]
fn client_returns_offered_subprotocol_chosen_by_server() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut handshake = client_with(request, Config::default(), now);
    let response = handshake
        .handle_data(&good_101_with(&["Sec-WebSocket-Protocol: superchat"]))
        .unwrap()
        .expect("complete");
    assert_eq!(response.subprotocol(), Some("superchat"));
}

#[test]
fn client_rejects_subprotocol_not_offered() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat").subprotocol("chat");
    let mut handshake = client_with(request, Config::default(), now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&["Sec-WebSocket-Protocol: mqtt"])),
        Err(HandshakeError::UnexpectedSubprotocol("mqtt".into()))
    );
}

#[test]
fn client_rejects_subprotocol_when_none_was_offered() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&["Sec-WebSocket-Protocol: chat"])),
        Err(HandshakeError::UnexpectedSubprotocol("chat".into()))
    );
}

#[test]
fn client_rejects_more_than_one_subprotocol_in_response() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut handshake = client_with(request, Config::default(), now);
    let result =
        handshake.handle_data(&good_101_with(&["Sec-WebSocket-Protocol: chat, superchat"]));
    assert!(
        matches!(
            result,
            Err(HandshakeError::InvalidHeader {
                name: "Sec-WebSocket-Protocol",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn client_returns_offered_extension_accepted_by_server() {
    let now = Instant::now();
    // An extension the core does not implement: the application handles it.
    let request = OutgoingRequest::new("example.com", "/chat").extension("x-custom; level=2");
    let mut handshake = client_with(request, Config::default(), now);
    let response = handshake
        .handle_data(&good_101_with(&[
            "Sec-WebSocket-Extensions: x-custom; level=1",
        ]))
        .unwrap()
        .expect("complete");
    assert_eq!(response.extensions(), ["x-custom; level=1"]);
}

#[test]
fn client_rejects_extension_not_offered() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat").extension("permessage-deflate");
    let mut handshake = client_with(request, Config::default(), now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&[
            "Sec-WebSocket-Extensions: x-webkit-deflate-frame"
        ])),
        Err(HandshakeError::UnexpectedExtension(
            "x-webkit-deflate-frame".into()
        ))
    );
}

#[test]
fn client_rejects_extension_when_none_was_offered() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&[
            "Sec-WebSocket-Extensions: permessage-deflate"
        ])),
        Err(HandshakeError::UnexpectedExtension(
            "permessage-deflate".into()
        ))
    );
}

#[test]
fn client_rejects_response_head_larger_than_limit() {
    let now = Instant::now();
    let config = Config::default().max_handshake_size(256);
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(
        handshake.handle_data(b"HTTP/1.1 101 Switching Protocols\r\nX-Filler: "),
        Ok(None)
    );
    let mut total = 45;
    loop {
        let result = handshake.handle_data(&[b'a'; 16]);
        total += 16;
        if total < 256 {
            assert_eq!(result, Ok(None), "at {total} bytes");
        } else {
            assert_eq!(result, Err(HandshakeError::TooLarge { limit: 256 }));
            break;
        }
    }
}

#[test]
fn client_eof_before_response_is_connection_closed() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(handshake.handle_data(b"HTTP/1.1 101 Switching"), Ok(None));
    assert_eq!(handshake.handle_eof(), HandshakeError::ConnectionClosed);
}

// ---------------------------------------------------------------------------
// Client: rejections (RFC 6455 4.1: "If the status code received from the
// server is not 101, the client handles the response per HTTP procedures")
// ---------------------------------------------------------------------------

const REDIRECT: &[u8] = b"HTTP/1.1 302 Found\r\n\
Location: https://example.com/elsewhere\r\n\
Content-Length: 5\r\n\
\r\n\
moved";

#[test]
fn client_reports_redirect_with_status_location_and_body() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let Err(HandshakeError::Rejected(response)) = handshake.handle_data(REDIRECT) else {
        panic!("a 302 must be a rejection");
    };
    assert_eq!(response.status, 302);
    assert_eq!(response.reason, "Found");
    assert_eq!(
        response.headers.get_str("location"),
        Some("https://example.com/elsewhere")
    );
    assert_eq!(&response.body[..], b"moved");
}

#[test]
fn client_redirect_error_comes_only_when_body_is_complete() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let head_len = REDIRECT.len() - 5;
    assert_eq!(handshake.handle_data(&REDIRECT[..head_len]), Ok(None));
    assert_eq!(handshake.handle_data(b"mov"), Ok(None));
    // The rejection is still awaited, so the timer still runs.
    assert!(handshake.poll_timeout().is_some());
    // Bytes past Content-Length are not part of the body.
    let Err(HandshakeError::Rejected(response)) = handshake.handle_data(b"edEXTRA") else {
        panic!("the body is complete");
    };
    assert_eq!(response.status, 302);
    assert_eq!(
        response.headers.get_str("Location"),
        Some("https://example.com/elsewhere")
    );
    assert_eq!(&response.body[..], b"moved");
}

#[test]
fn client_redirect_fed_one_byte_at_a_time_fails_on_last_body_byte() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let last = REDIRECT.len() - 1;
    for (i, b) in REDIRECT.iter().enumerate() {
        let result = handshake.handle_data(std::slice::from_ref(b));
        if i < last {
            assert_eq!(result, Ok(None), "byte {i}");
        } else {
            let Err(HandshakeError::Rejected(response)) = result else {
                panic!("last byte: {result:?}");
            };
            assert_eq!(response.status, 302);
            assert_eq!(&response.body[..], b"moved");
        }
    }
}

#[test]
fn client_rejection_without_content_length_reports_body_at_eof() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such"),
        Ok(None)
    );
    assert_eq!(handshake.handle_data(b" path"), Ok(None));
    let HandshakeError::Rejected(response) = handshake.handle_eof() else {
        panic!("EOF after a 404 head must report the rejection");
    };
    assert_eq!(response.status, 404);
    assert_eq!(response.reason, "Not Found");
    assert_eq!(response.headers.get_str("content-type"), Some("text/plain"));
    assert_eq!(&response.body[..], b"no such path");
}

#[test]
fn client_rejection_with_empty_body_fails_at_once() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let Err(HandshakeError::Rejected(response)) =
        handshake.handle_data(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
    else {
        panic!("a 401 with an empty body is complete");
    };
    assert_eq!(response.status, 401);
    assert!(response.body.is_empty());
}

#[test]
fn client_rejection_display_mentions_status_and_location() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let error = handshake.handle_data(REDIRECT).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("302"), "{text:?}");
    assert!(text.contains("https://example.com/elsewhere"), "{text:?}");
    assert_eq!(error.status(), None, "a client error is not answered");
}

// ---------------------------------------------------------------------------
// Client: into_connection
// ---------------------------------------------------------------------------

#[test]
fn client_carries_bytes_after_101_into_connection() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let mut wire = GOOD_101.to_vec();
    wire.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    assert!(handshake.handle_data(&wire).unwrap().is_some());
    let mut connection = handshake.into_connection(|| [0; 4], now).unwrap();
    assert_eq!(events(&mut connection), [Event::Text("hi".into())]);
}

#[test]
fn client_carries_bytes_fed_after_the_101_call_into_connection() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let frame = server_frame(0x81, b"hello");
    let mut wire = GOOD_101.to_vec();
    wire.extend_from_slice(&frame[..3]);
    assert!(handshake.handle_data(&wire).unwrap().is_some());
    assert_eq!(handshake.handle_data(&frame[3..]), Ok(None));
    let mut connection = handshake.into_connection(|| [0; 4], now).unwrap();
    assert_eq!(events(&mut connection), [Event::Text("hello".into())]);
}

#[test]
fn client_connection_without_leftover_has_no_events() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert!(handshake.handle_data(GOOD_101).unwrap().is_some());
    let mut connection = handshake.into_connection(|| [0; 4], now).unwrap();
    assert_eq!(events(&mut connection), []);
}

#[test]
fn client_into_connection_before_success_is_not_ready() {
    let now = Instant::now();
    let fresh = plain_client(now);
    assert_eq!(
        fresh.into_connection(|| [0; 4], now).unwrap_err(),
        HandshakeError::NotReady
    );

    let mut partial = plain_client(now);
    assert_eq!(partial.handle_data(&GOOD_101[..20]), Ok(None));
    assert_eq!(
        partial.into_connection(|| [0; 4], now).unwrap_err(),
        HandshakeError::NotReady
    );

    let mut rejected = plain_client(now);
    assert!(rejected.handle_data(REDIRECT).is_err());
    assert_eq!(
        rejected.into_connection(|| [0; 4], now).unwrap_err(),
        HandshakeError::NotReady
    );

    let mut wrong = plain_client(now);
    assert!(wrong
        .handle_data(&response(
            "HTTP/1.1 101 Switching Protocols",
            &[
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk="
            ]
        ))
        .is_err());
    assert_eq!(
        wrong.into_connection(|| [0; 4], now).unwrap_err(),
        HandshakeError::NotReady
    );
}

// ---------------------------------------------------------------------------
// Server: reading the request (RFC 6455 4.2.1)
// ---------------------------------------------------------------------------

/// The RFC 6455 4.1 sample request, with a query and an extension offer.
const FULL_REQUEST: &[u8] = b"GET /chat?room=1&x=2 HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

#[test]
fn server_parses_valid_request_fed_whole() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let request = handshake
        .handle_data(FULL_REQUEST)
        .unwrap()
        .expect("complete");
    assert_eq!(request.target(), "/chat?room=1&x=2");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1&x=2"));
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.subprotocols(), ["chat", "superchat"]);
    assert_eq!(
        request.extensions(),
        ["permessage-deflate; client_max_window_bits", "x-foo"]
    );
    let headers = request.headers();
    assert_eq!(headers.len(), 8);
    assert_eq!(headers.get("SEC-WEBSOCKET-KEY"), Some(KEY.as_bytes()));
    assert_eq!(headers.get_str("sec-websocket-version"), Some("13"));
    let names: Vec<&str> = headers.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Host",
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Key",
            "Origin",
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Extensions",
            "Sec-WebSocket-Version",
        ]
    );
}

#[test]
fn server_parses_valid_request_fed_one_byte_at_a_time() {
    let now = Instant::now();
    let mut whole = ServerHandshake::new(Config::default(), now);
    let expected = whole.handle_data(FULL_REQUEST).unwrap().unwrap();

    let mut handshake = ServerHandshake::new(Config::default(), now);
    let last = FULL_REQUEST.len() - 1;
    for (i, b) in FULL_REQUEST.iter().enumerate() {
        let result = handshake.handle_data(std::slice::from_ref(b));
        if i < last {
            assert_eq!(result, Ok(None), "byte {i}");
        } else {
            assert_eq!(result, Ok(Some(expected.clone())), "last byte");
        }
    }
}

#[test]
fn server_parses_valid_request_in_every_two_way_split() {
    let now = Instant::now();
    let mut whole = ServerHandshake::new(Config::default(), now);
    let expected = whole.handle_data(FULL_REQUEST).unwrap().unwrap();
    for split in 0..FULL_REQUEST.len() {
        let mut handshake = ServerHandshake::new(Config::default(), now);
        let (first, second) = FULL_REQUEST.split_at(split);
        assert_eq!(handshake.handle_data(first), Ok(None), "split {split}");
        assert_eq!(
            handshake.handle_data(second),
            Ok(Some(expected.clone())),
            "split {split}"
        );
    }
}

#[test]
fn server_request_without_query_origin_or_offers() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let request = handshake
        .handle_data(&request("GET /chat HTTP/1.1", &base_headers()))
        .unwrap()
        .expect("complete");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), None);
    assert_eq!(request.origin(), None);
    assert!(request.subprotocols().is_empty());
    assert!(request.extensions().is_empty());
}

#[test]
fn server_accepts_upgrade_and_connection_tokens_in_any_case_and_in_lists() {
    let now = Instant::now();
    let bytes = request(
        "GET /chat HTTP/1.1",
        &[
            ("host", "example.com"),
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, UPGRADE"),
            ("sec-websocket-key", KEY),
            ("sec-websocket-version", "13"),
        ],
    );
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let request = handshake.handle_data(&bytes).unwrap().expect("complete");
    assert_eq!(request.host(), "example.com");
}

#[test]
fn server_collects_subprotocols_from_repeated_headers() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("Sec-WebSocket-Protocol", "chat"));
    headers.push(("Sec-WebSocket-Protocol", "superchat, , v2"));
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let request = handshake
        .handle_data(&request("GET /chat HTTP/1.1", &headers))
        .unwrap()
        .expect("complete");
    assert_eq!(request.subprotocols(), ["chat", "superchat", "v2"]);
}

// ---------------------------------------------------------------------------
// Server: answering (RFC 6455 4.2.2)
// ---------------------------------------------------------------------------

#[test]
fn server_accept_writes_exact_101() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    let mut out = Vec::new();
    handshake.accept(Accept::new(), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
\r\n"
    );
}

#[test]
fn server_accept_writes_exact_101_with_subprotocol_and_header() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    let mut out = Vec::new();
    handshake
        .accept(
            Accept::new()
                .subprotocol("superchat")
                .header("Set-Cookie", "session=abc; HttpOnly"),
            &mut out,
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: superchat\r\n\
Set-Cookie: session=abc; HttpOnly\r\n\
\r\n"
    );
}

#[test]
fn server_accept_response_satisfies_the_client() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut client = client_with(request, Config::default(), now);
    let mut wire = Vec::new();
    client.write_request(&mut wire);
    let mut server = ServerHandshake::new(Config::default(), now);
    server.handle_data(&wire).unwrap().unwrap();
    let mut out = Vec::new();
    server
        .accept(Accept::new().subprotocol("chat"), &mut out)
        .unwrap();
    let response = client.handle_data(&out).unwrap().expect("complete");
    assert_eq!(response.subprotocol(), Some("chat"));
}

#[test]
fn server_accept_of_subprotocol_not_offered_is_invalid_input() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    let mut out = Vec::new();
    let result = handshake.accept(Accept::new().subprotocol("mqtt"), &mut out);
    assert!(
        matches!(result, Err(HandshakeError::InvalidInput(_))),
        "{result:?}"
    );
    assert!(out.is_empty(), "nothing is written on failure: {out:?}");
}

#[test]
fn server_accept_with_subprotocol_when_none_offered_is_invalid_input() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    handshake
        .handle_data(&request("GET /chat HTTP/1.1", &base_headers()))
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    let result = handshake.accept(Accept::new().subprotocol("chat"), &mut out);
    assert!(
        matches!(result, Err(HandshakeError::InvalidInput(_))),
        "{result:?}"
    );
    assert!(out.is_empty());
}

#[test]
fn server_accept_rejects_header_injection() {
    let now = Instant::now();
    for (name, value) in [
        ("Set-Cookie", "a=1\r\nX-Injected: 1"),
        ("Bad Name", "v"),
        ("", "v"),
    ] {
        let mut handshake = ServerHandshake::new(Config::default(), now);
        handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
        let mut out = Vec::new();
        let result = handshake.accept(Accept::new().header(name, value), &mut out);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "{name:?}: {value:?}: {result:?}"
        );
        assert!(out.is_empty());
    }
}

#[test]
fn server_accept_before_request_is_not_ready() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let mut out = Vec::new();
    assert_eq!(
        handshake.accept(Accept::new(), &mut out),
        Err(HandshakeError::NotReady)
    );
    assert_eq!(handshake.handle_data(&FULL_REQUEST[..30]), Ok(None));
    assert_eq!(
        handshake.accept(Accept::new(), &mut out),
        Err(HandshakeError::NotReady)
    );
    assert!(out.is_empty());
}

#[test]
fn server_reject_writes_exact_response() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    let mut out = Vec::new();
    handshake
        .reject(
            Reject::new(403)
                .header("X-Reason", "origin not allowed")
                .body("forbidden"),
            &mut out,
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 403 Forbidden\r\n\
X-Reason: origin not allowed\r\n\
Connection: close\r\n\
Content-Length: 9\r\n\
\r\n\
forbidden"
    );
    assert_eq!(
        handshake.into_connection(now).unwrap_err(),
        HandshakeError::NotReady
    );
}

#[test]
fn server_reject_response_reaches_client_as_rejected() {
    let now = Instant::now();
    let mut client = plain_client(now);
    let mut wire = Vec::new();
    client.write_request(&mut wire);
    let mut server = ServerHandshake::new(Config::default(), now);
    server.handle_data(&wire).unwrap().unwrap();
    let mut out = Vec::new();
    server
        .reject(
            Reject::new(401)
                .header("WWW-Authenticate", "Bearer")
                .body("log in"),
            &mut out,
        )
        .unwrap();
    let Err(HandshakeError::Rejected(response)) = client.handle_data(&out) else {
        panic!("the client must see the rejection");
    };
    assert_eq!(response.status, 401);
    assert_eq!(response.reason, "Unauthorized");
    assert_eq!(response.headers.get_str("www-authenticate"), Some("Bearer"));
    assert_eq!(&response.body[..], b"log in");
}

#[test]
fn server_reject_refuses_informational_and_invalid_statuses() {
    let now = Instant::now();
    for status in [0, 100, 101, 199, 600] {
        let mut handshake = ServerHandshake::new(Config::default(), now);
        handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
        let mut out = Vec::new();
        let result = handshake.reject(Reject::new(status), &mut out);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "{status}: {result:?}"
        );
        assert!(out.is_empty());
    }
}

#[test]
fn server_reject_refuses_header_injection() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    let mut out = Vec::new();
    let result = handshake.reject(
        Reject::new(403).header("X-Reason", "a\r\n\r\n<html>"),
        &mut out,
    );
    assert!(
        matches!(result, Err(HandshakeError::InvalidInput(_))),
        "{result:?}"
    );
    assert!(out.is_empty());
}

// ---------------------------------------------------------------------------
// Server: errors in the request, each with its status
// ---------------------------------------------------------------------------

#[test]
fn server_refuses_post_with_405_and_allow_get() {
    let now = Instant::now();
    let bytes = request("POST /chat HTTP/1.1", &base_headers());
    let error = server_error(Config::default(), now, &bytes);
    assert_eq!(error, HandshakeError::MethodNotAllowed("POST".into()));
    let text = checked_error_response(&error, 405);
    assert!(
        text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{text:?}"
    );
    assert!(text.contains("\r\nAllow: GET\r\n"), "{text:?}");
}

#[test]
fn server_refuses_http_1_0_with_505() {
    let now = Instant::now();
    let bytes = request("GET /chat HTTP/1.0", &base_headers());
    let error = server_error(Config::default(), now, &bytes);
    assert_eq!(error, HandshakeError::HttpVersion);
    let text = checked_error_response(&error, 505);
    assert!(text.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n"));
}

#[test]
fn server_refuses_missing_host_with_400() {
    let now = Instant::now();
    let error = server_error(Config::default(), now, &request_without("Host"));
    assert_eq!(error, HandshakeError::MissingHeader("Host"));
    checked_error_response(&error, 400);
}

#[test]
fn server_refuses_empty_or_duplicate_host_with_400() {
    let now = Instant::now();
    let empty = server_error(Config::default(), now, &request_replacing("Host", ""));
    assert_eq!(empty.status(), Some(400), "{empty:?}");

    let mut headers = base_headers();
    headers.push(("Host", "evil.example.com"));
    let duplicate = server_error(
        Config::default(),
        now,
        &request("GET /chat HTTP/1.1", &headers),
    );
    assert!(is_invalid_header(&duplicate, "Host"), "{duplicate:?}");
    assert_eq!(duplicate.status(), Some(400));
}

#[test]
fn server_refuses_missing_upgrade_with_400() {
    let now = Instant::now();
    let error = server_error(Config::default(), now, &request_without("Upgrade"));
    assert_eq!(error, HandshakeError::MissingHeader("Upgrade"));
    checked_error_response(&error, 400);
}

#[test]
fn server_refuses_upgrade_other_than_websocket_with_400() {
    let now = Instant::now();
    for value in ["h2c", "websocket2", "web socket", ""] {
        let error = server_error(Config::default(), now, &request_replacing("Upgrade", value));
        assert_eq!(error.status(), Some(400), "{value:?}: {error:?}");
        assert!(
            matches!(
                error,
                HandshakeError::InvalidHeader {
                    name: "Upgrade",
                    ..
                }
            ),
            "{value:?}: {error:?}"
        );
        checked_error_response(&error, 400);
    }
}

#[test]
fn server_refuses_connection_without_upgrade_with_400() {
    let now = Instant::now();
    for bytes in [
        request_replacing("Connection", "keep-alive"),
        request_replacing("Connection", "close, upgraded"),
        request_without("Connection"),
    ] {
        let error = server_error(Config::default(), now, &bytes);
        assert!(
            matches!(
                error,
                HandshakeError::InvalidHeader {
                    name: "Connection",
                    ..
                }
            ),
            "{error:?}"
        );
        checked_error_response(&error, 400);
    }
}

#[test]
fn server_refuses_version_8_with_426_naming_version_13() {
    let now = Instant::now();
    let error = server_error(
        Config::default(),
        now,
        &request_replacing("Sec-WebSocket-Version", "8"),
    );
    assert_eq!(error, HandshakeError::UnsupportedVersion("8".into()));
    let text = checked_error_response(&error, 426);
    assert!(
        text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{text:?}"
    );
    assert!(
        text.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{text:?}"
    );
}

#[test]
fn server_refuses_missing_version_with_400() {
    let now = Instant::now();
    let error = server_error(
        Config::default(),
        now,
        &request_without("Sec-WebSocket-Version"),
    );
    assert_eq!(
        error,
        HandshakeError::MissingHeader("Sec-WebSocket-Version")
    );
    checked_error_response(&error, 400);
}

#[test]
fn server_refuses_missing_key_with_400() {
    let now = Instant::now();
    let error = server_error(
        Config::default(),
        now,
        &request_without("Sec-WebSocket-Key"),
    );
    assert_eq!(error, HandshakeError::MissingHeader("Sec-WebSocket-Key"));
    checked_error_response(&error, 400);
}

#[test]
fn server_refuses_key_that_is_not_base64_of_16_bytes_with_400() {
    let now = Instant::now();
    for key in [
        // 15 bytes.
        "AAECAwQFBgcICQoLDA0O",
        // 17 bytes.
        "AAECAwQFBgcICQoLDA0ODxA=",
        // Not base64.
        "not a base64 key!!!!!!==",
        // Unpadded.
        "dGhlIHNhbXBsZSBub25jZQ",
        "",
    ] {
        let error = server_error(
            Config::default(),
            now,
            &request_replacing("Sec-WebSocket-Key", key),
        );
        assert!(
            matches!(
                error,
                HandshakeError::InvalidHeader {
                    name: "Sec-WebSocket-Key",
                    ..
                }
            ),
            "{key:?}: {error:?}"
        );
        checked_error_response(&error, 400);
    }
}

#[test]
fn server_refuses_duplicate_key_with_400() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("Sec-WebSocket-Key", "AAECAwQFBgcICQoLDA0ODw=="));
    let error = server_error(
        Config::default(),
        now,
        &request("GET /chat HTTP/1.1", &headers),
    );
    assert!(is_invalid_header(&error, "Sec-WebSocket-Key"), "{error:?}");
    checked_error_response(&error, 400);
}

#[test]
fn server_accepts_head_of_exactly_max_handshake_size() {
    let now = Instant::now();
    let bytes = request("GET /chat HTTP/1.1", &base_headers());
    let config = Config::default().max_handshake_size(bytes.len());
    let mut handshake = ServerHandshake::new(config, now);
    assert!(matches!(handshake.handle_data(&bytes), Ok(Some(_))));
}

#[test]
fn server_refuses_head_one_byte_over_max_handshake_size_with_431() {
    let now = Instant::now();
    let bytes = request("GET /chat HTTP/1.1", &base_headers());
    let limit = bytes.len() - 1;
    let error = server_error(Config::default().max_handshake_size(limit), now, &bytes);
    assert_eq!(error, HandshakeError::TooLarge { limit });
    let text = checked_error_response(&error, 431);
    assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

#[test]
fn server_detects_oversized_head_that_never_ends() {
    let now = Instant::now();
    // Default limit: 16 KiB. One header line that never ends.
    let limit = 16 << 10;
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let start = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nX-Filler: ";
    assert_eq!(handshake.handle_data(start), Ok(None));
    let mut total = start.len();
    let chunk = [b'a'; 1000];
    loop {
        let result = handshake.handle_data(&chunk);
        total += chunk.len();
        if total < limit {
            assert_eq!(result, Ok(None), "at {total} bytes");
        } else {
            assert_eq!(result, Err(HandshakeError::TooLarge { limit }));
            assert_eq!(result.unwrap_err().status(), Some(431));
            break;
        }
    }
}

#[test]
fn server_detects_oversized_head_of_endless_header_lines() {
    let now = Instant::now();
    let limit = 1024;
    let config = Config::default()
        .max_handshake_size(limit)
        .max_headers(1000);
    let mut handshake = ServerHandshake::new(config, now);
    let start = b"GET /chat HTTP/1.1\r\n";
    assert_eq!(handshake.handle_data(start), Ok(None));
    let mut total = start.len();
    for i in 0.. {
        let line = format!("X-Filler-{i:04}: abcdefghij\r\n");
        let result = handshake.handle_data(line.as_bytes());
        total += line.len();
        if total < limit {
            assert_eq!(result, Ok(None), "at {total} bytes");
        } else {
            assert_eq!(result, Err(HandshakeError::TooLarge { limit }));
            break;
        }
    }
}

#[test]
fn server_accepts_exactly_max_headers() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("X-A", "1"));
    headers.push(("X-B", "2"));
    let config = Config::default().max_headers(headers.len());
    let mut handshake = ServerHandshake::new(config, now);
    let request = handshake
        .handle_data(&request("GET /chat HTTP/1.1", &headers))
        .unwrap()
        .expect("complete");
    assert_eq!(request.headers().len(), 7);
}

#[test]
fn server_refuses_more_than_max_headers_with_431() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("X-A", "1"));
    headers.push(("X-B", "2"));
    headers.push(("X-C", "3"));
    let error = server_error(
        Config::default().max_headers(7),
        now,
        &request("GET /chat HTTP/1.1", &headers),
    );
    assert_eq!(error, HandshakeError::TooManyHeaders { limit: 7 });
    checked_error_response(&error, 431);
}

#[test]
fn server_refuses_more_than_default_64_headers_with_431() {
    let now = Instant::now();
    let mut headers: Vec<(String, String)> = base_headers()
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    for i in 0..60 {
        headers.push((format!("X-{i}"), "v".to_owned()));
    }
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let error = server_error(
        Config::default(),
        now,
        &request("GET /chat HTTP/1.1", &refs),
    );
    assert_eq!(error, HandshakeError::TooManyHeaders { limit: 64 });
    assert_eq!(error.status(), Some(431));
}

#[test]
fn server_refuses_garbage_with_400() {
    let now = Instant::now();
    let garbage: [&[u8]; 4] = [
        // A TLS ClientHello on the plain port.
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"hello\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost example.com\r\n\r\n",
        b"GET /chat HTTP/9.9\r\n\r\n",
    ];
    for bytes in garbage {
        let error = server_error(Config::default(), now, bytes);
        assert!(
            matches!(error, HandshakeError::Malformed(_)),
            "{bytes:?}: {error:?}"
        );
        checked_error_response(&error, 400);
    }
}

#[test]
fn server_ignores_data_after_an_error() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let error = handshake
        .handle_data(&request("POST /chat HTTP/1.1", &base_headers()))
        .unwrap_err();
    assert_eq!(error.status(), Some(405));
    assert_eq!(handshake.handle_data(FULL_REQUEST), Ok(None));
    assert_eq!(
        handshake.into_connection(now).unwrap_err(),
        HandshakeError::NotReady
    );
}

#[test]
fn client_side_errors_have_no_status_and_write_nothing() {
    for error in [
        HandshakeError::WrongAccept,
        HandshakeError::UnexpectedSubprotocol("x".into()),
        HandshakeError::UnexpectedExtension("x".into()),
        HandshakeError::ConnectionClosed,
        HandshakeError::InvalidInput("x".into()),
        HandshakeError::NotReady,
    ] {
        assert_eq!(error.status(), None, "{error:?}");
        let mut out = Vec::new();
        assert!(!error.write_response(&mut out), "{error:?}");
        assert!(out.is_empty(), "{error:?}");
    }
}

// ---------------------------------------------------------------------------
// Server: into_connection
// ---------------------------------------------------------------------------

#[test]
fn server_carries_frame_after_request_into_connection() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let mut wire = FULL_REQUEST.to_vec();
    wire.extend_from_slice(&client_frame(0x81, b"hello"));
    handshake.handle_data(&wire).unwrap().expect("complete");
    let mut out = Vec::new();
    handshake.accept(Accept::new(), &mut out).unwrap();
    let mut connection = handshake.into_connection(now).unwrap();
    assert_eq!(events(&mut connection), [Event::Text("hello".into())]);
}

#[test]
fn server_carries_frame_split_across_request_and_later_calls() {
    let now = Instant::now();
    let frame = client_frame(0x81, b"hello");
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let mut wire = FULL_REQUEST.to_vec();
    wire.extend_from_slice(&frame[..3]);
    handshake.handle_data(&wire).unwrap().expect("complete");
    // Before the application decides.
    assert_eq!(handshake.handle_data(&frame[3..7]), Ok(None));
    let mut out = Vec::new();
    handshake.accept(Accept::new(), &mut out).unwrap();
    // After accepting, before making the connection.
    assert_eq!(handshake.handle_data(&frame[7..]), Ok(None));
    let mut connection = handshake.into_connection(now).unwrap();
    assert_eq!(events(&mut connection), [Event::Text("hello".into())]);
}

#[test]
fn server_into_connection_before_accept_is_not_ready() {
    let now = Instant::now();
    let fresh = ServerHandshake::new(Config::default(), now);
    assert_eq!(
        fresh.into_connection(now).unwrap_err(),
        HandshakeError::NotReady
    );
    let mut requested = ServerHandshake::new(Config::default(), now);
    requested.handle_data(FULL_REQUEST).unwrap().unwrap();
    assert_eq!(
        requested.into_connection(now).unwrap_err(),
        HandshakeError::NotReady
    );
}

#[test]
fn handshakes_connect_a_client_and_server_that_exchange_messages() {
    let now = Instant::now();
    let mut client = plain_client(now);
    let mut server = ServerHandshake::new(Config::default(), now);
    let mut wire = Vec::new();
    client.write_request(&mut wire);
    server.handle_data(&wire).unwrap().unwrap();
    let mut response = Vec::new();
    server.accept(Accept::new(), &mut response).unwrap();
    client.handle_data(&response).unwrap().unwrap();
    let mut client = client.into_connection(|| [9, 8, 7, 6], now).unwrap();
    let mut server = server.into_connection(now).unwrap();

    client.send_text("ping?").unwrap();
    let to_server = common::sent(&mut client);
    // A client's frames are masked with the key it was given (RFC 6455 5.3).
    assert_eq!(&to_server[..6], [0x81, 0x85, 9, 8, 7, 6]);
    assert_eq!(
        common::feed(&mut server, now, &to_server),
        [Event::Text("ping?".into())]
    );

    server.send_text("pong!").unwrap();
    let to_client = common::sent(&mut server);
    assert_eq!(to_client, server_frame(0x81, b"pong!"));
    assert_eq!(
        common::feed(&mut client, now, &to_client),
        [Event::Text("pong!".into())]
    );
}

// ---------------------------------------------------------------------------
// Handshake timeout
// ---------------------------------------------------------------------------

#[test]
fn server_poll_timeout_is_creation_plus_handshake_timeout() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
    // Partial data does not move the deadline.
    assert_eq!(handshake.handle_data(&FULL_REQUEST[..40]), Ok(None));
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
}

#[test]
fn server_default_handshake_timeout_is_10_seconds() {
    let now = Instant::now();
    let handshake = ServerHandshake::new(Config::default(), now);
    assert_eq!(
        handshake.poll_timeout(),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn server_handle_timeout_before_deadline_is_ok() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(handshake.handle_timeout(now), Ok(()));
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(5) - Duration::from_nanos(1)),
        Ok(())
    );
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
    // Still reads the request.
    assert!(matches!(handshake.handle_data(FULL_REQUEST), Ok(Some(_))));
}

#[test]
fn server_handle_timeout_at_deadline_times_out_with_408() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(handshake.handle_data(&FULL_REQUEST[..40]), Ok(None));
    let error = handshake
        .handle_timeout(now + Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(error, HandshakeError::TimedOut);
    let text = checked_error_response(&error, 408);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text:?}"
    );
    assert_eq!(handshake.poll_timeout(), None);
}

#[test]
fn server_handle_timeout_after_deadline_times_out() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(60)),
        Err(HandshakeError::TimedOut)
    );
}

#[test]
fn server_poll_timeout_is_none_after_request_completes() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(60)),
        Ok(())
    );
    // The request is still pending and can be accepted.
    let mut out = Vec::new();
    handshake.accept(Accept::new(), &mut out).unwrap();
    assert!(out.starts_with(b"HTTP/1.1 101 "));
}

#[test]
fn server_without_handshake_timeout_never_times_out() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default().handshake_timeout(None), now);
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(86_400)),
        Ok(())
    );
    assert!(matches!(handshake.handle_data(FULL_REQUEST), Ok(Some(_))));
}

#[test]
fn client_poll_timeout_is_creation_plus_handshake_timeout() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(3)));
    assert_eq!(handshake.handle_data(&GOOD_101[..10]), Ok(None));
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(3)));
}

#[test]
fn client_default_handshake_timeout_is_10_seconds() {
    let now = Instant::now();
    let handshake = plain_client(now);
    assert_eq!(
        handshake.poll_timeout(),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn client_handle_timeout_before_deadline_is_ok() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(3) - Duration::from_nanos(1)),
        Ok(())
    );
    assert!(matches!(handshake.handle_data(GOOD_101), Ok(Some(_))));
}

#[test]
fn client_handle_timeout_at_and_after_deadline_times_out() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut at = client_with(
        OutgoingRequest::new("example.com", "/"),
        config.clone(),
        now,
    );
    let error = at.handle_timeout(now + Duration::from_secs(3)).unwrap_err();
    assert_eq!(error, HandshakeError::TimedOut);
    assert_eq!(error.status(), Some(408));
    assert_eq!(at.poll_timeout(), None);
    assert_eq!(
        at.into_connection(|| [0; 4], now).unwrap_err(),
        HandshakeError::NotReady
    );

    let mut after = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(after.handle_data(&GOOD_101[..10]), Ok(None));
    assert_eq!(
        after.handle_timeout(now + Duration::from_secs(30)),
        Err(HandshakeError::TimedOut)
    );
}

#[test]
fn client_poll_timeout_is_none_after_response_completes() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    handshake.handle_data(GOOD_101).unwrap().unwrap();
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(30)),
        Ok(())
    );
    assert!(handshake.into_connection(|| [0; 4], now).is_ok());
}

#[test]
fn client_without_handshake_timeout_never_times_out() {
    let now = Instant::now();
    let mut handshake = client_with(
        OutgoingRequest::new("example.com", "/"),
        Config::default().handshake_timeout(None),
        now,
    );
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(86_400)),
        Ok(())
    );
}

// ---------------------------------------------------------------------------
// Further RFC requirements
// ---------------------------------------------------------------------------

#[test]
fn client_rejection_body_is_capped_at_4_kib() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let mut wire = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10000\r\n\r\n".to_vec();
    wire.extend_from_slice(&[b'x'; 4095]);
    // 4095 of the 4096 kept bytes: still waiting.
    assert_eq!(handshake.handle_data(&wire), Ok(None));
    let Err(HandshakeError::Rejected(response)) = handshake.handle_data(b"xyz") else {
        panic!("the kept part of the body is complete");
    };
    assert_eq!(response.status, 403);
    assert_eq!(response.body.len(), 4096);
    assert!(response.body.iter().all(|&b| b == b'x'));
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

/// RFC 6455 4.1: a status other than 101 is handled "per HTTP procedures";
/// RFC 9110 15.2: "A client MUST be able to parse one or more 1xx responses
/// received prior to a final response, even if the client does not expect one."
#[test]
fn client_skips_interim_1xx_response_before_101() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let mut wire = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    wire.extend_from_slice(GOOD_101);
    let result = handshake.handle_data(&wire);
    assert!(matches!(result, Ok(Some(_))), "{result:?}");
}

/// RFC 6455 4.2.1, item 1: the Request-URI is the resource name "or an
/// absolute HTTP/HTTPS URI containing the /resource name/"; `IncomingRequest::path`
/// is documented as "the path part of the target".
#[test]
fn server_request_path_of_absolute_form_target_is_the_resource_path() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let request = handshake
        .handle_data(&request(
            "GET http://server.example.com/chat?room=1 HTTP/1.1",
            &base_headers(),
        ))
        .unwrap()
        .expect("an absolute HTTP URI is a valid Request-URI");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1"));
}

/// A server handshake holding a valid request, ready to accept or reject.
fn requested_server(now: Instant) -> ServerHandshake {
    let mut server = ServerHandshake::new(Config::default(), now);
    let wire = request("GET /chat HTTP/1.1", &base_headers());
    server
        .handle_data(&wire)
        .unwrap()
        .expect("request complete");
    server
}

#[test]
fn accept_refuses_headers_the_handshake_writes_itself() {
    let now = Instant::now();
    for name in [
        "Sec-WebSocket-Accept",
        "upgrade",
        "CONNECTION",
        "Content-Length",
    ] {
        let mut server = requested_server(now);
        let mut out = Vec::new();
        let result = server.accept(Accept::new().header(name, "x"), &mut out);
        assert!(
            matches!(result, Err(HandshakeError::InvalidInput(_))),
            "{name}"
        );
        assert!(out.is_empty(), "{name}: nothing is written");
        // The handshake can still be accepted properly.
        server.accept(Accept::new(), &mut out).unwrap();
    }
}

#[test]
fn reject_refuses_a_second_content_length() {
    let now = Instant::now();
    let mut server = requested_server(now);
    let mut out = Vec::new();
    let result = server.reject(
        Reject::new(403).header("Content-Length", "99").body("no"),
        &mut out,
    );
    assert!(matches!(result, Err(HandshakeError::InvalidInput(_))));
    assert!(out.is_empty());
}

#[test]
fn endless_interim_responses_are_bounded_by_the_head_limit() {
    let now = Instant::now();
    let config = Config::default().max_handshake_size(1024);
    let mut client = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(1000);
    let result = client.handle_data(&interim);
    assert_eq!(result, Err(HandshakeError::TooLarge { limit: 1024 }));
}

#[test]
fn duplicate_header_errors_name_the_header_canonically() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("Host", "other.example"));
    let error = server_error(
        Config::default(),
        now,
        &request("GET /chat HTTP/1.1", &headers),
    );
    assert_eq!(
        error,
        HandshakeError::InvalidHeader {
            name: "Host",
            problem: "appears more than once"
        }
    );
}

/// Feeds `bytes` to a fresh server handshake in pieces of `piece` bytes and
/// returns the verdict: the target, an error status, or "incomplete".
fn server_verdict(bytes: &[u8], piece: usize) -> Result<Option<String>, Option<u16>> {
    let mut server = ServerHandshake::new(Config::default(), Instant::now());
    for chunk in bytes.chunks(piece) {
        match server.handle_data(chunk) {
            Ok(Some(request)) => return Ok(Some(request.target().to_owned())),
            Ok(None) => {}
            Err(e) => return Err(e.status()),
        }
    }
    Ok(None)
}

#[test]
fn the_verdict_on_a_request_does_not_depend_on_how_it_was_read() {
    // Found by fuzzing: a malformed line after a complete first line was
    // seen or not depending on where the reads fell.
    let inputs: [&[u8]; 5] = [
        b"\n\xcc",
        b"GET /chat HTTP/1.1\r\nHost example.com\r\n",
        b"GET /chat HTTP/1.1\r\nHost: a\r\n\x0e",
        b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ];
    for bytes in inputs {
        let whole = server_verdict(bytes, bytes.len());
        for piece in 1..bytes.len() {
            assert_eq!(
                server_verdict(bytes, piece),
                whole,
                "{bytes:?} in pieces of {piece}"
            );
        }
    }
    // A TLS hello on a plain port is still refused at once.
    assert_eq!(
        server_verdict(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        Err(Some(400))
    );
}

/// Feeds a response to a fresh client handshake in pieces of `piece` bytes
/// and returns the rejection's status and body, if it was one.
fn rejection_in_pieces(bytes: &[u8], piece: usize) -> Option<(u16, Vec<u8>)> {
    let mut client = plain_client(Instant::now());
    for chunk in bytes.chunks(piece) {
        match client.handle_data(chunk) {
            Err(HandshakeError::Rejected(r)) => return Some((r.status, r.body.to_vec())),
            Err(e) => panic!("{e}"),
            Ok(_) => {}
        }
    }
    None
}

#[test]
fn what_a_rejection_keeps_of_its_body_does_not_depend_on_the_reads() {
    // Found by fuzzing: a 304 kept whatever bytes had arrived with it.
    let not_modified = b"HTTP/1.1 304 Not Modified\r\nLocation: /x\r\n\r\nno";
    let chunked =
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for (bytes, expected) in [
        (&not_modified[..], Some((304, Vec::new()))),
        (
            &chunked[..],
            Some((404, b"5\r\nhello\r\n0\r\n\r\n".to_vec())),
        ),
    ] {
        for piece in 1..=bytes.len() {
            assert_eq!(
                rejection_in_pieces(bytes, piece),
                expected,
                "pieces of {piece}"
            );
        }
    }
}

#[test]
fn a_rejection_whose_body_never_ends_is_reported_at_the_timeout() {
    let now = Instant::now();
    let mut client = plain_client(now);
    let head = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nno!\r\n";
    assert!(client.handle_data(head).unwrap().is_none());
    let deadline = client.poll_timeout().unwrap();
    let Err(HandshakeError::Rejected(r)) = client.handle_timeout(deadline) else {
        panic!("expected the rejection");
    };
    assert_eq!((r.status, &r.body[..]), (403, &b"3\r\nno!\r\n"[..]));
}

/// `respond` writes the application's decision, or a 500 where that
/// decision cannot be written, and says which.
#[test]
fn respond_answers_500_when_the_decision_cannot_be_written() {
    use weft_proto::handshake::Responded;
    let request = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let decisions = [
        (Ok(Accept::new()), Some("HTTP/1.1 101 ")),
        (Err(Reject::new(404).body("no")), Some("HTTP/1.1 404 ")),
        // Not offered by the client.
        (Ok(Accept::new().subprotocol("chat")), None),
        // A header the handshake writes itself.
        (Ok(Accept::new().header("Sec-WebSocket-Accept", "x")), None),
        // No status to refuse with.
        (Err(Reject::new(101)), None),
        (Err(Reject::new(404).header("Bad\r\nName", "x")), None),
    ];
    for (decision, written) in decisions {
        let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
        handshake.handle_data(request).unwrap().unwrap();
        let mut out = Vec::new();
        let outcome = handshake.respond(decision.clone(), &mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        match written {
            Some(status) => {
                assert!(text.starts_with(status), "{decision:?}: {text}");
                assert!(matches!(
                    outcome,
                    Responded::Accepted | Responded::Rejected(404)
                ));
            }
            None => {
                assert!(text.starts_with("HTTP/1.1 500 "), "{decision:?}: {text}");
                assert!(
                    matches!(outcome, Responded::Failed(HandshakeError::InvalidInput(_))),
                    "{decision:?}: {outcome:?}"
                );
                // Only an accepted handshake becomes a connection.
                assert!(handshake.into_connection(Instant::now()).is_err());
            }
        }
    }
}
