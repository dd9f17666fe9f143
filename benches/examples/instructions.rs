//! A fixed amount of Weft's work for valgrind's callgrind, which counts
//! instructions rather than time and so gives the same figure on a noisy
//! machine: `benches/scripts/instructions.sh` runs it at two frame counts
//! and divides the difference, which leaves out the setup. Only the work
//! inside `decode` and `encode` is counted (callgrind's `--toggle-collect`):
//! building the frames to decode, which grows with the count too, is not.
//!
//! ```sh
//! instructions decode|decode-ref|encode|encode-batch SIZE COUNT [text] [unmasked]
//! ```
//!
//! - `decode`: a server (a client with `unmasked`) is fed COUNT frames of
//!   SIZE bytes (`weft_benches::wire`, as the criterion comparison reads), 64 KiB per read as the adapters read, and polls every
//!   event with `poll_event` (owned);
//! - `decode-ref`: the same with `poll_event_ref` (lent);
//! - `encode`: a server queues COUNT binary messages of SIZE bytes, taking
//!   the transmit after each;
//! - `encode-batch`: the same, taking the transmit after every 32.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use weft_benches::wire::{self, MASK};
use weft_proto::bytes::{Buf, Bytes};
use weft_proto::{Config, Connection, Event, EventRef};

/// Bytes handed to the connection per read, as the tokio adapter reads.
const READ: usize = 64 * 1024;

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn decode(wire: &[u8], masked: bool, lent: bool) -> (usize, usize) {
    let now = Instant::now();
    let mut conn = if masked {
        Connection::server(Config::default(), now)
    } else {
        Connection::client(Config::default(), || MASK, now)
    };
    let (mut messages, mut bytes) = (0, 0);
    for read in wire.chunks(READ) {
        conn.handle_data(now, read);
        if lent {
            while let Some(event) = conn.poll_event_ref() {
                messages += 1;
                bytes += match event {
                    EventRef::Text(text) => black_box(text).len(),
                    EventRef::Binary(data) => black_box(data).len(),
                    _ => 0,
                };
            }
        } else {
            while let Some(event) = conn.poll_event() {
                messages += 1;
                bytes += match event {
                    Event::Text(text) => black_box(text).len(),
                    Event::Binary(data) => black_box(data).len(),
                    _ => 0,
                };
            }
        }
    }
    (messages, bytes)
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn encode(size: usize, count: usize, batch: usize) -> (usize, usize) {
    let mut conn = Connection::server(Config::default(), Instant::now());
    let payload = Bytes::from(vec![7u8; size]);
    let mut written = 0;
    for i in 0..count {
        conn.send_binary(payload.clone())
            .expect("the connection is open");
        if (i + 1) % batch != 0 {
            continue;
        }
        while let Some(mut transmit) = conn.poll_transmit() {
            while transmit.has_remaining() {
                let n = black_box(transmit.chunk()).len();
                written += n;
                transmit.advance(n);
            }
        }
    }
    (count, written)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(size), Some(count)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: instructions decode|decode-ref|encode|encode-batch SIZE COUNT [text] [unmasked]");
        return ExitCode::from(2);
    };
    let text = args.iter().any(|a| a == "text");
    let masked = !args.iter().any(|a| a == "unmasked");
    let (messages, bytes) = match mode.as_str() {
        "decode" | "decode-ref" => {
            let wire = wire::frames(size, count, text, masked);
            decode(&wire, masked, mode == "decode-ref")
        }
        "encode" => encode(size, count, 1),
        "encode-batch" => encode(size, count, 32),
        _ => {
            eprintln!("unknown mode {mode}");
            return ExitCode::from(2);
        }
    };
    if messages != count {
        eprintln!("{messages} messages, {count} expected");
        return ExitCode::FAILURE;
    }
    println!("{messages} messages, {bytes} bytes");
    ExitCode::SUCCESS
}
