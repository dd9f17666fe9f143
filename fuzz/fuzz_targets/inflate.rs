//! Inflating: arbitrary bytes as the payload of compressed messages (RSV1)
//! in frames of arbitrary sizes, to a server with permessage-deflate and a
//! small message limit.
//!
//! Invariants: no panic; the message limit holds whatever the bytes
//! inflate to (a message is delivered only within it, else 1009 or 1007);
//! buffered memory stays bounded; the stream threshold bounds fragments.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::{DeflateConfig, DeflateParams};
use weft_proto::{Config, Connection, Event};

const LIMIT: usize = 64 * 1024;

fuzz_target!(|input: &[u8]| {
    let [flags, s0, s1, data @ ..] = input else {
        return;
    };
    let mut config = Config::default()
        .max_message_size(LIMIT)
        .deflate(Some(DeflateConfig::default()));
    if flags & 1 != 0 {
        config = config.stream_threshold(Some(4096));
    }
    let now = common::now();
    let mut conn = Connection::server(config, now);
    conn.enable_deflate(DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: flags & 2 != 0,
        server_max_window_bits: 15,
        client_max_window_bits: 8 + (flags >> 2) % 8,
    });
    // The input's pieces become the frames of one compressed message.
    let pieces = common::chunks(data, &[*s0, *s1]);
    let mut wire = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == pieces.len();
        let byte0 = u8::from(last) << 7 | if first { 0x42 } else { 0x00 };
        wire.push(byte0);
        let len = piece.len();
        if len < 126 {
            wire.push(0x80 | len as u8);
        } else {
            wire.push(0x80 | 126);
            wire.extend_from_slice(&(len as u16).to_be_bytes());
        }
        wire.extend_from_slice(&[0, 0, 0, 0]);
        wire.extend_from_slice(piece);
    }
    conn.handle_data(now, &wire);
    let mut total = 0usize;
    while let Some(event) = conn.poll_event() {
        assert!(conn.buffered_received() <= wire.len() + 2 * LIMIT);
        match event {
            Event::Binary(b) => total += b.len(),
            Event::Fragment(f) => {
                assert!(f.data.len() <= 2 * 4096);
                total += f.data.len();
            }
            Event::Closed(_) => break,
            _ => {}
        }
        assert!(total <= LIMIT, "delivered {total} bytes past the limit");
    }
});
