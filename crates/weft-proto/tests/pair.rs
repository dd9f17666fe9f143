//! A client and a server driven against each other in memory through the
//! handshake, messages of every kind and size, any chunking, and closing.

mod common;

use common::*;
use weft_proto::{CloseCode, CloseReason, Config, Event, MessageKind, State};

fn message_of(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn messages_of_every_size_cross_both_ways_in_any_chunking() {
    let sizes = [0usize, 1, 125, 126, 127, 65_535, 65_536, 1 << 20];
    for chunk in [1usize, 7, 4096, usize::MAX] {
        let mut pair = Pair::new();
        pair.chunk = chunk;
        let sizes: &[usize] = if chunk == 1 { &sizes[..5] } else { &sizes };
        for (i, &size) in sizes.iter().enumerate() {
            let data = message_of(size, i as u8);
            let text: String = "ü€x".chars().cycle().take(size / 2).collect();
            pair.client.send_binary(data.clone()).unwrap();
            pair.server.send_binary(data.clone()).unwrap();
            pair.client.send_text(text.clone()).unwrap();
            pair.server.send_text(text.clone()).unwrap();
            pair.drive();
            let expected = vec![Event::Binary(data.into()), Event::Text(text.into())];
            let (c, s) = pair.take_events();
            assert_eq!(c, expected, "client, size {size}, chunk {chunk}");
            assert_eq!(s, expected, "server, size {size}, chunk {chunk}");
        }
    }
}

#[test]
fn fragmented_messages_cross_with_pings_between() {
    let mut pair = Pair::new();
    pair.chunk = 3;
    pair.client
        .send_fragment(MessageKind::Text, "one ", false)
        .unwrap();
    pair.client.ping("mid").unwrap();
    pair.client
        .send_fragment(MessageKind::Text, "two", true)
        .unwrap();
    pair.server
        .send_fragment(MessageKind::Binary, vec![1u8, 2], false)
        .unwrap();
    pair.server
        .send_fragment(MessageKind::Binary, vec![3u8], true)
        .unwrap();
    pair.drive();
    let (c, s) = pair.take_events();
    assert_eq!(
        s,
        vec![Event::Ping("mid".into()), Event::Text("one two".into())]
    );
    // The server queued its message before the ping reached it.
    assert_eq!(
        c,
        vec![
            Event::Binary(vec![1, 2, 3].into()),
            Event::Pong("mid".into())
        ]
    );
}

#[test]
fn a_64_mib_message_crosses_within_the_limit() {
    let config = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    let mut pair = Pair::with(config.clone(), config);
    let data = message_of(64 << 20, 9);
    pair.client.send_binary(data.clone()).unwrap();
    pair.drive();
    let (_, s) = pair.take_events();
    assert_eq!(s.len(), 1);
    assert!(matches!(&s[0], Event::Binary(b) if b[..] == data[..]));
}

#[test]
fn streaming_delivers_a_large_message_in_pieces() {
    let config = Config::default().stream_threshold(Some(4096));
    let mut pair = Pair::with(Config::default(), config);
    pair.chunk = 1000;
    let data = message_of(100_000, 3);
    pair.client.send_binary(data.clone()).unwrap();
    pair.drive();
    let (_, s) = pair.take_events();
    let mut joined = Vec::new();
    for (i, event) in s.iter().enumerate() {
        let Event::Fragment(f) = event else {
            panic!("not a fragment: {event:?}");
        };
        assert_eq!(f.is_first, i == 0);
        assert_eq!(f.is_last, i == s.len() - 1);
        assert!(f.data.len() <= 1000);
        joined.extend_from_slice(&f.data);
    }
    assert_eq!(joined, data);
}

#[test]
fn a_protocol_violation_ends_both_sides() {
    let mut pair = Pair::new();
    // A frame a client may never send: unmasked.
    pair.to_server.extend(server_frame(0x81, b"unmasked"));
    pair.drive();
    let (c, s) = pair.take_events();
    assert!(matches!(
        s.last(),
        Some(Event::Closed(CloseReason::Protocol(_)))
    ));
    // The client sees the server's 1002 as the peer's close, then the
    // server closing the transport.
    assert_eq!(c.len(), 2, "{c:?}");
    let Event::CloseReceived(frame) = &c[0] else {
        panic!("{c:?}");
    };
    assert_eq!(frame.code, CloseCode::PROTOCOL_ERROR);
    assert!(matches!(&c[1], Event::Closed(CloseReason::Clean(_))));
    assert_eq!(pair.client.state(), State::Closed);
}
