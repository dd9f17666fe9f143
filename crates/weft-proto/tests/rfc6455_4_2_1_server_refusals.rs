//! RFC 6455 4.2.1: if the client "did not send a handshake that matches the
//! description below ..., the server MUST stop processing the client's
//! handshake and return an HTTP response with an appropriate error code
//! (such as 400 Bad Request)"; 4.2.2: for a version it does not understand
//! it sends "an appropriate HTTP error code (such as 426 Upgrade Required)
//! and a |Sec-WebSocket-Version| header field indicating the version(s) the
//! server is capable of understanding". Each refused request with its
//! status and the response `HandshakeError::write_response` writes, and
//! the client-side errors, which have no response to write.

mod common;

use std::time::Instant;

use common::handshake::{
    base_headers, checked_error_response, is_invalid_header, request, request_replacing,
    request_without, server_error, FULL_REQUEST,
};
use weft_proto::handshake::{HandshakeError, ServerHandshake};
use weft_proto::Config;

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

/// RFC 9112 6.3: a request with `Transfer-Encoding` or a `Content-Length`
/// has a body, which is what follows the head. An upgrade request has
/// none; reading those bytes as frames would disagree with any proxy in
/// front about where the request ends, so such a request is refused.
#[test]
fn server_refuses_a_request_with_a_body_with_400() {
    let now = Instant::now();
    for (name, value) in [
        ("Content-Length", "5"),
        ("Content-Length", "00012"),
        ("Content-Length", ""),
        ("Transfer-Encoding", "chunked"),
        ("Transfer-Encoding", "identity"),
    ] {
        let mut headers = base_headers();
        headers.push((name, value));
        let mut bytes = request("GET /chat HTTP/1.1", &headers);
        bytes.extend_from_slice(b"hello");
        let error = server_error(Config::default(), now, &bytes);
        assert!(
            matches!(error, HandshakeError::RequestBody(n) if n == name),
            "{name}: {value}: {error:?}"
        );
        let text = checked_error_response(&error, 400);
        assert!(text.contains("has a body"), "{text:?}");
    }
}

#[test]
fn server_accepts_a_content_length_of_zero() {
    let now = Instant::now();
    for zero in ["0", "000"] {
        let mut headers = base_headers();
        headers.push(("Content-Length", zero));
        let mut handshake = ServerHandshake::new(Config::default(), now);
        let request = handshake
            .handle_data(&request("GET /chat HTTP/1.1", &headers))
            .unwrap();
        assert!(request.is_some(), "Content-Length: {zero}");
    }
}
