//! RFC 6455 4.2.1, the server reading the client's opening handshake: "An
//! HTTP/1.1 or higher GET request, including a "Request-URI" [RFC2616] that
//! should be interpreted as a /resource name/ defined in Section 3 (or an
//! absolute HTTP/HTTPS URI containing the /resource name/)", |Host|,
//! |Upgrade|, |Connection|, the key and the version, and the optional
//! |Origin|, subprotocols and extensions, as `IncomingRequest` gives them to
//! the application. The verdict is the same whether the request arrives
//! whole, in two pieces or a byte at a time.

mod common;

use std::time::Instant;

use common::handshake::{base_headers, request, FULL_REQUEST, KEY};
use weft_proto::handshake::ServerHandshake;
use weft_proto::Config;

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
