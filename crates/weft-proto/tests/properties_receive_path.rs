//! Property tests of the receive path: how the bytes arrive and when the
//! events are polled change nothing. Valid frame streams (messages
//! fragmented at any byte, RFC 6455 5.4's control frames "injected in the
//! middle of a fragmented message", pings and pongs, a close) fed whole, in
//! arbitrary chunks or in reads of about a large frame's size, drained now
//! and then, owned or lent, give the events they stand for; streamed over a
//! threshold, the fragments join into the same messages.
//!
//! Frames fed to connections are built with `common::raw_frame`, an encoder
//! written independently of the crate's.

mod common;

use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use weft_proto::bytes::Bytes;
use weft_proto::{
    CloseCode, CloseFrame, CloseReason, Config, Connection, Event, MessageKind, Utf8Bytes,
};

use common::properties::{
    binary, chunk_sizes, close_reason, config, drain_events, drain_events_polling, drain_sent,
    patterned, pieces, ping, polling, sendable_code, text, text_payload, Payload,
};
use common::raw_frame;

fn binary_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => vec(any::<u8>(), 0..200),
        2 => vec(any::<u8>(), 120..1200),
        // Around the size from which a server unmasks as it copies.
        1 => (4000usize..9000, any::<u8>()).prop_map(|(n, seed)| patterned(n, seed)),
        1 => (0x1_0000usize..70_000, any::<u8>()).prop_map(|(n, seed)| patterned(n, seed)),
    ]
}

/// One item of a valid client → server frame stream.
#[derive(Clone, Debug)]
enum Planned {
    /// A data message cut into fragments at `cuts` (one frame when empty),
    /// with pings between its fragments (`Index` picks the gap).
    Data {
        payload: Payload,
        cuts: Vec<Index>,
        pings: Vec<(Index, Vec<u8>)>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn planned() -> impl Strategy<Value = Planned> {
    let payload = prop_oneof![
        text_payload().prop_map(Payload::Text),
        binary_payload().prop_map(Payload::Binary),
    ];
    let control = vec(any::<u8>(), 0..=125);
    prop_oneof![
        6 => (payload, vec(any::<Index>(), 0..5), vec((any::<Index>(), control.clone()), 0..4))
            .prop_map(|(payload, cuts, pings)| Planned::Data { payload, cuts, pings }),
        1 => control.clone().prop_map(Planned::Ping),
        1 => control.prop_map(Planned::Pong),
    ]
}

/// Masked client frames, each with its own key derived from `key` (or
/// unmasked server frames, when `masked` is false).
struct Wire {
    bytes: Vec<u8>,
    key: [u8; 4],
    frames: u8,
    masked: bool,
}

impl Wire {
    fn push(&mut self, first: u8, payload: &[u8]) {
        let n = self.frames;
        self.frames = self.frames.wrapping_add(1);
        let [a, b, c, d] = self.key;
        let key = [a ^ n, b.wrapping_add(n), c, d.rotate_left(u32::from(n % 8))];
        self.bytes
            .extend_from_slice(&raw_frame(first, payload, self.masked.then_some(key)));
    }
}

/// The wire bytes of `items` and the events a server must report for them.
fn build_stream(items: &[Planned], key: [u8; 4]) -> (Wire, Vec<Event>) {
    build_stream_as(items, key, true)
}

/// [`build_stream`], masked as a client sends or unmasked as a server does.
fn build_stream_as(items: &[Planned], key: [u8; 4], masked: bool) -> (Wire, Vec<Event>) {
    let mut wire = Wire {
        bytes: Vec::new(),
        key,
        frames: 0,
        masked,
    };
    let mut expected = Vec::new();
    for item in items {
        match item {
            Planned::Ping(p) => {
                wire.push(0x89, p);
                expected.push(ping(p));
            }
            Planned::Pong(p) => {
                wire.push(0x8A, p);
                expected.push(Event::Pong(Bytes::copy_from_slice(p)));
            }
            Planned::Data {
                payload,
                cuts,
                pings,
            } => {
                let (opcode, bytes, event) = match payload {
                    Payload::Text(s) => (0x1, s.as_bytes(), text(s)),
                    Payload::Binary(b) => (0x2, &b[..], binary(b)),
                };
                // Cuts may fall inside a code point and may repeat (empty fragments).
                let mut bounds: Vec<usize> =
                    cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
                bounds.push(0);
                bounds.push(bytes.len());
                bounds.sort_unstable();
                let fragments: Vec<&[u8]> = bounds.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
                let count = fragments.len();
                // Pings go in the gaps between fragments, in generation order within a gap.
                let mut gaps: Vec<(usize, &Vec<u8>)> = if count > 1 {
                    pings.iter().map(|(i, p)| (i.index(count - 1), p)).collect()
                } else {
                    Vec::new()
                };
                gaps.sort_by_key(|(gap, _)| *gap);
                for (j, fragment) in fragments.iter().enumerate() {
                    let fin = if j + 1 == count { 0x80 } else { 0 };
                    let op = if j == 0 { opcode } else { 0x0 };
                    wire.push(fin | op, fragment);
                    for (_, p) in gaps.iter().filter(|(gap, _)| *gap == j) {
                        wire.push(0x89, p);
                        expected.push(ping(p));
                    }
                }
                expected.push(event);
            }
        }
    }
    (wire, expected)
}

/// Joins each streamed message's fragments into the whole-message event it
/// stands for, checking that the fragments are well formed, that text is
/// valid as far as it goes, and that exactly the messages over `threshold`
/// were streamed.
fn join_fragments(events: Vec<Event>, threshold: usize) -> Result<Vec<Event>, TestCaseError> {
    let mut out = Vec::new();
    let mut current: Option<(MessageKind, Vec<u8>)> = None;
    for event in events {
        match event {
            Event::Fragment(f) => {
                prop_assert_eq!(f.is_first, current.is_none(), "is_first wrong: {:?}", f);
                let (kind, data) = current.get_or_insert_with(|| (f.kind, Vec::new()));
                prop_assert_eq!(*kind, f.kind);
                data.extend_from_slice(&f.data);
                if *kind == MessageKind::Text {
                    let so_far = std::str::from_utf8(data);
                    prop_assert!(
                        so_far
                            .as_ref()
                            .map_or_else(|e| e.error_len().is_none(), |_| true),
                        "streamed text invalid so far: {:?}",
                        so_far
                    );
                }
                if f.is_last {
                    let (kind, data) = current.take().unwrap();
                    prop_assert!(
                        data.len() > threshold,
                        "streamed {} bytes, threshold {}",
                        data.len(),
                        threshold
                    );
                    out.push(match kind {
                        MessageKind::Text => match Utf8Bytes::try_from(data) {
                            Ok(text) => Event::Text(text),
                            Err(_) => {
                                return Err(TestCaseError::fail("streamed text is not UTF-8"))
                            }
                        },
                        MessageKind::Binary => Event::Binary(data.into()),
                    });
                }
            }
            Event::Text(ref t) => {
                prop_assert!(current.is_none(), "whole message inside a streamed one");
                prop_assert!(
                    t.len() <= threshold,
                    "{} bytes not streamed, threshold {}",
                    t.len(),
                    threshold
                );
                out.push(event);
            }
            Event::Binary(ref b) => {
                prop_assert!(current.is_none(), "whole message inside a streamed one");
                prop_assert!(
                    b.len() <= threshold,
                    "{} bytes not streamed, threshold {}",
                    b.len(),
                    threshold
                );
                out.push(event);
            }
            other => out.push(other),
        }
    }
    prop_assert!(current.is_none(), "a streamed message never ended");
    Ok(out)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn frames_in_arbitrary_chunks(
        items in vec(planned(), 0..8),
        key in any::<[u8; 4]>(),
        close in proptest::option::of(proptest::option::of((sendable_code(), close_reason()))),
        trailing in vec(any::<u8>(), 0..32),
        sizes in chunk_sizes(),
        threshold in prop_oneof![0usize..130, 0usize..2000],
    ) {
        let (mut wire, mut expected) = build_stream(&items, key);
        if let Some(close) = &close {
            let (payload, frame) = match close {
                None => (Vec::new(), CloseFrame::new(CloseCode::NO_STATUS, "")),
                Some((code, reason)) => (
                    common::close_payload(*code, reason),
                    CloseFrame::new(CloseCode(*code), reason.clone()),
                ),
            };
            wire.push(0x88, &payload);
            // Whatever follows the peer's close frame is discarded.
            wire.bytes.extend_from_slice(&trailing);
            expected.push(Event::CloseReceived(frame.clone()));
            expected.push(Event::Closed(CloseReason::Clean(frame)));
        }
        let bytes = wire.bytes;
        let bound = bytes.len() + 4;
        let now = Instant::now();

        let mut whole = Connection::server(Config::default(), now);
        whole.handle_data(now, &bytes);
        let mut whole_events = Vec::new();
        drain_events(&mut whole, &mut whole_events, bound)?;

        let mut chunked = Connection::server(Config::default(), now);
        let mut chunked_events = Vec::new();
        for piece in pieces(&bytes, &sizes) {
            chunked.handle_data(now, piece);
            drain_events(&mut chunked, &mut chunked_events, bound)?;
        }

        prop_assert_eq!(&chunked_events, &whole_events);
        prop_assert_eq!(&whole_events, &expected);

        // Streaming the messages over a threshold, in chunks: the fragments
        // join into the same messages.
        let config = Config::default().stream_threshold(Some(threshold));
        let mut streaming = Connection::server(config, now);
        let mut streamed_events = Vec::new();
        for piece in pieces(&bytes, &sizes) {
            streaming.handle_data(now, piece);
            drain_events(&mut streaming, &mut streamed_events, bound)?;
        }
        prop_assert_eq!(join_fragments(streamed_events, threshold)?, expected);

        // Both answered alike (the pong for the latest ping, the close echo).
        let (mut sent_whole, mut sent_chunked) = (Vec::new(), Vec::new());
        drain_sent(&mut whole, &mut sent_whole);
        drain_sent(&mut chunked, &mut sent_chunked);
        prop_assert_eq!(sent_whole, sent_chunked);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Frames fed in pieces with the events drained only now and then (an
    /// application may read several times before it polls), owned or lent,
    /// give the events they stand for. A server unmasks payloads of 4 KiB
    /// and more as it copies them in, and must do so only where it knows a
    /// frame begins.
    #[test]
    fn polling_now_and_then_changes_nothing(
        items in vec(planned(), 0..8),
        key in any::<[u8; 4]>(),
        sizes in chunk_sizes(),
        polls in vec(any::<bool>(), 1..16),
        polling in polling(),
    ) {
        let (wire, expected) = build_stream(&items, key);
        let bytes = wire.bytes;
        let bound = bytes.len() + 4;
        let now = Instant::now();
        let mut conn = Connection::server(Config::default(), now);
        let mut events = Vec::new();
        for (i, piece) in pieces(&bytes, &sizes).into_iter().enumerate() {
            conn.handle_data(now, piece);
            if polls[i % polls.len()] {
                drain_events_polling(&mut conn, &mut events, bound, polling)?;
            }
        }
        drain_events_polling(&mut conn, &mut events, bound, polling)?;
        prop_assert_eq!(events, expected);
    }

    /// Large frames in reads of about their size, drained now and then,
    /// by a server (masked frames) and a client (unmasked): a read that
    /// completes a large frame puts what follows in a buffer of its own,
    /// and the frames still come out whole and in order.
    #[test]
    fn large_frames_in_reads_of_their_size(
        items in vec(planned_large(), 1..8),
        key in any::<[u8; 4]>(),
        sizes in vec(prop_oneof![3 => 4000usize..24_000, 1 => 1usize..300], 1..6),
        polls in vec(0u8..4, 1..8),
        server in any::<bool>(),
        polling in polling(),
    ) {
        let (wire, expected) = build_stream_as(&items, key, server);
        let bytes = wire.bytes;
        let bound = bytes.len() + 4;
        let now = Instant::now();
        let mut conn = if server {
            Connection::server(Config::default(), now)
        } else {
            Connection::client(Config::default(), move || key, now)
        };
        let mut events = Vec::new();
        for (i, piece) in pieces(&bytes, &sizes).into_iter().enumerate() {
            conn.handle_data(now, piece);
            // Poll for nothing, for one event (owned or lent), or for all
            // there are.
            match polls[i % polls.len()] {
                0 => {}
                1 => events.extend(conn.poll_event()),
                2 => events.extend(conn.poll_event_ref().map(|event| event.to_event())),
                _ => drain_events_polling(&mut conn, &mut events, bound, polling)?,
            }
        }
        drain_events_polling(&mut conn, &mut events, bound, polling)?;
        prop_assert_eq!(events, expected);
    }
}

/// Mostly frames of a few KiB, the sizes where a read may end inside one,
/// with an occasional short frame, fragment or ping among them.
fn planned_large() -> impl Strategy<Value = Planned> {
    let large = prop_oneof![
        4 => (4096usize..20_000, any::<u8>()).prop_map(|(n, seed)| Payload::Binary(patterned(n, seed))),
        1 => "[a-zé]{3000,6000}".prop_map(Payload::Text),
        1 => vec(any::<u8>(), 0..200).prop_map(Payload::Binary),
    ];
    let control = vec(any::<u8>(), 0..=125);
    prop_oneof![
        8 => (large, vec(any::<Index>(), 0..2), vec((any::<Index>(), control.clone()), 0..2))
            .prop_map(|(payload, cuts, pings)| Planned::Data { payload, cuts, pings }),
        1 => control.prop_map(Planned::Ping),
    ]
}
