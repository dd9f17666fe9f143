//! RFC 6455 5.5: control frames. Pings are answered automatically, with at
//! most one pending pong carrying the latest payload.

mod common;

use std::time::Instant;

use common::*;
use weft_proto::{Config, Event, SendError};

#[test]
fn ping_is_reported_and_answered_with_the_same_payload() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    assert_eq!(
        feed(&mut s, now, &client_frame(0x89, b"are you there")),
        vec![Event::Ping("are you there".into())]
    );
    assert_eq!(sent(&mut s), server_frame(0x8A, b"are you there"));
}

#[test]
fn client_pong_is_masked() {
    let now = Instant::now();
    let mut c = client(Config::default(), now);
    feed(&mut c, now, &server_frame(0x89, b"x"));
    assert_eq!(sent(&mut c), client_frame(0x8A, b"x"));
}

#[test]
fn each_ping_is_answered_when_transmit_is_taken_between_them() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = Vec::new();
    for i in 0..10 {
        wire.extend(client_frame(0x89, format!("payload-{i}").as_bytes()));
    }
    s.handle_data(now, &wire);
    let mut out = Vec::new();
    while let Some(event) = s.poll_event() {
        assert!(matches!(event, Event::Ping(_)));
        out.extend(sent(&mut s));
    }
    let expected: Vec<u8> = (0..10)
        .flat_map(|i| server_frame(0x8A, format!("payload-{i}").as_bytes()))
        .collect();
    assert_eq!(out, expected);
}

#[test]
fn pending_pong_is_replaced_by_the_latest_ping() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = Vec::new();
    for i in 0..1000 {
        wire.extend(client_frame(0x89, format!("{i}").as_bytes()));
    }
    let events = feed(&mut s, now, &wire);
    assert_eq!(events.len(), 1000);
    // A flood of pings left one pong, not a thousand.
    assert_eq!(sent(&mut s), server_frame(0x8A, b"999"));
}

#[test]
fn pending_pong_goes_before_queued_data() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.send_text("queued").unwrap();
    feed(&mut s, now, &client_frame(0x89, b"p"));
    let mut expected = server_frame(0x8A, b"p");
    expected.extend(server_frame(0x81, b"queued"));
    assert_eq!(sent(&mut s), expected);
}

#[test]
fn auto_pong_can_be_turned_off() {
    let now = Instant::now();
    let mut s = server(Config::default().auto_pong(false), now);
    assert_eq!(
        feed(&mut s, now, &client_frame(0x89, b"x")),
        vec![Event::Ping("x".into())]
    );
    assert!(sent(&mut s).is_empty());
    // The application answers itself.
    s.pong("x").unwrap();
    assert_eq!(sent(&mut s), server_frame(0x8A, b"x"));
}

#[test]
fn pong_is_reported() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    assert_eq!(
        feed(&mut s, now, &client_frame(0x8A, b"")),
        vec![Event::Pong("".into())]
    );
    assert!(sent(&mut s).is_empty(), "a pong is not answered");
}

#[test]
fn application_pings_and_pongs() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.ping(vec![0u8; 125]).unwrap();
    s.pong("beat").unwrap();
    let mut expected = server_frame(0x89, &[0; 125]);
    expected.extend(server_frame(0x8A, b"beat"));
    assert_eq!(sent(&mut s), expected);
    assert_eq!(
        s.ping(vec![0u8; 126]),
        Err(SendError::ControlPayloadTooLong(126))
    );
    assert_eq!(
        s.pong(vec![0u8; 200]),
        Err(SendError::ControlPayloadTooLong(200))
    );
    assert!(sent(&mut s).is_empty());
}

#[test]
fn largest_allowed_ping_is_accepted() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    assert_eq!(
        feed(&mut s, now, &client_frame(0x89, &[b'x'; 125])),
        vec![Event::Ping(vec![b'x'; 125].into())]
    );
}
