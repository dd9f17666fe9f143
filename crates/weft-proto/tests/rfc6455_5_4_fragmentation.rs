//! RFC 6455 5.4: fragmentation, reassembly with interleaved control frames,
//! sequence errors, sending fragments, and streaming large messages.

mod common;

use std::time::Instant;

use common::*;
use weft_proto::{CloseReason, Config, Event, Fragment, MessageKind, ProtocolError, SendError};

#[test]
fn fragments_reassemble_with_control_frames_interleaved() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = client_frame(0x01, b"Hel");
    wire.extend(client_frame(0x89, b"ping in between"));
    wire.extend(client_frame(0x00, b"lo, "));
    wire.extend(client_frame(0x8A, b"pong in between"));
    wire.extend(client_frame(0x00, b""));
    wire.extend(client_frame(0x80, b"world"));
    assert_eq!(
        feed(&mut s, now, &wire),
        vec![
            Event::Ping("ping in between".into()),
            Event::Pong("pong in between".into()),
            Event::Text("Hello, world".into()),
        ]
    );
    // The ping was answered while the message was still incomplete.
    assert_eq!(sent(&mut s), server_frame(0x8A, b"ping in between"));
}

#[test]
fn binary_fragments_reassemble() {
    let now = Instant::now();
    let mut c = client(Config::default(), now);
    let mut wire = server_frame(0x02, &[1; 300]);
    wire.extend(server_frame(0x00, &[2; 70_000]));
    wire.extend(server_frame(0x80, &[3; 5]));
    let mut expected = vec![1u8; 300];
    expected.extend([2; 70_000]);
    expected.extend([3; 5]);
    assert_eq!(
        feed(&mut c, now, &wire),
        vec![Event::Binary(expected.into())]
    );
}

#[test]
fn continuation_without_a_message_fails_with_1002() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let events = feed(&mut s, now, &client_frame(0x80, b"orphan"));
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(
            ProtocolError::UnexpectedContinuation
        ))
    );
}

#[test]
fn new_message_inside_a_fragmented_one_fails_with_1002() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = client_frame(0x01, b"first");
    wire.extend(client_frame(0x81, b"second"));
    let events = feed(&mut s, now, &wire);
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::ExpectedContinuation))
    );
}

#[test]
fn sent_fragments_have_the_right_opcodes_and_fin_bits() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.send_fragment(MessageKind::Text, "Hel", false).unwrap();
    s.ping("p").unwrap();
    s.send_fragment(MessageKind::Text, "lo", false).unwrap();
    s.send_fragment(MessageKind::Text, "", true).unwrap();
    let mut expected = server_frame(0x01, b"Hel");
    expected.extend(server_frame(0x89, b"p"));
    expected.extend(server_frame(0x00, b"lo"));
    expected.extend(server_frame(0x80, b""));
    assert_eq!(sent(&mut s), expected);
}

#[test]
fn no_other_message_while_sending_fragments() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.send_fragment(MessageKind::Binary, vec![1u8], false)
        .unwrap();
    assert_eq!(s.send_text("x"), Err(SendError::FragmentInProgress));
    assert_eq!(
        s.send_fragment(MessageKind::Text, "x", true),
        Err(SendError::FragmentInProgress)
    );
    s.send_fragment(MessageKind::Binary, vec![2u8], true)
        .unwrap();
    s.send_text("after").unwrap();
}

#[test]
fn text_fragments_may_split_a_code_point_but_must_join_into_utf8() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let euro = "€".as_bytes();
    s.send_fragment(MessageKind::Text, euro[..1].to_vec(), false)
        .unwrap();
    s.send_fragment(MessageKind::Text, euro[1..].to_vec(), true)
        .unwrap();
    // Invalid bytes are refused, and nothing is queued.
    let before = s.buffered_amount();
    assert_eq!(
        s.send_fragment(MessageKind::Text, vec![0xFFu8], false),
        Err(SendError::InvalidUtf8)
    );
    // Ending inside a code point is refused too.
    assert_eq!(
        s.send_fragment(MessageKind::Text, euro[..2].to_vec(), true),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(s.buffered_amount(), before);
}

fn fragment(kind: MessageKind, data: &[u8], is_first: bool, is_last: bool) -> Event {
    Event::Fragment(Fragment {
        kind,
        data: data.to_vec().into(),
        is_first,
        is_last,
    })
}

#[test]
fn messages_up_to_the_stream_threshold_arrive_whole() {
    let now = Instant::now();
    let mut s = server(Config::default().stream_threshold(Some(10)), now);
    let mut wire = client_frame(0x82, &[1; 10]);
    wire.extend(client_frame(0x02, &[2; 5]));
    wire.extend(client_frame(0x80, &[3; 5]));
    assert_eq!(
        feed(&mut s, now, &wire),
        vec![
            Event::Binary(vec![1; 10].into()),
            Event::Binary([[2; 5], [3; 5]].concat().into())
        ]
    );
}

#[test]
fn a_large_frame_streams_as_its_bytes_arrive() {
    let now = Instant::now();
    let mut s = server(Config::default().stream_threshold(Some(10)), now);
    let payload: Vec<u8> = (0..100u8).collect();
    let wire = client_frame(0x82, &payload);
    // Header plus 30 payload bytes: delivered at once, before the rest.
    let events = feed(&mut s, now, &wire[..6 + 30]);
    assert_eq!(
        events,
        vec![fragment(MessageKind::Binary, &payload[..30], true, false)]
    );
    let events = feed(&mut s, now, &wire[36..]);
    assert_eq!(
        events,
        vec![fragment(MessageKind::Binary, &payload[30..], false, true)]
    );
    // Nothing of the message stays buffered.
    assert_eq!(s.buffered_received(), 0);
}

#[test]
fn a_fragmented_message_switches_to_streaming_when_it_crosses_the_threshold() {
    let now = Instant::now();
    let mut s = server(Config::default().stream_threshold(Some(10)), now);
    let mut wire = client_frame(0x01, b"abcd");
    wire.extend(client_frame(0x00, b"efgh"));
    assert!(feed(&mut s, now, &wire).is_empty());
    let events = feed(&mut s, now, &client_frame(0x00, b"ijkl"));
    assert_eq!(
        events,
        vec![
            fragment(MessageKind::Text, b"abcdefgh", true, false),
            fragment(MessageKind::Text, b"ijkl", false, false),
        ]
    );
    let events = feed(&mut s, now, &client_frame(0x80, b""));
    assert_eq!(events, vec![fragment(MessageKind::Text, b"", false, true)]);
    // The next message starts afresh, whole.
    assert_eq!(
        feed(&mut s, now, &client_frame(0x81, b"small")),
        vec![Event::Text("small".into())]
    );
}

#[test]
fn streamed_text_is_validated_as_it_arrives() {
    let now = Instant::now();
    let mut s = server(Config::default().stream_threshold(Some(4)), now);
    let wire = client_frame(0x81, b"valid start \xF4\x90 then junk");
    // Only the valid start has arrived: delivered.
    let events = feed(&mut s, now, &wire[..6 + 12]);
    assert_eq!(
        events,
        vec![fragment(MessageKind::Text, b"valid start ", true, false)]
    );
    // The impossible sequence fails the connection at once.
    let events = feed(&mut s, now, &wire[18..20]);
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn streamed_text_ending_inside_a_code_point_fails_with_1007() {
    let now = Instant::now();
    let mut s = server(Config::default().stream_threshold(Some(1)), now);
    let events = feed(&mut s, now, &client_frame(0x81, b"ab\xE2\x82"));
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn stream_threshold_still_enforces_the_message_limit() {
    let now = Instant::now();
    let config = Config::default()
        .stream_threshold(Some(10))
        .max_message_size(50);
    let mut s = server(config, now);
    let events = feed(&mut s, now, &client_frame(0x02, &[0; 40]));
    assert_eq!(
        events,
        vec![fragment(MessageKind::Binary, &[0; 40], true, false)]
    );
    let events = feed(&mut s, now, &client_frame(0x80, &[0; 11]));
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::MessageTooLarge {
            len: 51,
            max: 50
        }))
    ));
}
