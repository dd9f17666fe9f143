//! Property test of messages round tripping through an in-memory client and
//! server (`common::Pair`): any mix of text, binary, pings and messages
//! sent with `send_fragment` (RFC 6455 5.4), from either side, delivered in
//! pieces of any size, arrives whole and in order; pongs answer the side's
//! own pings; and the closing handshake from either side (RFC 6455 7.1.2)
//! ends both cleanly, each side half-closing.

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use weft_proto::bytes::Bytes;
use weft_proto::{CloseCode, CloseFrame, CloseReason, Event, MessageKind};

use common::properties::{
    binary, close_reason, config, patterned, ping, sendable_code, text, text_payload, Payload,
};
use common::Pair;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

#[derive(Clone, Debug)]
enum Op {
    Text(Side, String),
    Binary(Side, Vec<u8>),
    Ping(Side, Vec<u8>),
    /// A message sent with `send_fragment`, cut at `cuts` (fractions of its
    /// length in 1/65536ths, so text may be cut inside a code point), with
    /// a ping sent after its first fragment.
    Fragmented(Side, Payload, Vec<u16>, Option<Vec<u8>>),
    /// Let the pair run this many rounds before the next command.
    Step(u8),
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Client), Just(Side::Server)]
}

fn op() -> impl Strategy<Value = Op> {
    let binary = prop_oneof![
        15 => vec(any::<u8>(), 0..300),
        1 => (0usize..70_000, any::<u8>()).prop_map(|(n, seed)| patterned(n, seed)),
    ];
    prop_oneof![
        4 => (side(), text_payload()).prop_map(|(s, t)| Op::Text(s, t)),
        4 => (side(), binary).prop_map(|(s, b)| Op::Binary(s, b)),
        2 => (side(), vec(any::<u8>(), 0..=125)).prop_map(|(s, p)| Op::Ping(s, p)),
        2 => (
            side(),
            prop_oneof![
                text_payload().prop_map(Payload::Text),
                vec(any::<u8>(), 0..600).prop_map(Payload::Binary),
            ],
            vec(any::<u16>(), 0..5),
            proptest::option::of(vec(any::<u8>(), 0..=125)),
        )
            .prop_map(|(s, payload, cuts, ping)| Op::Fragmented(s, payload, cuts, ping)),
        1 => (0u8..6).prop_map(Op::Step),
    ]
}

/// Whether `sub` is a subsequence of `of`.
fn is_subsequence(sub: &[&Bytes], of: &[Vec<u8>]) -> bool {
    let mut of = of.iter();
    sub.iter().all(|s| of.any(|o| s[..] == o[..]))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn messages_round_trip_through_a_pair(
        ops in vec(op(), 0..14),
        chunk in prop_oneof![1usize..=16, 17usize..=4096, Just(usize::MAX)],
        closer in side(),
        code in sendable_code(),
        reason in close_reason(),
    ) {
        let mut pair = Pair::new();
        pair.chunk = chunk;
        let mut to_server = Vec::new();
        let mut to_client = Vec::new();
        let mut client_pings = Vec::new();
        let mut server_pings = Vec::new();
        for op in ops {
            match op {
                Op::Text(side, t) => {
                    let (conn, expected) = match side {
                        Side::Client => (&mut pair.client, &mut to_server),
                        Side::Server => (&mut pair.server, &mut to_client),
                    };
                    conn.send_text(t.clone()).unwrap();
                    expected.push(text(&t));
                }
                Op::Binary(side, b) => {
                    let (conn, expected) = match side {
                        Side::Client => (&mut pair.client, &mut to_server),
                        Side::Server => (&mut pair.server, &mut to_client),
                    };
                    expected.push(binary(&b));
                    conn.send_binary(b).unwrap();
                }
                Op::Ping(side, p) => {
                    let (conn, expected, pings) = match side {
                        Side::Client => (&mut pair.client, &mut to_server, &mut client_pings),
                        Side::Server => (&mut pair.server, &mut to_client, &mut server_pings),
                    };
                    conn.ping(p.clone()).unwrap();
                    expected.push(ping(&p));
                    pings.push(p);
                }
                Op::Fragmented(side, payload, cuts, ping_after) => {
                    let (conn, expected, pings) = match side {
                        Side::Client => (&mut pair.client, &mut to_server, &mut client_pings),
                        Side::Server => (&mut pair.server, &mut to_client, &mut server_pings),
                    };
                    let (kind, bytes, event) = match &payload {
                        Payload::Text(t) => (MessageKind::Text, t.as_bytes(), text(t)),
                        Payload::Binary(b) => (MessageKind::Binary, &b[..], binary(b)),
                    };
                    let mut bounds: Vec<usize> = cuts
                        .iter()
                        .map(|&c| bytes.len() * usize::from(c) / 65536)
                        .collect();
                    bounds.push(0);
                    bounds.push(bytes.len());
                    bounds.sort_unstable();
                    let count = bounds.len() - 1;
                    let mut event = Some(event);
                    for (j, w) in bounds.windows(2).enumerate() {
                        let piece = Bytes::copy_from_slice(&bytes[w[0]..w[1]]);
                        let is_last = j + 1 == count;
                        conn.send_fragment(kind, piece, is_last).unwrap();
                        if is_last {
                            expected.extend(event.take());
                        }
                        if j == 0 {
                            if let Some(p) = &ping_after {
                                conn.ping(p.clone()).unwrap();
                                expected.push(ping(p));
                                pings.push(p.clone());
                            }
                        }
                    }
                }
                Op::Step(n) => {
                    for _ in 0..n {
                        pair.step();
                    }
                }
            }
        }
        let now = pair.now;
        match closer {
            Side::Client => pair.client.close(now, CloseCode(code), &reason).unwrap(),
            Side::Server => pair.server.close(now, CloseCode(code), &reason).unwrap(),
        }
        pair.drive();
        let (client_events, server_events) = pair.take_events();

        // The closer gets its code back with an empty reason; the other side
        // reports the close it received, then ends with it.
        let sent_frame = CloseFrame::new(CloseCode(code), reason.clone());
        let echo = CloseFrame::new(CloseCode(code), "");
        let (client_end, server_end) = match closer {
            Side::Client => (
                vec![Event::Closed(CloseReason::Clean(echo))],
                vec![
                    Event::CloseReceived(sent_frame.clone()),
                    Event::Closed(CloseReason::Clean(sent_frame)),
                ],
            ),
            Side::Server => (
                vec![
                    Event::CloseReceived(sent_frame.clone()),
                    Event::Closed(CloseReason::Clean(sent_frame)),
                ],
                vec![Event::Closed(CloseReason::Clean(echo))],
            ),
        };

        for (events, mut expected, own_pings, end, name) in [
            (&client_events, to_client, &client_pings, client_end, "client"),
            (&server_events, to_server, &server_pings, server_end, "server"),
        ] {
            // Pongs answer this side's own pings: some of them, in order
            // (pings answered together share one pong).
            let pongs: Vec<&Bytes> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Pong(p) => Some(p),
                    _ => None,
                })
                .collect();
            prop_assert!(
                is_subsequence(&pongs, own_pings),
                "{} got pongs {:?} for pings {:?}", name, pongs, own_pings
            );
            let rest: Vec<Event> = events
                .iter()
                .filter(|e| !matches!(e, Event::Pong(_)))
                .cloned()
                .collect();
            expected.extend(end);
            prop_assert_eq!(rest, expected, "{} events", name);
        }
        prop_assert!(pair.client_shut && pair.server_shut);
        prop_assert!(pair.client.poll_event().is_none());
        prop_assert!(pair.server.poll_event().is_none());
    }
}
