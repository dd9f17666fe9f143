//! RFC 8441 4-5 on the client's side: the extended CONNECT carries the
//! RFC 6455 offers but no key, `Upgrade`, `Connection` or `Host`; a 2xx
//! response accepts (no `Sec-WebSocket-Accept` to check), with the
//! subprotocol and extensions checked against the offers as over HTTP/1.1;
//! anything else is a refusal; the frames that follow are unchanged and
//! still masked.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{feed, sent, server};
use weft_proto::handshake::{ExtendedConnect, HandshakeError, Headers, OutgoingRequest};
use weft_proto::{Config, Event};

fn handshake(request: OutgoingRequest) -> ExtendedConnect {
    ExtendedConnect::new(request, Config::default(), Instant::now()).unwrap()
}

fn headers(fields: &[(&str, &str)]) -> Headers {
    fields.iter().copied().collect()
}

#[test]
fn the_request_has_the_offers_and_none_of_http11s_fields() {
    let request = OutgoingRequest::new("example.com:8443", "/chat?room=1")
        .origin("https://example.com")
        .subprotocol("chat.v1")
        .subprotocol("chat.v2")
        .header("Authorization", "Bearer t");
    let h = handshake(request);
    assert_eq!(h.authority(), "example.com:8443");
    assert_eq!(h.path(), "/chat?room=1");
    let fields = h.fields();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "sec-websocket-version",
            "origin",
            "sec-websocket-protocol",
            "authorization"
        ]
    );
    assert_eq!(fields[2].1, "chat.v1, chat.v2");
    for forbidden in ["host", "upgrade", "connection", "sec-websocket-key"] {
        assert!(!names.contains(&forbidden), "{forbidden}");
    }
}

#[test]
fn a_2xx_accepts_and_anything_else_refuses() {
    let mut h = handshake(OutgoingRequest::new("a", "/"));
    assert!(h.poll_timeout().is_some());
    let acceptance = h
        .handle_response(200, Headers::new(), Bytes::new())
        .unwrap();
    assert_eq!(acceptance.subprotocol(), None);
    assert_eq!(h.poll_timeout(), None);

    for status in [101, 301, 403, 404, 500] {
        let mut h = handshake(OutgoingRequest::new("a", "/"));
        let body = Bytes::from(vec![b'x'; 10_000]);
        let error = h
            .handle_response(status, headers(&[("x-why", "no")]), body)
            .unwrap_err();
        let HandshakeError::Rejected(rejection) = error else {
            panic!("{status}: {error:?}");
        };
        assert_eq!(rejection.status, status);
        assert_eq!(rejection.headers.get_str("x-why"), Some("no"));
        assert_eq!(rejection.body.len(), 4096, "the start of the body is kept");
        assert_eq!(
            h.into_connection(|| [0; 4], Instant::now()).unwrap_err(),
            HandshakeError::NotReady
        );
    }
}

#[test]
fn the_subprotocol_chosen_must_have_been_offered() {
    let mut h = handshake(OutgoingRequest::new("a", "/").subprotocol("chat"));
    let error = h
        .handle_response(
            200,
            headers(&[("sec-websocket-protocol", "other")]),
            Bytes::new(),
        )
        .unwrap_err();
    assert_eq!(error, HandshakeError::UnexpectedSubprotocol("other".into()));
    let mut h = handshake(OutgoingRequest::new("a", "/").subprotocol("chat"));
    let ok = h
        .handle_response(
            200,
            headers(&[("sec-websocket-protocol", "chat")]),
            Bytes::new(),
        )
        .unwrap();
    assert_eq!(ok.subprotocol(), Some("chat"));
}

#[test]
fn an_extension_not_offered_fails() {
    let mut h = handshake(OutgoingRequest::new("a", "/"));
    let error = h
        .handle_response(
            200,
            headers(&[("sec-websocket-extensions", "permessage-deflate")]),
            Bytes::new(),
        )
        .unwrap_err();
    assert!(
        matches!(error, HandshakeError::UnexpectedExtension(_)),
        "{error:?}"
    );
}

#[test]
fn the_timeout_counts_from_the_start() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let h = ExtendedConnect::new(OutgoingRequest::new("a", "/"), config, now).unwrap();
    assert_eq!(h.poll_timeout(), Some(now + Duration::from_secs(3)));
}

#[test]
fn frames_are_unchanged_and_masked() {
    let now = Instant::now();
    let mut h = handshake(OutgoingRequest::new("a", "/"));
    h.handle_response(200, Headers::new(), Bytes::new())
        .unwrap();
    let mut client = h.into_connection(|| [9, 8, 7, 6], now).unwrap();
    client.send_text("over a stream").unwrap();
    let wire = sent(&mut client);
    assert_ne!(wire[1] & 0x80, 0, "a client's frames are masked");
    let mut peer = server(Config::default(), now);
    assert_eq!(
        feed(&mut peer, now, &wire),
        [Event::Text("over a stream".into())]
    );
}

#[cfg(feature = "deflate")]
#[test]
fn permessage_deflate_is_offered_and_turned_on() {
    use weft_proto::deflate::DeflateConfig;
    let now = Instant::now();
    let config = Config::default().deflate(Some(DeflateConfig::default()));
    let mut h = ExtendedConnect::new(OutgoingRequest::new("a", "/"), config, now).unwrap();
    let offer = h
        .fields()
        .into_iter()
        .find(|(n, _)| n == "sec-websocket-extensions")
        .expect("deflate is offered")
        .1;
    assert!(offer.starts_with("permessage-deflate"), "{offer}");
    let acceptance = h
        .handle_response(
            200,
            headers(&[("sec-websocket-extensions", "permessage-deflate")]),
            Bytes::new(),
        )
        .unwrap();
    assert!(acceptance.deflate().is_some());
    let client = h.into_connection(|| [1, 2, 3, 4], now).unwrap();
    assert!(client.deflate().is_some());
}

/// RFC 9113 8.2.2: "An endpoint MUST NOT generate an HTTP/2 message
/// containing connection-specific header fields", and 8.3.1 puts the host
/// in `:authority`. A header an application added for HTTP/1.1 is refused
/// here with a reason, rather than by the HTTP/2 library's generic error.
#[test]
fn headers_http2_forbids_are_refused() {
    for (name, value) in [
        ("Connection", "keep-alive"),
        ("Keep-Alive", "5"),
        ("Proxy-Connection", "x"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "websocket"),
        ("TE", "gzip"),
        ("Host", "elsewhere"),
    ] {
        let request = OutgoingRequest::new("a", "/").header(name, value);
        let error = ExtendedConnect::new(request, Config::default(), Instant::now()).unwrap_err();
        assert!(
            matches!(error, HandshakeError::InvalidInput(_)),
            "{name}: {error:?}"
        );
    }
    let trailers = OutgoingRequest::new("a", "/").header("TE", "trailers");
    assert!(ExtendedConnect::new(trailers, Config::default(), Instant::now()).is_ok());
}
