//! A server or a client fed frames large enough to straddle reads, built
//! from a short description: the receive path's walk over frame headers,
//! its unmasking while copying, and its second buffer for what follows a
//! frame that a read completes. The stream is fed in chunks of up to
//! 64 KiB with the events polled after each chunk not at all, once (owned
//! or lent), or until none is left (owned, lent or each way in turn).
//!
//! Invariant: the events are those of the same stream fed in one piece
//! and drained once (the chunking and the polling change nothing), with
//! `Drain`'s checks besides. Records may ask for invalid UTF-8, a wrongly
//! masked frame or a stray continuation, so failures are compared too.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::{Config, Connection};

/// The most stream bytes one input builds.
const MAX_WIRE: usize = 2 << 20;

fuzz_target!(|input: &[u8]| {
    let [flags, c0, c1, c2, p0, p1, records @ ..] = input else {
        return;
    };
    let client = flags & 1 != 0;
    let wire = build(records, !client);
    let scale = if flags & 2 != 0 { 256 } else { 64 };
    let sizes: Vec<usize> = [c0, c1, c2]
        .iter()
        .map(|&&c| (usize::from(c) + 1) * scale)
        .collect();
    let polls = u16::from_le_bytes([*p0, *p1]);

    let mut whole = connection(client);
    let mut expected = common::Drain::new();
    whole.handle_data(common::now(), &wire);
    expected.drain(&mut whole);

    let mut conn = connection(client);
    let mut got = common::Drain::polling(common::Polling::from_byte(flags >> 2));
    let mut rest = &wire[..];
    let mut i = 0;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(sizes[i % sizes.len()].min(rest.len()));
        conn.handle_data(common::now(), chunk);
        rest = after;
        match (polls >> (2 * (i % 8))) & 3 {
            0 => {}
            1 => got.events.extend(conn.poll_event()),
            2 => got.events.extend(conn.poll_event_ref().map(|e| e.to_event())),
            _ => got.drain(&mut conn),
        }
        i += 1;
    }
    got.drain(&mut conn);
    assert_eq!(got.events, expected.events, "chunking changed the events");
});

fn connection(client: bool) -> Connection {
    let now = common::now();
    if client {
        Connection::client(Config::default(), || [0x12, 0x34, 0x56, 0x78], now)
    } else {
        Connection::server(Config::default(), now)
    }
}

/// Frames from 3-byte records `[kind, size, seed]`: binary, text, ping or
/// a message in two fragments, of up to about 16 KiB (or 256 KiB when
/// `kind` says so), masked as a client sends when `masked`.
fn build(records: &[u8], masked: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    for record in records.chunks_exact(3) {
        let [kind, size, seed] = [record[0], record[1], record[2]];
        let mut len = usize::from(size) * 64 + usize::from(kind >> 4);
        if kind & 4 != 0 {
            len *= 16;
        }
        // A wrongly masked frame now and then: a protocol error.
        let mask = masked != (kind & 0xC0 == 0xC0);
        match kind & 3 {
            0 => frame(&mut wire, 0x82, &payload(len, seed, false), mask, seed),
            1 => {
                let bad = kind & 8 != 0 && seed & 1 != 0;
                frame(&mut wire, 0x81, &payload(len, seed, !bad), mask, seed);
            }
            2 => frame(&mut wire, 0x89, &payload(usize::from(size) % 126, seed, false), mask, seed),
            _ => {
                let data = payload(len, seed, kind & 8 != 0);
                let (first, second) = data.split_at(len / 2);
                let opcode = if kind & 8 != 0 { 0x01 } else { 0x02 };
                frame(&mut wire, opcode, first, mask, seed);
                // A ping between the fragments, or (rarely) none of the
                // continuation at all: the next message is then an error.
                if seed & 7 == 0 {
                    frame(&mut wire, 0x89, b"between", mask, seed);
                }
                if kind & 0xF0 != 0xF0 {
                    frame(&mut wire, 0x80, second, mask, seed.wrapping_add(1));
                }
            }
        }
        if wire.len() > MAX_WIRE {
            break;
        }
    }
    wire
}

/// `len` bytes from `seed`: ASCII text when `text`, else any bytes (an
/// 0xFF among them makes text invalid).
fn payload(len: usize, seed: u8, text: bool) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let b = (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8;
            if text {
                b'a' + b % 26
            } else {
                b
            }
        })
        .collect()
}

fn frame(wire: &mut Vec<u8>, first: u8, payload: &[u8], masked: bool, seed: u8) {
    wire.push(first);
    let bit = if masked { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        wire.push(bit | n as u8);
    } else if n <= usize::from(u16::MAX) {
        wire.push(bit | 126);
        wire.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        wire.push(bit | 127);
        wire.extend_from_slice(&(n as u64).to_be_bytes());
    }
    if masked {
        let key = [seed, seed ^ 0x5a, seed.wrapping_add(77), !seed];
        wire.extend_from_slice(&key);
        wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        wire.extend_from_slice(payload);
    }
}
