//! RFC 6455 4.2.2: "If the server chooses to accept the incoming
//! connection, it MUST reply with a valid HTTP response indicating the
//! following": a 101, |Upgrade|, |Connection| and the |Sec-WebSocket-Accept|
//! computed from the key (the section 1.3 example), and a subprotocol that
//! "MUST be derived from the client's handshake". `accept`, `reject` and
//! `respond` write exactly that or the application's refusal, refuse what
//! would corrupt the head, and `respond` answers 500 where the
//! application's decision cannot be written.

mod common;

use std::time::Instant;

use common::handshake::{
    base_headers, client_with, plain_client, request, requested_server, ACCEPT, FULL_REQUEST, KEY,
};
use weft_proto::handshake::{
    accept_key, Accept, HandshakeError, OutgoingRequest, Reject, ServerHandshake,
};
use weft_proto::Config;

#[test]
fn accept_key_matches_rfc_1_3_example() {
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
}

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
