//! What the property tests share: proptest settings, chunked delivery,
//! polling owned or lent, and generators of payloads, close codes and
//! bytes that are often almost UTF-8.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use weft_proto::bytes::Bytes;
use weft_proto::{Connection, Event, Utf8Bytes};

/// A proptest configuration with `cases` cases and no regression files
/// (failures are reported in the test output instead).
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Splits `data` into consecutive pieces whose sizes cycle through `sizes`
/// (each at least 1).
pub fn pieces<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Piece sizes for chunked delivery: sometimes all single bytes, otherwise a
/// short cycle of small, medium and occasionally large sizes.
pub fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        1 => Just(vec![1]),
        4 => vec(
            prop_oneof![4 => 1usize..=8, 3 => 1usize..=300, 1 => 1usize..=100_000],
            1..10
        ),
    ]
}

/// Deterministic filler bytes, for large payloads that would be slow to
/// generate byte by byte.
pub fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

/// Polls every event the connection has ready, failing the case if
/// `poll_event` does not return `None` within `bound` events.
pub fn drain_events(
    conn: &mut Connection,
    into: &mut Vec<Event>,
    bound: usize,
) -> Result<(), TestCaseError> {
    let mut n = 0;
    while let Some(event) = conn.poll_event() {
        into.push(event);
        n += 1;
        prop_assert!(n <= bound, "poll_event never returned None: {:?}", conn);
    }
    Ok(())
}

/// How events are polled: owned, lent, or each way in turn.
#[derive(Clone, Copy, Debug)]
pub enum Polling {
    Owned,
    Lent,
    Alternating,
}

/// Any of the ways of polling.
pub fn polling() -> impl Strategy<Value = Polling> {
    select(vec![Polling::Owned, Polling::Lent, Polling::Alternating])
}

/// [`drain_events`], polling as `polling` says; lent events are copied
/// with `to_event`. After each lent event the received bytes the
/// connection reports exclude what it lent.
pub fn drain_events_polling(
    conn: &mut Connection,
    into: &mut Vec<Event>,
    bound: usize,
    polling: Polling,
) -> Result<(), TestCaseError> {
    let mut n = 0;
    loop {
        let lend = match polling {
            Polling::Owned => false,
            Polling::Lent => true,
            Polling::Alternating => into.len().is_multiple_of(2),
        };
        let event = if lend {
            let before = conn.buffered_received();
            let Some(event) = conn.poll_event_ref() else {
                break;
            };
            let owned = event.to_event();
            prop_assert_eq!(owned.as_event_ref(), event);
            prop_assert!(conn.buffered_received() <= before);
            owned
        } else {
            match conn.poll_event() {
                Some(event) => event,
                None => break,
            }
        };
        into.push(event);
        n += 1;
        prop_assert!(n <= bound, "polling never returned None: {:?}", conn);
    }
    Ok(())
}

/// Every byte the connection has queued for sending.
pub fn drain_sent(conn: &mut Connection, into: &mut Vec<u8>) {
    while let Some(transmit) = conn.poll_transmit() {
        into.extend_from_slice(&transmit.to_vec());
    }
}

/// A text event.
pub fn text(s: &str) -> Event {
    Event::Text(Utf8Bytes::from(s))
}

/// A binary event.
pub fn binary(data: &[u8]) -> Event {
    Event::Binary(Bytes::copy_from_slice(data))
}

/// A ping event.
pub fn ping(data: &[u8]) -> Event {
    Event::Ping(Bytes::copy_from_slice(data))
}

/// Close codes an endpoint may send.
pub fn sendable_code() -> impl Strategy<Value = u16> {
    prop_oneof![
        select(vec![
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014
        ]),
        3000u16..5000,
    ]
}

/// A close reason that fits a close frame (at most 30 chars of at most 4 bytes).
pub fn close_reason() -> impl Strategy<Value = String> {
    "\\PC{0,30}"
}

/// The content of a data message.
#[derive(Clone, Debug)]
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

/// Text of any kind, sometimes a few hundred characters long.
pub fn text_payload() -> impl Strategy<Value = String> {
    prop_oneof![4 => any::<String>(), 1 => "\\PC{40,400}"]
}

/// Bytes that are often valid UTF-8 and often not, with the troublesome
/// bytes (continuations, overlong and surrogate leads, out-of-range leads)
/// and truncated code points overrepresented.
pub fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
    let tricky = select(vec![
        0x80u8, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF,
        0xF0, 0xF1, 0xF4, 0xF5, 0xFF,
    ]);
    let truncated_char = (any::<char>(), any::<Index>()).prop_map(|(c, i)| {
        let mut buf = [0u8; 4];
        let encoded = c.encode_utf8(&mut buf).as_bytes();
        encoded[..i.index(encoded.len())].to_vec()
    });
    let segment = prop_oneof![
        4 => any::<String>().prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..4),
        1 => vec(tricky, 1..4),
        1 => truncated_char,
    ];
    prop_oneof![
        1 => any::<String>().prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..64),
        4 => vec(segment, 0..8).prop_map(|segments| segments.concat()),
    ]
}
