//! From handshake to connection. RFC 6455 4.1: once the server's response
//! is validated, "it is said that _The WebSocket Connection is Established_
//! and that the WebSocket Connection is in the OPEN state"; the bytes that
//! followed the head are its first frames. Both handshakes hand those
//! leftover bytes to `into_connection`, whether they came with the head or
//! after it, and make no connection before they have succeeded.

mod common;

use std::time::Instant;

use common::handshake::{plain_client, response, FULL_REQUEST, GOOD_101, REDIRECT};
use common::{client_frame, events, server_frame};
use weft_proto::handshake::{Accept, HandshakeError, ServerHandshake};
use weft_proto::{Config, Event};

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
