//! weft-std over loopback TCP: echo, closing from either side, a peer
//! vanishing mid-message, keepalive, handshakes refused or impossible to
//! answer, and a 64 MiB message.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{big_echo, echo, serve_one};
use weft_proto::handshake::{Accept, HandshakeError, Reject};
use weft_proto::{CloseCode, CloseReason, Config, Timeout};
use weft_std::{accept, accept_with, connect, Error, Message};
use weft_test_support::{drain, raw_client};

#[test]
fn echo_and_client_initiated_close() {
    let (addr, server) = serve_one(|tcp| echo(accept(tcp).unwrap()));
    let (mut ws, _) = connect(&format!("ws://{addr}/")).unwrap();
    ws.send("hello").unwrap();
    ws.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text("hello")));
    assert_eq!(ws.read().unwrap(), Some(Message::binary(vec![1u8, 2, 3])));
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
    let server_reason = server.join().unwrap().unwrap();
    assert!(matches!(server_reason, CloseReason::Clean(f) if f.reason == "bye"));
}

#[test]
fn server_initiated_close_is_seen_by_the_client() {
    let (addr, server) = serve_one(|tcp| {
        let mut ws = accept(tcp).unwrap();
        let first = ws.read().unwrap();
        ws.close(CloseCode::GOING_AWAY, "restarting").unwrap();
        while ws.read().unwrap().is_some() {}
        (first, ws.close_reason().cloned())
    });
    let (mut ws, _) = connect(&format!("ws://{addr}/")).unwrap();
    ws.send("hi").unwrap();
    let close = ws.read().unwrap();
    assert!(matches!(close, Some(Message::Close(Some(f))) if f.code == CloseCode::GOING_AWAY));
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
    let (first, reason) = server.join().unwrap();
    assert_eq!(first, Some(Message::text("hi")));
    assert!(reason.unwrap().is_clean());
}

#[test]
fn a_peer_vanishing_mid_message_ends_the_connection_abnormally() {
    let (addr, server) = serve_one(|tcp| {
        let mut ws = accept(tcp).unwrap();
        let first = ws.read().unwrap();
        (first, ws.read().unwrap(), ws.close_reason().cloned())
    });
    let (mut stream, mut conn) = raw_client(addr);
    conn.send_text("whole").unwrap();
    conn.send_binary(vec![0u8; 10_000]).unwrap();
    let wire = drain(&mut conn);
    // The first message and half of the second, then the client is gone.
    let cut = wire.len() - 5_000;
    stream.write_all(&wire[..cut]).unwrap();
    drop(stream);
    let (first, second, reason) = server.join().unwrap();
    assert_eq!(first, Some(Message::text("whole")));
    assert_eq!(second, None);
    assert_eq!(reason, Some(CloseReason::Abnormal));
}

#[test]
fn keepalive_detects_a_peer_that_stops_answering() {
    let (addr, server) = serve_one(|tcp| {
        let config = Config::default()
            .keepalive(Some(Duration::from_millis(100)), Duration::from_millis(200));
        let mut ws = accept_with(tcp, config, |_| Ok(Accept::new())).unwrap();
        let started = Instant::now();
        while ws.read().unwrap().is_some() {}
        (ws.close_reason().cloned(), started.elapsed())
    });
    // The client completes the handshake and then never reads again.
    let (_silent, _conn) = raw_client(addr);
    let (reason, elapsed) = server.join().unwrap();
    assert_eq!(reason, Some(CloseReason::TimedOut(Timeout::Pong)));
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn a_rejected_handshake_reaches_the_client_with_status_and_body() {
    let (addr, server) = serve_one(|tcp| {
        accept_with(tcp, Config::default(), |request| {
            assert_eq!(request.path(), "/private");
            Err(Reject::new(403)
                .header("X-Reason", "no token")
                .body("go away"))
        })
        .err()
    });
    let result = connect(&format!("ws://{addr}/private"));
    let Err(Error::Refused(response)) = result else {
        panic!("expected a rejection, got {:?}", result.map(|_| ()));
    };
    assert_eq!(response.status, 403);
    assert_eq!(response.headers.get_str("x-reason"), Some("no token"));
    assert_eq!(&response.body[..], b"go away");
    assert!(matches!(server.join().unwrap(), Some(Error::Rejected(403))));
}

#[test]
fn a_64_mib_message_crosses_each_way() {
    let (mut ws, server) = big_echo();
    let big: Vec<u8> = (0..64u32 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::binary(big)));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(server.join().unwrap().unwrap().is_clean());
}

/// A decision the handshake cannot write (a status that refuses nothing, a
/// subprotocol the client did not offer) reaches the client as a 500, and
/// the server's `accept_with` fails with the reason.
#[test]
fn an_answer_that_cannot_be_written_is_a_500() {
    type Decide = fn(&weft_std::IncomingRequest) -> Result<Accept, Reject>;
    let decisions: [Decide; 2] = [
        |_| Err(Reject::new(99)),
        |_| Ok(Accept::new().subprotocol("never-offered")),
    ];
    for decide in decisions {
        let (addr, server) =
            serve_one(move |tcp| accept_with(tcp, Config::default(), decide).err());
        let result = connect(&format!("ws://{addr}/"));
        let Err(Error::Refused(response)) = result else {
            panic!("expected a 500, got {:?}", result.map(|_| ()));
        };
        assert_eq!(response.status, 500);
        assert!(matches!(
            server.join().unwrap(),
            Some(Error::Handshake(HandshakeError::InvalidInput(_)))
        ));
    }
}

/// A keepalive ping's pong measures the round trip, which the blocking
/// socket exposes.
#[test]
fn keepalive_measures_the_round_trip() {
    let (addr, server) = serve_one(|tcp| {
        let config =
            Config::default().keepalive(Some(Duration::from_millis(50)), Duration::from_secs(10));
        let mut ws = accept_with(tcp, config, |_| Ok(Accept::new())).unwrap();
        assert!(ws.latency().is_none());
        // The client sends one message after its first ping; reading runs
        // the timers meanwhile, and hands out the pong before the message.
        let message = loop {
            match ws.read().unwrap() {
                Some(Message::Pong(_)) => {}
                other => break other,
            }
        };
        let latency = ws.latency();
        ws.close(CloseCode::NORMAL, "").unwrap();
        while ws.read().unwrap().is_some() {}
        (message, latency)
    });
    let (mut client, _) = connect(&format!("ws://{addr}/")).unwrap();
    loop {
        if let Some(Message::Ping(_)) = client.read().unwrap() {
            break;
        }
    }
    // Reading the ping wrote its pong; tell the server once that is out.
    client.send("pong sent").unwrap();
    while client.read().unwrap().is_some() {}
    let (message, latency) = server.join().unwrap();
    assert_eq!(message, Some(Message::text("pong sent")));
    let latency = latency.expect("the pong was measured");
    assert_eq!(latency.smoothed, latency.last);
}
