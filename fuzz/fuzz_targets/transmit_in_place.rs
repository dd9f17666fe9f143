//! The send queue written where it is (`poll_transmit_ref`) in pieces the
//! input chooses, mixed with owned transmits (`poll_transmit`), while
//! messages of every size (a server's also prepared, queued shared) are
//! queued and pings arrive: the peer receives
//! every message whole and in order, pongs only between frames and in the
//! pings' order, the latest ping answered last, and the queue ends empty.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::bytes::{Buf, Bytes};
use weft_proto::{Config, Connection, Event, PreparedMessage};

/// Writes at most `n` bytes of what `conn` has queued, from the chunks
/// `chunks_vectored` hands out, as a transport taking `n` bytes would.
fn write_in_place(conn: &mut Connection, mut n: usize, wire: &mut Vec<u8>) {
    while n > 0 {
        let Some(mut transmit) = conn.poll_transmit_ref() else {
            return;
        };
        let mut slices = [std::io::IoSlice::new(&[]); 5];
        let count = transmit.chunks_vectored(&mut slices);
        assert!(count > 0, "a transmit with bytes gave no chunk");
        assert_eq!(&*slices[0], transmit.chunk());
        let mut took = 0;
        for slice in &slices[..count] {
            let k = slice.len().min(n - took);
            wire.extend_from_slice(&slice[..k]);
            took += k;
            if took == n {
                break;
            }
        }
        let before = transmit.remaining();
        transmit.advance(took);
        assert_eq!(transmit.remaining(), before - took);
        n -= took;
    }
}

fuzz_target!(|input: &[u8]| {
    let now = common::now();
    let client_side = input.first().is_some_and(|b| b & 1 == 1);
    let mut sender = if client_side {
        Connection::client(Config::default(), || [1, 2, 3, 4], now)
    } else {
        Connection::server(Config::default(), now)
    };
    let mut peer = if client_side {
        Connection::server(Config::default(), now)
    } else {
        Connection::client(Config::default(), || [5, 6, 7, 8], now)
    };
    // Pings for the sender, framed as its peer would.
    let mut pinger = if client_side {
        Connection::server(Config::default(), now)
    } else {
        Connection::client(Config::default(), || [9, 9, 9, 9], now)
    };
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    let mut pings = Vec::new();
    for (i, op) in input.chunks(3).enumerate().skip(1) {
        let [code, a, b] = *op else { break };
        let arg = usize::from(a) << 8 | usize::from(b);
        match code % 6 {
            // A message: short (packed), around the copy threshold, or long
            // (queued as its own chunk on a server).
            0 | 1 => {
                let len = match (code / 6) % 3 {
                    0 => arg % 130,
                    1 => 400 + arg % 300,
                    _ => arg * 2,
                };
                let data = Bytes::from(vec![i as u8; len]);
                if code & 0x80 != 0 && !client_side {
                    // A frame built once elsewhere, queued shared.
                    sender
                        .send_prepared(&PreparedMessage::binary(data.clone()))
                        .unwrap();
                    sent.push(Event::Binary(data));
                } else if code & 0x40 != 0 {
                    let text = String::from_utf8(vec![b'a' + (i % 26) as u8; len]).unwrap();
                    sender.send_text(text.clone()).unwrap();
                    sent.push(Event::Text(text.into()));
                } else {
                    sender.send_binary(data.clone()).unwrap();
                    sent.push(Event::Binary(data));
                }
            }
            2 => {
                pinger.ping(vec![a]).unwrap();
                while let Some(t) = pinger.poll_transmit() {
                    sender.handle_data(now, &t.to_vec());
                }
                while let Some(event) = sender.poll_event() {
                    assert_eq!(event, Event::Ping(Bytes::from(vec![a])));
                }
                pings.push(a);
            }
            3 | 4 => write_in_place(&mut sender, arg % 3000, &mut wire),
            _ => {
                if let Some(t) = sender.poll_transmit() {
                    wire.extend_from_slice(&t.to_vec());
                }
            }
        }
    }
    write_in_place(&mut sender, usize::MAX, &mut wire);
    assert!(sender.poll_transmit_ref().is_none());
    assert_eq!(sender.buffered_amount(), 0);
    peer.handle_data(now, &wire);
    let mut messages = Vec::new();
    let mut pongs = Vec::new();
    while let Some(event) = peer.poll_event() {
        match event {
            Event::Pong(payload) => pongs.push(payload),
            other => messages.push(other),
        }
    }
    assert_eq!(messages, sent);
    // Pongs answer pings in order, some merged into a later one, and the
    // latest ping is answered last.
    let mut answered = pings.iter();
    for pong in &pongs {
        assert!(
            pong.len() == 1 && answered.any(|ping| *ping == pong[0]),
            "pong {pong:?} out of order: pings {pings:?}, pongs {pongs:?}"
        );
    }
    assert_eq!(pongs.last().map(|p| p[0]), pings.last().copied());
    assert!(peer.close_reason().is_none());
});
