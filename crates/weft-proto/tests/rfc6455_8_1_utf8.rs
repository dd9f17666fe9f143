//! RFC 6455 8.1: text must be UTF-8; an endpoint fails the connection with
//! 1007 as soon as the bytes received can no longer be valid.

mod common;

use std::time::Instant;

use common::*;
use weft_proto::{CloseReason, Config, Event, ProtocolError, Utf8Validator};

fn fails_with_1007(events: &[Event]) -> bool {
    matches!(
        closed_reason(events),
        Some(CloseReason::Protocol(ProtocolError::InvalidUtf8))
    )
}

#[test]
fn valid_text_of_every_width_is_delivered() {
    let now = Instant::now();
    let text = "a ü € 𝄞 κόσμε";
    let mut s = server(Config::default(), now);
    assert_eq!(
        feed(&mut s, now, &client_frame(0x81, text.as_bytes())),
        vec![Event::Text(text.into())]
    );
}

#[test]
fn invalid_text_in_one_frame_fails_with_1007() {
    let now = Instant::now();
    for bad in [
        &b"\xFF"[..],
        b"\xC0\xAF",         // overlong '/'
        b"\xED\xA0\x80",     // a surrogate
        b"\xF4\x90\x80\x80", // above U+10FFFF
        b"ok\xE2\x82",       // truncated at the end
    ] {
        let mut s = server(Config::default(), now);
        let events = feed(&mut s, now, &client_frame(0x81, bad));
        assert!(fails_with_1007(&events), "{bad:?}: {events:?}");
        let out = sent(&mut s);
        assert_eq!(&out[2..4], &1007u16.to_be_bytes());
    }
}

#[test]
fn invalid_text_fails_fast_inside_an_incomplete_frame() {
    // Autobahn 6.4.3: the frame's payload arrives in pieces; the bad bytes
    // fail the connection before the rest of the frame comes.
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let payload =
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64";
    let wire = client_frame(0x81, payload);
    assert!(feed(&mut s, now, &wire[..6 + 11]).is_empty());
    let events = feed(&mut s, now, &wire[17..19]);
    assert!(fails_with_1007(&events), "{events:?}");
}

#[test]
fn invalid_text_fails_fast_in_an_early_fragment() {
    // Autobahn 6.4.1: the first fragment is valid, the second is not; the
    // third never needs to arrive.
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    assert!(feed(&mut s, now, &client_frame(0x01, b"\xce\xba\xe1\xbd\xb9")).is_empty());
    let events = feed(&mut s, now, &client_frame(0x00, b"\xf4\x90\x80\x80"));
    assert!(fails_with_1007(&events), "{events:?}");
}

#[test]
fn a_code_point_split_across_fragments_is_valid() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let text = "𝄞".as_bytes();
    let mut wire = Vec::new();
    for (i, byte) in text.iter().enumerate() {
        let first = match (i, i == text.len() - 1) {
            (0, _) => 0x01,
            (_, true) => 0x80,
            _ => 0x00,
        };
        wire.extend(client_frame(first, &[*byte]));
    }
    assert_eq!(feed(&mut s, now, &wire), vec![Event::Text("𝄞".into())]);
}

#[test]
fn a_message_ending_inside_a_code_point_fails_with_1007() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = client_frame(0x01, b"\xF0\x9D");
    wire.extend(client_frame(0x80, b"\x84"));
    assert!(fails_with_1007(&feed(&mut s, now, &wire)));
}

#[test]
fn validator_rejects_impossible_prefixes_at_once() {
    for prefix in [
        &b"\xC0"[..],
        b"\xC1",
        b"\xF5",
        b"\xE0\x80",
        b"\xED\xA0",
        b"\xF0\x80",
        b"\xF4\x90",
    ] {
        let mut v = Utf8Validator::new();
        assert!(v.feed(prefix).is_err(), "{prefix:?}");
    }
    for prefix in [
        &b"\xC2"[..],
        b"\xE0\xA0",
        b"\xED\x9F",
        b"\xF0\x90\x80",
        b"\xF4\x8F\xBF",
    ] {
        let mut v = Utf8Validator::new();
        assert!(v.feed(prefix).is_ok(), "{prefix:?}");
        assert!(!v.is_complete());
    }
}

#[test]
fn a_text_frame_cut_anywhere_is_delivered_whole() {
    // A frame longer than one read arrives in pieces: each is checked as it
    // comes (a cut may fall inside a code point) and the text is whole.
    let now = Instant::now();
    let text = "κόσμε 𝄞 ü €".repeat(9);
    let wire = client_frame(0x81, text.as_bytes());
    for first in 1..wire.len() {
        for second in [first + 1, (first + wire.len()) / 2, wire.len()] {
            let second = second.clamp(first, wire.len());
            let mut s = server(Config::default(), now);
            let mut events = feed(&mut s, now, &wire[..first]);
            events.extend(feed(&mut s, now, &wire[first..second]));
            events.extend(feed(&mut s, now, &wire[second..]));
            assert_eq!(
                events,
                vec![Event::Text(text.as_str().into())],
                "cut at {first}, {second}"
            );
            assert_eq!(s.buffered_amount(), 0);
        }
    }
}

#[test]
fn a_text_frame_in_pieces_ending_inside_a_code_point_fails_with_1007() {
    let now = Instant::now();
    let mut payload = "κόσμε".repeat(20).into_bytes();
    payload.extend_from_slice(b"\xE2\x82"); // the start of '€', cut short
    let wire = client_frame(0x81, &payload);
    let mut s = server(Config::default(), now);
    assert!(feed(&mut s, now, &wire[..50]).is_empty());
    let events = feed(&mut s, now, &wire[50..]);
    assert!(fails_with_1007(&events), "{events:?}");
}
