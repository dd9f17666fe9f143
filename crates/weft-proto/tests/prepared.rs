//! Broadcast with `PreparedMessage`: framed once, queued by each server
//! connection without a copy, compressed once for every connection that
//! compresses each message alone, and read back intact by every peer.

mod common;

use std::time::Instant;

use bytes::Buf;
use common::*;
use weft_proto::{Config, Connection, Event, MessageKind, PreparedMessage, SendError};

/// Everything `conn` has queued, as the chunks of its transmit.
fn chunks(conn: &mut Connection) -> Vec<bytes::Bytes> {
    let mut t = conn.poll_transmit().expect("something queued");
    let mut out = Vec::new();
    while t.has_remaining() {
        let n = t.chunk().len();
        out.push(t.copy_to_bytes(n));
    }
    out
}

#[test]
fn a_server_sends_the_same_bytes_as_send_binary_and_send_text() {
    let now = Instant::now();
    for size in [0, 1, 125, 126, 1000, 70_000] {
        let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        let text = "ü".repeat(size / 2);
        for (prepared, kind) in [
            (
                PreparedMessage::binary(payload.clone()),
                MessageKind::Binary,
            ),
            (PreparedMessage::text(text.clone()), MessageKind::Text),
        ] {
            assert_eq!(prepared.kind(), kind);
            let mut a = server(Config::default(), now);
            let mut b = server(Config::default(), now);
            a.send_prepared(&prepared).unwrap();
            match kind {
                MessageKind::Binary => b.send_binary(payload.clone()).unwrap(),
                MessageKind::Text => b.send_text(text.clone()).unwrap(),
            }
            assert_eq!(
                a.poll_transmit().unwrap().to_vec(),
                b.poll_transmit().unwrap().to_vec(),
                "{kind:?} of {size} bytes"
            );
        }
    }
}

#[test]
fn every_server_connection_queues_the_same_memory() {
    let now = Instant::now();
    let prepared = PreparedMessage::binary(vec![42u8; 300]);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let mut conn = server(Config::default(), now);
        conn.send_prepared(&prepared).unwrap();
        let out = chunks(&mut conn);
        assert_eq!(out.len(), 1, "one chunk: the prepared frame");
        assert_eq!(out[0].len(), 2 + 2 + 300);
        seen.push(out[0].as_ptr());
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "not shared: {seen:?}"
    );
}

#[test]
fn prepared_messages_keep_their_order_among_other_frames() {
    let now = Instant::now();
    let prepared = PreparedMessage::text("shared");
    let mut conn = server(Config::default(), now);
    conn.send_text("before").unwrap();
    conn.send_prepared(&prepared).unwrap();
    conn.ping(&b"p"[..]).unwrap();
    conn.send_prepared(&prepared).unwrap();
    conn.send_binary(vec![1u8; 2000]).unwrap();
    let wire = conn.poll_transmit().unwrap().to_vec();
    let mut peer = client(Config::default(), now);
    let events = feed(&mut peer, now, &wire);
    assert_eq!(
        events,
        vec![
            Event::Text("before".into()),
            Event::Text("shared".into()),
            Event::Ping(bytes::Bytes::from_static(b"p")),
            Event::Text("shared".into()),
            Event::Binary(vec![1u8; 2000].into()),
        ]
    );
}

#[test]
fn a_client_masks_each_prepared_message_with_its_own_key() {
    let now = Instant::now();
    let prepared = PreparedMessage::binary(vec![9u8; 40]);
    let mut conn = client(Config::default(), now);
    conn.send_prepared(&prepared).unwrap();
    let wire = conn.poll_transmit().unwrap().to_vec();
    assert_eq!(wire[1] & 0x80, 0x80, "masked");
    let mut peer = server(Config::default(), now);
    assert_eq!(
        feed(&mut peer, now, &wire),
        vec![Event::Binary(vec![9u8; 40].into())]
    );
}

#[test]
fn sending_a_prepared_message_follows_the_rules_of_sending() {
    let now = Instant::now();
    let prepared = PreparedMessage::text("late");
    let mut conn = server(Config::default(), now);
    conn.send_fragment(MessageKind::Binary, vec![1u8], false)
        .unwrap();
    assert_eq!(
        conn.send_prepared(&prepared),
        Err(SendError::FragmentInProgress)
    );
    conn.send_fragment(MessageKind::Binary, vec![2u8], true)
        .unwrap();
    conn.close(now, weft_proto::CloseCode::NORMAL, "").unwrap();
    assert_eq!(conn.send_prepared(&prepared), Err(SendError::Closed));
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use weft_proto::deflate::DeflateParams;

    fn params(server_no_context_takeover: bool) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }

    fn pair(snct: bool, now: Instant) -> (Connection, Connection) {
        let mut s = server(Config::default(), now);
        let mut c = client(Config::default(), now);
        s.enable_deflate(params(snct));
        c.enable_deflate(params(snct));
        (s, c)
    }

    #[test]
    fn without_context_takeover_the_compressed_frame_is_built_once() {
        let now = Instant::now();
        let text = "the quick brown fox jumps over the lazy dog ".repeat(40);
        let prepared = PreparedMessage::text(text.clone());
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (mut s, mut c) = pair(true, now);
            s.send_prepared(&prepared).unwrap();
            let out = chunks(&mut s);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0][0] & 0x40, 0x40, "RSV1: compressed");
            assert!(out[0].len() < text.len() / 4, "{} bytes", out[0].len());
            seen.push(out[0].as_ptr());
            assert_eq!(
                feed(&mut c, now, &out[0]),
                vec![Event::Text(text.as_str().into())]
            );
        }
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "compressed again: {seen:?}"
        );
    }

    #[test]
    fn with_context_takeover_each_connection_compresses_in_its_own_context() {
        let now = Instant::now();
        let messages: Vec<PreparedMessage> = (0..5)
            .map(|i| PreparedMessage::text(format!("message {i}: {}", "abc".repeat(100))))
            .collect();
        let (mut s, mut c) = pair(false, now);
        // Something else first, so that the context differs from a fresh one.
        s.send_text("warming the window ".repeat(20)).unwrap();
        for m in &messages {
            s.send_prepared(m).unwrap();
        }
        let wire = s.poll_transmit().unwrap().to_vec();
        let events = feed(&mut c, now, &wire);
        assert_eq!(events.len(), 6);
        for (event, m) in events[1..].iter().zip(&messages) {
            assert_eq!(
                event,
                &Event::Text(std::str::from_utf8(m.payload()).unwrap().into())
            );
        }
    }

    #[test]
    fn what_does_not_shrink_goes_uncompressed_without_context_takeover() {
        let now = Instant::now();
        // Bytes no compressor can shrink.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for prepared in [true, false] {
            let (mut s, mut c) = pair(true, now);
            if prepared {
                s.send_prepared(&PreparedMessage::binary(noise.clone()))
                    .unwrap();
            } else {
                s.send_binary(noise.clone()).unwrap();
            }
            let wire = s.poll_transmit().unwrap().to_vec();
            assert_eq!(wire[0] & 0x40, 0, "sent compressed though it grew");
            assert_eq!(wire.len(), 4 + noise.len());
            assert_eq!(
                feed(&mut c, now, &wire),
                vec![Event::Binary(noise.clone().into())]
            );
        }
    }
}
