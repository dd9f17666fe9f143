//! RFC 8441 4-5 on the server's side: an HTTP/2 extended CONNECT with
//! `:protocol = websocket` is checked like an RFC 6455 request, but with no
//! key, no `Upgrade` and no `Connection`; it is answered with 200 instead of
//! 101, with no `Sec-WebSocket-Accept`; subprotocols and extensions are
//! negotiated as over HTTP/1.1, and the frames that follow are unchanged.

mod common;

use weft_proto::handshake::{Accept, Answer, HandshakeError, Headers, IncomingRequest};
use weft_proto::Config;

fn h2_headers(extra: &[(&str, &str)]) -> Headers {
    let mut headers: Headers = [("Sec-WebSocket-Version", "13")].into_iter().collect();
    for (name, value) in extra {
        headers.push(*name, *value);
    }
    headers
}

fn connect(extra: &[(&str, &str)]) -> Result<IncomingRequest, HandshakeError> {
    IncomingRequest::extended_connect(
        "CONNECT",
        Some("websocket"),
        "example.com:8443",
        "/chat?room=1",
        h2_headers(extra),
    )
}

#[test]
fn an_extended_connect_is_answered_with_200_and_no_accept_key() {
    let request = connect(&[("Sec-WebSocket-Protocol", "chat.v1, chat.v2")]).unwrap();
    assert!(request.is_extended_connect());
    assert_eq!(request.host(), "example.com:8443");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1"));
    assert_eq!(request.subprotocols(), ["chat.v1", "chat.v2"]);
    let answer = Answer::new(
        &request,
        Accept::new().subprotocol("chat.v2").header("X-Node", "a"),
        Config::default(),
    )
    .unwrap();
    assert_eq!(answer.status(), 200);
    let names: Vec<&str> = answer.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Sec-WebSocket-Protocol", "X-Node"]);
    assert_eq!(answer.subprotocol(), Some("chat.v2"));
}

#[test]
fn an_http11_upgrade_is_answered_with_101_and_the_accept_key() {
    let headers: Headers = [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    .into_iter()
    .collect();
    let request = IncomingRequest::http11("GET", "/", headers).unwrap();
    assert!(!request.is_extended_connect());
    let answer = Answer::new(&request, Accept::new(), Config::default()).unwrap();
    assert_eq!(answer.status(), 101);
    assert!(answer.headers().contains(&(
        "Sec-WebSocket-Accept".to_owned(),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned()
    )));
}

#[test]
fn the_protocol_must_be_websocket_and_the_method_connect() {
    let headers = h2_headers(&[]);
    let missing = IncomingRequest::extended_connect("CONNECT", None, "a", "/", headers.clone());
    assert_eq!(missing, Err(HandshakeError::MissingHeader(":protocol")));
    let other =
        IncomingRequest::extended_connect("CONNECT", Some("h2c"), "a", "/", headers.clone());
    assert_eq!(other.unwrap_err().status(), Some(400));
    let get =
        IncomingRequest::extended_connect("GET", Some("websocket"), "a", "/", headers.clone());
    assert_eq!(get.unwrap_err().status(), Some(405));
    let no_authority =
        IncomingRequest::extended_connect("CONNECT", Some("websocket"), "", "/", headers.clone());
    assert_eq!(
        no_authority,
        Err(HandshakeError::MissingHeader(":authority"))
    );
    let no_path = IncomingRequest::extended_connect("CONNECT", Some("websocket"), "a", "", headers);
    assert_eq!(no_path, Err(HandshakeError::MissingHeader(":path")));
}

#[test]
fn the_version_is_still_13() {
    let none =
        IncomingRequest::extended_connect("CONNECT", Some("websocket"), "a", "/", Headers::new());
    assert_eq!(
        none,
        Err(HandshakeError::MissingHeader("Sec-WebSocket-Version"))
    );
    let mut headers = Headers::new();
    headers.push("Sec-WebSocket-Version", "8");
    let old = IncomingRequest::extended_connect("CONNECT", Some("websocket"), "a", "/", headers)
        .unwrap_err();
    assert_eq!(old.status(), Some(426));
    assert_eq!(old.response_headers(), [("Sec-WebSocket-Version", "13")]);
}

#[test]
fn a_subprotocol_not_offered_cannot_be_chosen() {
    let request = connect(&[]).unwrap();
    let error =
        Answer::new(&request, Accept::new().subprotocol("x"), Config::default()).unwrap_err();
    assert!(
        matches!(error, HandshakeError::InvalidInput(_)),
        "{error:?}"
    );
}

#[cfg(feature = "deflate")]
#[test]
fn permessage_deflate_is_negotiated_and_frames_are_unchanged() {
    use common::{client, feed, sent};
    use std::time::Instant;
    use weft_proto::deflate::DeflateConfig;
    use weft_proto::Event;
    let now = Instant::now();
    let config = Config::default().deflate(Some(DeflateConfig::default()));
    let request = connect(&[(
        "Sec-WebSocket-Extensions",
        "permessage-deflate; client_max_window_bits",
    )])
    .unwrap();
    let answer = Answer::new(&request, Accept::new(), config.clone()).unwrap();
    let agreed = answer.extensions().expect("deflate agreed").to_owned();
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    assert!(answer
        .headers()
        .contains(&("Sec-WebSocket-Extensions".to_owned(), agreed)));
    let mut server = answer.into_connection(now);
    // A client that agreed the same: its compressed frames are read.
    let mut peer = client(Config::default(), now);
    peer.enable_deflate(
        config
            .deflate
            .clone()
            .unwrap()
            .accept_response("permessage-deflate")
            .unwrap(),
    );
    // Long and repetitive, so that compressing it pays.
    let text = "over HTTP/2, frames are frames. ".repeat(8);
    peer.send_text(text.clone()).unwrap();
    let wire = sent(&mut peer);
    assert_ne!(wire[0] & 0x40, 0, "the frame is compressed (RSV1)");
    let events = feed(&mut server, now, &wire);
    assert_eq!(events, [Event::Text(text.into())]);
}

#[test]
fn without_deflate_offered_none_is_answered() {
    let request = connect(&[]).unwrap();
    let answer = Answer::new(&request, Accept::new(), Config::default()).unwrap();
    assert_eq!(answer.extensions(), None);
}

/// A request parsed elsewhere may offer anything as a subprotocol; an
/// answer never repeats one that is not a token (a line break in it would
/// split the response's head). Found by the parsed_handshake fuzz target.
#[test]
fn a_subprotocol_that_is_no_token_cannot_be_chosen() {
    let request = connect(&[("Sec-WebSocket-Protocol", "chat\r\nX-Injected: 1")]).unwrap();
    let offered = request.subprotocols()[0].clone();
    let error = Answer::new(
        &request,
        Accept::new().subprotocol(offered),
        Config::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error, HandshakeError::InvalidInput(_)),
        "{error:?}"
    );
}
