//! Property tests of robustness against arbitrary input: plausible traffic
//! with odd frames inserted, bytes flipped and the end cut off, or plain
//! noise, fed to a server or a client with small limits. Nothing panics;
//! polling ends; at most one `Closed`, last; messages stay within the
//! limits; the connection sends only pongs for pings it received and at
//! most one close, last, carrying the close code of its failure (RFC 6455
//! 7.4.1) or echoing the peer's (5.5.1). Chunking the input and lending the
//! events change nothing.

mod common;

use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use weft_proto::bytes::Bytes;
use weft_proto::frame::{apply_mask_naive, FrameHeader, OpCode};
use weft_proto::{
    CloseCode, CloseFrame, CloseReason, Config, Connection, Event, MessageKind, ProtocolError, Role,
};

use common::properties::{
    chunk_sizes, close_reason, config, drain_events_polling, drain_sent, patterned, pieces,
    polling, sendable_code, utf8ish, Polling,
};
use common::raw_frame;

/// A masking decision: `masked`, except for the odd frame masked wrongly.
fn frame_mask(masked: bool) -> impl Strategy<Value = Option<[u8; 4]>> {
    (any::<[u8; 4]>(), prop::bool::weighted(0.02))
        .prop_map(move |(key, flip)| (masked != flip).then_some(key))
}

/// The frames of one plausible unit of traffic, masked according to
/// `masked` (occasionally not): valid messages (fragmented or not, text
/// sometimes not UTF-8, sizes around the limits), pings and pongs, and
/// closes (mostly valid).
fn plausible_frames(masked: bool) -> impl Strategy<Value = Vec<u8>> {
    let data = (
        prop_oneof![
            8 => vec(any::<u8>(), 0..130).prop_map(|b| (0x2, b)),
            6 => any::<String>().prop_map(|t| (0x1, t.into_bytes())),
            2 => utf8ish().prop_map(|t| (0x1, t)),
            // Text that ends inside a code point.
            1 => ("\\PC{10,60}", any::<char>()).prop_map(|(t, c)| {
                let mut bytes = t.into_bytes();
                let mut buf = [0u8; 4];
                let c = c.encode_utf8(&mut buf).as_bytes();
                bytes.extend_from_slice(&c[..c.len() - 1]);
                (0x1, bytes)
            }),
            2 => (select(vec![0x1u8, 0x2]), vec(any::<u8>(), 130..1100)),
            1 => (1000usize..5000, any::<u8>()).prop_map(|(n, seed)| (0x2, patterned(n, seed))),
        ],
        prop_oneof![
            // Cuts as fractions of the payload, in 1/65536ths.
            3 => vec(any::<u16>(), 0..6),
            // Evenly spread cuts: large messages in frames under the frame limit.
            1 => (4u32..9).prop_map(|n| (1..n).map(|k| (k * 65536 / n) as u16).collect()),
        ],
        vec(frame_mask(masked), 9),
    )
        .prop_map(|((opcode, payload), cuts, masks)| {
            let mut bounds: Vec<usize> = cuts
                .iter()
                .map(|&c| payload.len() * usize::from(c) / 65536)
                .collect();
            bounds.push(0);
            bounds.push(payload.len());
            bounds.sort_unstable();
            let count = bounds.len() - 1;
            let mut out = Vec::new();
            for (j, w) in bounds.windows(2).enumerate() {
                let fin = if j + 1 == count { 0x80 } else { 0 };
                let op = if j == 0 { opcode } else { 0x0 };
                out.extend_from_slice(&raw_frame(fin | op, &payload[w[0]..w[1]], masks[j % 9]));
            }
            out
        });
    let control = (
        select(vec![0x89u8, 0x8A]),
        vec(any::<u8>(), 0..=125),
        frame_mask(masked),
    )
        .prop_map(|(first, payload, mask)| raw_frame(first, &payload, mask));
    let close_payload = prop_oneof![
        6 => (sendable_code(), close_reason()).prop_map(|(code, reason)| common::close_payload(code, &reason)),
        1 => Just(Vec::new()),
        1 => (any::<u16>(), vec(any::<u8>(), 0..8)).prop_map(|(code, reason)| {
            let mut p = code.to_be_bytes().to_vec();
            p.extend_from_slice(&reason);
            p
        }),
        1 => vec(any::<u8>(), 1..2),
    ];
    let close = (close_payload, frame_mask(masked))
        .prop_map(|(payload, mask)| raw_frame(0x88, &payload, mask));
    prop_oneof![12 => data, 4 => control, 1 => close]
}

/// A frame with an arbitrary first byte (reserved opcodes, RSV bits,
/// fragmented controls, stray continuations) or an overlong control frame.
fn odd_frame(masked: bool) -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![
        3 => any::<u8>(),
        // A final control frame, to pair with a payload over 125 bytes.
        1 => select(vec![0x88u8, 0x89, 0x8A]),
    ];
    let payload = prop_oneof![vec(any::<u8>(), 0..140), vec(any::<u8>(), 126..300)];
    (first, payload, frame_mask(masked))
        .prop_map(|(first, payload, mask)| raw_frame(first, &payload, mask))
}

/// Arbitrary bytes, or plausible traffic with maybe an odd frame or two
/// inserted, a few bytes flipped, and the end cut off. Also returns
/// whether the traffic is masked (as a client sends it).
fn robustness_input() -> impl Strategy<Value = (bool, Vec<u8>)> {
    let traffic = any::<bool>().prop_flat_map(|masked| {
        (
            Just(masked),
            vec(plausible_frames(masked), 0..12),
            prop_oneof![2 => Just(Vec::new()), 1 => vec((any::<Index>(), odd_frame(masked)), 1..3)],
        )
    });
    let flips = prop_oneof![3 => Just(Vec::new()), 1 => vec((any::<Index>(), any::<u8>()), 1..3)];
    prop_oneof![
        1 => (any::<bool>(), vec(any::<u8>(), 0..4096)),
        4 => (traffic, flips, proptest::option::weighted(0.2, any::<Index>()))
            .prop_map(|((masked, mut units, odd), flips, cut)| {
                for (i, frame) in odd {
                    let at = i.index(units.len() + 1);
                    units.insert(at, frame);
                }
                let mut bytes = units.concat();
                if !bytes.is_empty() {
                    for (i, x) in flips {
                        let at = i.index(bytes.len());
                        bytes[at] ^= x;
                    }
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                bytes.truncate(16 << 10);
                (masked, bytes)
            }),
    ]
}

/// A frame the connection sent, unmasked.
#[derive(Debug)]
struct SentFrame {
    opcode: OpCode,
    payload: Vec<u8>,
}

/// Walks `sent` as frames, checking each is well formed for `role`.
fn parse_sent(sent: &[u8], role: Role) -> Result<Vec<SentFrame>, TestCaseError> {
    let mut frames = Vec::new();
    let mut rest = sent;
    while !rest.is_empty() {
        let parsed = FrameHeader::parse(rest);
        let Ok(Some((header, n))) = parsed else {
            return Err(TestCaseError::fail(format!(
                "sent bytes are not a frame: {parsed:?} at {:?}",
                &rest[..rest.len().min(16)]
            )));
        };
        prop_assert_eq!(header.rsv, 0);
        prop_assert!(header.fin, "sent a non-final frame: {:?}", header);
        prop_assert_eq!(
            header.mask.is_some(),
            role == Role::Client,
            "wrong masking for {:?}: {:?}",
            role,
            header
        );
        let len = header.payload_len as usize;
        prop_assert!(
            rest.len() >= n + len,
            "sent a truncated frame: {:?}",
            header
        );
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask_naive(&mut payload, key, 0);
        }
        frames.push(SentFrame {
            opcode: header.opcode,
            payload,
        });
        rest = &rest[n + len..];
    }
    Ok(frames)
}

fn robustness_config(stream: bool) -> Config {
    Config::default()
        .max_frame_size(1024)
        .max_message_size(4096)
        .stream_threshold(stream.then_some(64))
}

fn check_robustness(
    role: Role,
    stream: bool,
    input: &[u8],
    sizes: &[usize],
    flush_each: bool,
    eof: bool,
) -> Result<(Vec<Event>, Vec<u8>), TestCaseError> {
    check_robustness_polling(role, stream, input, sizes, flush_each, eof, Polling::Owned)
}

/// [`check_robustness`], polling as `polling` says.
fn check_robustness_polling(
    role: Role,
    stream: bool,
    input: &[u8],
    sizes: &[usize],
    flush_each: bool,
    eof: bool,
    polling: Polling,
) -> Result<(Vec<Event>, Vec<u8>), TestCaseError> {
    let config = robustness_config(stream);
    let now = Instant::now();
    let mut conn = match role {
        Role::Server => Connection::server(config, now),
        Role::Client => {
            let mut k = 0u32;
            Connection::client(
                config,
                move || {
                    k = k.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    k.to_be_bytes()
                },
                now,
            )
        }
    };
    let mut events = Vec::new();
    let mut sent = Vec::new();
    let mut fed = 0;
    let bound = 2 * input.len() + 4;
    for piece in pieces(input, sizes) {
        conn.handle_data(now, piece);
        fed += piece.len();
        prop_assert!(conn.buffered_received() <= fed);
        drain_events_polling(&mut conn, &mut events, bound, polling)?;
        prop_assert!(conn.buffered_received() <= fed);
        if flush_each {
            drain_sent(&mut conn, &mut sent);
        }
    }
    if eof {
        conn.handle_eof(now);
        drain_events_polling(&mut conn, &mut events, bound, polling)?;
        prop_assert!(conn.buffered_received() <= fed);
    }
    // Quiet once drained, and still quiet when asked again.
    prop_assert!(conn.poll_event().is_none());
    prop_assert!(conn.poll_event().is_none());
    drain_sent(&mut conn, &mut sent);

    // At most one Closed, last; exactly one once the transport ended.
    let closed: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Closed(_)))
        .map(|(i, _)| i)
        .collect();
    prop_assert!(closed.len() <= 1, "several Closed: {:?}", events);
    if let Some(&i) = closed.first() {
        prop_assert_eq!(i, events.len() - 1, "events after Closed: {:?}", events);
        prop_assert!(conn.poll_shutdown(), "ended but no shutdown");
    }
    if eof {
        prop_assert_eq!(closed.len(), 1, "no Closed after EOF: {:?}", events);
    }

    // Messages respect the limits; streamed messages are well formed.
    let threshold = stream.then_some(64usize);
    let mut streamed: Option<(MessageKind, Vec<u8>)> = None;
    for event in &events {
        match event {
            Event::Text(t) => {
                prop_assert!(streamed.is_none(), "whole message inside a streamed one");
                prop_assert!(t.len() <= 4096 && threshold.is_none_or(|t_| t.len() <= t_));
            }
            Event::Binary(b) => {
                prop_assert!(streamed.is_none(), "whole message inside a streamed one");
                prop_assert!(b.len() <= 4096 && threshold.is_none_or(|t_| b.len() <= t_));
            }
            Event::Fragment(f) => {
                prop_assert!(stream, "fragment without a stream threshold");
                prop_assert_eq!(f.is_first, streamed.is_none(), "is_first wrong: {:?}", f);
                let (kind, data) = streamed.get_or_insert((f.kind, Vec::new()));
                prop_assert_eq!(*kind, f.kind);
                data.extend_from_slice(&f.data);
                prop_assert!(data.len() <= 4096);
                if f.is_last {
                    let (kind, data) = streamed.take().unwrap();
                    prop_assert!(data.len() > 64, "streamed a message under the threshold");
                    if kind == MessageKind::Text {
                        prop_assert!(
                            std::str::from_utf8(&data).is_ok(),
                            "streamed text is not UTF-8"
                        );
                    }
                }
            }
            Event::Ping(p) | Event::Pong(p) => prop_assert!(p.len() <= 125),
            _ => {}
        }
    }

    // What was sent: pongs for received pings, then at most one close, last.
    let frames = parse_sent(&sent, role)?;
    let pings: Vec<&Bytes> = events
        .iter()
        .filter_map(|e| match e {
            Event::Ping(p) => Some(p),
            _ => None,
        })
        .collect();
    for (i, frame) in frames.iter().enumerate() {
        match frame.opcode {
            OpCode::Pong => prop_assert!(
                pings.iter().any(|p| p[..] == frame.payload[..]),
                "pong for no ping: {:?}",
                frame
            ),
            OpCode::Close => {
                prop_assert_eq!(i, frames.len() - 1, "frames after close: {:?}", frames);
                prop_assert!(
                    CloseFrame::parse(&frame.payload).is_ok(),
                    "sent an invalid close frame: {:?}",
                    frame
                );
            }
            _ => prop_assert!(false, "sent an unexpected frame: {:?}", frame),
        }
    }
    let last_close_code = frames.last().and_then(|f| {
        (f.opcode == OpCode::Close).then(|| {
            (f.payload.len() >= 2).then(|| u16::from_be_bytes([f.payload[0], f.payload[1]]))
        })
    });
    for event in &events {
        match event {
            Event::Closed(CloseReason::Protocol(e)) => prop_assert_eq!(
                last_close_code,
                Some(Some(e.close_code().as_u16())),
                "failed with {:?}; sent {:?}",
                e,
                frames
            ),
            // The peer's close is echoed: its code, or an empty close.
            Event::CloseReceived(frame) => {
                let echo = (frame.code != CloseCode::NO_STATUS).then_some(frame.code.as_u16());
                prop_assert_eq!(
                    last_close_code,
                    Some(echo),
                    "echo of {:?}; sent {:?}",
                    frame,
                    frames
                );
            }
            _ => {}
        }
    }
    Ok((events, sent))
}

/// Whether a connection failed on a too-long control frame: the error's
/// reported length depends on how much of the header had arrived (the bug
/// `header_errors_do_not_depend_on_how_much_arrived` records).
fn failed_on_long_control(events: &[Event]) -> bool {
    matches!(
        events.last(),
        Some(Event::Closed(CloseReason::Protocol(
            ProtocolError::ControlFrameTooLong(_)
        )))
    )
}

/// Without streaming, chunking changes nothing: not the events, not the
/// error, not the bytes sent (when they are taken at the end). Compares a
/// chunked run with a whole one.
fn check_chunking_changes_nothing(
    role: Role,
    input: &[u8],
    sizes: &[usize],
    flush_each: bool,
    eof: bool,
    skip_known_bug: bool,
) -> Result<(), TestCaseError> {
    let (events, sent) = check_robustness(role, false, input, sizes, flush_each, eof)?;
    let (whole_events, whole_sent) =
        check_robustness(role, false, input, &[usize::MAX], false, eof)?;
    if skip_known_bug && (failed_on_long_control(&events) || failed_on_long_control(&whole_events))
    {
        return Ok(());
    }
    prop_assert_eq!(&events, &whole_events);
    if !flush_each {
        prop_assert_eq!(sent, whole_sent);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_input_is_handled(
        (masked, input) in robustness_input(),
        wrong_role in prop::bool::weighted(0.1),
        sizes in chunk_sizes(),
        stream in any::<bool>(),
        flush_each in any::<bool>(),
        eof in any::<bool>(),
        polling in polling(),
    ) {
        // Masked traffic goes to a server, unmasked to a client, mostly.
        let role = if masked != wrong_role { Role::Server } else { Role::Client };
        check_robustness_polling(role, stream, &input, &sizes, flush_each, eof, polling)?;
        if !stream {
            // Skips inputs that hit the known bug: the strict version is
            // `chunking_changes_nothing`, ignored until it is fixed.
            check_chunking_changes_nothing(role, &input, &sizes, flush_each, eof, true)?;
        }
    }
}

proptest! {
    #![proptest_config(config(1024))]

    /// Lending events changes nothing: the same events, the same bytes
    /// sent, the same state after every event, whatever the input, polled
    /// lent, owned or each way in turn, all at once or one event per read.
    #[test]
    fn lending_changes_nothing(
        (masked, input) in robustness_input(),
        wrong_role in prop::bool::weighted(0.1),
        sizes in chunk_sizes(),
        stream in any::<bool>(),
        one_per_read in any::<bool>(),
        eof in any::<bool>(),
        polling in polling(),
    ) {
        let role = if masked != wrong_role { Role::Server } else { Role::Client };
        let run = |polling| {
            let config = robustness_config(stream);
            run_polled(role, config, &input, &sizes, one_per_read, eof, polling)
        };
        prop_assert_eq!(run(polling)?, run(Polling::Owned)?);
    }
}

/// What a connection did, event by event: each event with the state it
/// left behind (`state`, `is_terminated`, `poll_shutdown`, `poll_timeout`,
/// `buffered_received`), and every byte it sent.
type Polled = (Vec<(Event, String)>, Vec<u8>);

/// Feeds `input` in pieces to a fresh connection, polling as `polling`
/// says after each piece (one event, or until `None`), taking its
/// transmits after each event; then the end of stream if `eof`, and
/// everything left.
fn run_polled(
    role: Role,
    config: Config,
    input: &[u8],
    sizes: &[usize],
    one_per_read: bool,
    eof: bool,
    polling: Polling,
) -> Result<Polled, TestCaseError> {
    let now = Instant::now();
    let mut conn = match role {
        Role::Server => Connection::server(config, now),
        Role::Client => Connection::client(config, || [9, 8, 7, 6], now),
    };
    let mut events = Vec::new();
    let mut sent = Vec::new();
    let mut poll = |conn: &mut Connection, limit: usize| -> Result<(), TestCaseError> {
        for _ in 0..limit {
            let lend = match polling {
                Polling::Owned => false,
                Polling::Lent => true,
                Polling::Alternating => events.len() % 2 == 1,
            };
            let event = if lend {
                conn.poll_event_ref().map(|event| event.to_event())
            } else {
                conn.poll_event()
            };
            let Some(event) = event else {
                return Ok(());
            };
            // After the transmits: a shutdown is due once they are taken.
            drain_sent(conn, &mut sent);
            let state = format!(
                "{:?} {} {} {:?} {}",
                conn.state(),
                conn.is_terminated(),
                conn.poll_shutdown(),
                conn.poll_timeout().map(|t| t.duration_since(now)),
                conn.buffered_received()
            );
            events.push((event, state));
            prop_assert!(events.len() <= 2 * input.len() + 8, "polling never ends");
        }
        Ok(())
    };
    for piece in pieces(input, sizes) {
        conn.handle_data(now, piece);
        poll(&mut conn, if one_per_read { 1 } else { usize::MAX })?;
    }
    if eof {
        conn.handle_eof(now);
    }
    poll(&mut conn, usize::MAX)?;
    drain_sent(&mut conn, &mut sent);
    Ok((events, sent))
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn chunking_changes_nothing(
        (masked, input) in robustness_input(),
        wrong_role in prop::bool::weighted(0.1),
        sizes in chunk_sizes(),
        flush_each in any::<bool>(),
        eof in any::<bool>(),
    ) {
        let role = if masked != wrong_role { Role::Server } else { Role::Client };
        check_chunking_changes_nothing(role, &input, &sizes, flush_each, eof, false)?;
    }
}
