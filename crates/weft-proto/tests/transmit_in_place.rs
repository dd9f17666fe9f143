//! Writing the send queue where it is (`poll_transmit_ref`): written in
//! pieces of any size, mixed with owned transmits (`poll_transmit`), with
//! pings arriving between the pieces, the peer receives every message
//! whole and in order and a pong for the latest ping, never a pong inside
//! another frame (RFC 6455 5.4, 5.5.3). A peer that pings and never reads
//! cannot grow the queue.

mod common;

use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use weft_proto::bytes::{Buf, Bytes};
use weft_proto::{Config, Event, PreparedMessage};

use common::properties::{config, patterned};
use common::{client, client_frame, events, server};

#[derive(Clone, Debug)]
enum Op {
    /// The server sends a binary message of this length (over 512 bytes,
    /// queued as its own chunk; shorter, packed with its header).
    Send(usize),
    /// The server sends a text message of this length.
    Text(usize),
    /// The server sends a prepared message of this length (its frame
    /// queued as a chunk of its own, shared).
    Prepared(usize),
    /// The client's ping with this one-byte payload arrives at the server.
    Ping(u8),
    /// The server's writer writes this many bytes in place.
    Write(usize),
    /// The server's writer takes an owned transmit and writes it all.
    TakeOwned,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop_oneof![0usize..40, 500usize..600, 1000usize..70_000].prop_map(Op::Send),
        1 => (0usize..2000).prop_map(Op::Text),
        1 => prop_oneof![0usize..40, 1000usize..3000].prop_map(Op::Prepared),
        2 => any::<u8>().prop_map(Op::Ping),
        4 => prop_oneof![Just(0usize), 1usize..8, 1usize..3000, Just(usize::MAX)].prop_map(Op::Write),
        1 => Just(Op::TakeOwned),
    ]
}

/// Writes at most `n` bytes of what the server has queued, in place, as a
/// transport taking `n` bytes would: from the chunks handed out.
fn write_in_place(server: &mut weft_proto::Connection, n: usize, wire: &mut Vec<u8>) {
    let mut left = n;
    while left > 0 {
        let Some(mut t) = server.poll_transmit_ref() else {
            return;
        };
        let mut slices = [std::io::IoSlice::new(&[]); 4];
        let count = t.chunks_vectored(&mut slices);
        assert!(count > 0, "a non-empty transmit gave no chunk");
        assert_eq!(&*slices[0], t.chunk());
        let mut took = 0;
        for slice in &slices[..count] {
            let k = slice.len().min(left - took);
            wire.extend_from_slice(&slice[..k]);
            took += k;
            if took == left {
                break;
            }
        }
        let before = t.remaining();
        t.advance(took);
        assert_eq!(t.remaining(), before - took);
        left -= took;
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn messages_and_pongs_arrive_whole_in_order_at_any_write_size(ops in vec(op(), 1..60)) {
        let now = Instant::now();
        let mut srv = server(Config::default(), now);
        let mut cli = client(Config::default(), now);
        let mut wire = Vec::new();
        let mut sent = Vec::new();
        let mut pings = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Send(len) => {
                    let data = Bytes::from(patterned(len, i as u8));
                    srv.send_binary(data.clone()).unwrap();
                    sent.push(Event::Binary(data));
                }
                Op::Text(len) => {
                    let text: String = "aé€".chars().cycle().take(len).collect();
                    srv.send_text(text.clone()).unwrap();
                    sent.push(Event::Text(text.into()));
                }
                Op::Prepared(len) => {
                    let data = Bytes::from(patterned(len, !(i as u8)));
                    srv.send_prepared(&PreparedMessage::binary(data.clone())).unwrap();
                    sent.push(Event::Binary(data));
                }
                Op::Ping(b) => {
                    srv.handle_data(now, &client_frame(0x89, &[b]));
                    let got = events(&mut srv);
                    prop_assert_eq!(got, vec![Event::Ping(Bytes::from(vec![b]))]);
                    pings.push(b);
                }
                Op::Write(n) => write_in_place(&mut srv, n, &mut wire),
                Op::TakeOwned => {
                    if let Some(t) = srv.poll_transmit() {
                        wire.extend_from_slice(&t.to_vec());
                    }
                }
            }
        }
        write_in_place(&mut srv, usize::MAX, &mut wire);
        prop_assert!(srv.poll_transmit_ref().is_none());
        prop_assert!(srv.poll_transmit().is_none());
        prop_assert_eq!(srv.buffered_amount(), 0);

        cli.handle_data(now, &wire);
        let got = events(&mut cli);
        let (pongs, messages): (Vec<Event>, Vec<Event>) =
            got.into_iter().partition(|e| matches!(e, Event::Pong(_)));
        prop_assert_eq!(messages, sent);
        // Pongs answer pings in order, some merged into a later one, and
        // the latest ping is answered last.
        let pongs: Vec<u8> = pongs
            .iter()
            .map(|p| match p {
                Event::Pong(payload) if payload.len() == 1 => payload[0],
                other => panic!("not a pong for one of the pings: {other:?}"),
            })
            .collect();
        let mut answered = pings.iter();
        for pong in &pongs {
            prop_assert!(
                answered.any(|ping| ping == pong),
                "pong {} out of order: pings {:?}, pongs {:?}", pong, pings, pongs
            );
        }
        prop_assert_eq!(pongs.last(), pings.last());
        prop_assert!(cli.close_reason().is_none());
    }
}

#[test]
fn an_owed_pong_goes_before_frames_not_yet_written() {
    let now = Instant::now();
    let mut srv = server(Config::default(), now);
    srv.send_binary(&b"one"[..]).unwrap();
    srv.handle_data(now, &client_frame(0x89, b"p"));
    assert_eq!(
        events(&mut srv),
        vec![Event::Ping(Bytes::from_static(b"p"))]
    );
    let mut wire = Vec::new();
    write_in_place(&mut srv, usize::MAX, &mut wire);
    assert_eq!(wire, [&[0x8A, 1, b'p'][..], &[0x82, 3], b"one"].concat());
}

#[test]
fn an_owed_pong_waits_for_the_frame_being_written() {
    let now = Instant::now();
    let mut srv = server(Config::default(), now);
    srv.send_binary(&b"one"[..]).unwrap();
    let mut wire = Vec::new();
    // Two bytes out: the frame's header only.
    write_in_place(&mut srv, 2, &mut wire);
    srv.handle_data(now, &client_frame(0x89, b"p"));
    events(&mut srv);
    srv.send_binary(&b"two"[..]).unwrap();
    write_in_place(&mut srv, usize::MAX, &mut wire);
    // The pong goes after everything queued when it was placed.
    assert_eq!(
        wire,
        [&[0x82, 3][..], b"one", &[0x82, 3], b"two", &[0x8A, 1, b'p']].concat()
    );
}

#[test]
fn a_peer_that_pings_and_never_reads_cannot_grow_the_queue() {
    let now = Instant::now();
    let mut srv = server(Config::default(), now);
    // A frame bigger than anything a stuck transport takes, partly written.
    srv.send_binary(vec![1u8; 100_000]).unwrap();
    let mut wire = Vec::new();
    write_in_place(&mut srv, 3, &mut wire);
    let stuck = srv.buffered_amount();
    let ping = vec![9u8; 125];
    for _ in 0..10_000 {
        srv.handle_data(now, &client_frame(0x89, &ping));
        events(&mut srv);
        // The writer tries: the transport takes nothing, or one byte.
        write_in_place(&mut srv, 0, &mut wire);
        if let Some(mut t) = srv.poll_transmit_ref() {
            t.advance(0);
        }
        write_in_place(&mut srv, 1, &mut wire);
    }
    // One pong placed, one owed: at most two pongs' worth queued.
    assert!(
        srv.buffered_amount() <= stuck + 2 * (ping.len() + 14),
        "{} bytes queued, {stuck} before the pings",
        srv.buffered_amount()
    );
}

#[test]
fn a_client_writes_masked_frames_in_place() {
    let now = Instant::now();
    let mut cli = client(Config::default(), now);
    let mut srv = server(Config::default(), now);
    let big = patterned(70_000, 3);
    cli.send_binary(big.clone()).unwrap();
    cli.send_text("small").unwrap();
    let mut wire = Vec::new();
    while let Some(mut t) = cli.poll_transmit_ref() {
        let n = t.chunk().len().min(1000);
        wire.extend_from_slice(&t.chunk()[..n]);
        t.advance(n);
    }
    srv.handle_data(now, &wire);
    assert_eq!(
        events(&mut srv),
        vec![Event::Binary(big.into()), Event::Text("small".into())]
    );
}

#[test]
fn a_queue_written_a_little_at_a_time_while_frames_keep_coming_stays_in_order() {
    // The packing buffer is never empty here, so its written front is
    // dropped as it fills, with large payloads queued between packed frames.
    let now = Instant::now();
    let mut srv = server(Config::default(), now);
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    for i in 0..5_000usize {
        let len = if i % 10 == 9 { 1000 + i % 7 } else { i % 40 };
        let data = Bytes::from(patterned(len, i as u8));
        srv.send_binary(data.clone()).unwrap();
        sent.push(Event::Binary(data));
        write_in_place(&mut srv, 100 + i % 13, &mut wire);
    }
    write_in_place(&mut srv, usize::MAX, &mut wire);
    assert_eq!(srv.buffered_amount(), 0);
    let mut cli = client(Config::default(), now);
    cli.handle_data(now, &wire);
    assert_eq!(events(&mut cli), sent);
}

#[test]
fn advancing_past_the_end_empties_the_queue_and_sending_goes_on() {
    let now = Instant::now();
    let mut srv = server(Config::default(), now);
    srv.send_binary(vec![1u8; 2000]).unwrap();
    srv.send_binary(&b"short"[..]).unwrap();
    let mut wire = Vec::new();
    write_in_place(&mut srv, 7, &mut wire);
    srv.poll_transmit_ref().unwrap().advance(usize::MAX);
    assert_eq!(srv.buffered_amount(), 0);
    assert!(srv.poll_transmit_ref().is_none());
    srv.send_binary(&b"next"[..]).unwrap();
    let mut next = Vec::new();
    write_in_place(&mut srv, usize::MAX, &mut next);
    assert_eq!(next, [&[0x82, 4][..], b"next"].concat());
}

#[test]
fn a_pong_owed_while_a_frame_is_half_written_goes_before_the_close_and_nothing_after() {
    let now = Instant::now();
    let mut srv = server(Config::default(), now);
    srv.send_binary(vec![5u8; 1000]).unwrap();
    let mut wire = Vec::new();
    write_in_place(&mut srv, 500, &mut wire);
    srv.handle_data(now, &client_frame(0x89, b"p"));
    events(&mut srv);
    srv.close(now, weft_proto::CloseCode::NORMAL, "bye")
        .unwrap();
    srv.handle_data(now, &client_frame(0x89, b"q"));
    events(&mut srv);
    write_in_place(&mut srv, usize::MAX, &mut wire);
    let mut cli = client(Config::default(), now);
    cli.handle_data(now, &wire);
    let got = events(&mut cli);
    assert_eq!(got[0], Event::Binary(vec![5u8; 1000].into()));
    assert_eq!(got[1], Event::Pong(Bytes::from_static(b"p")));
    assert!(matches!(got[2], Event::CloseReceived(_)), "{got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    // The close is the last frame: the ping after it got no pong.
    assert!(!wire.ends_with(b"q"));
}
