//! A fixed amount of Weft's work for valgrind's callgrind, which counts
//! instructions rather than time and so gives the same figure on a noisy
//! machine: `benches/scripts/instructions.sh` runs it at two frame counts
//! and divides the difference, which leaves out the setup. Only the work
//! inside `decode` and `encode` is counted (callgrind's `--toggle-collect`):
//! building the frames to decode, which grows with the count too, is not.
//!
//! ```sh
//! instructions decode|decode-ref|encode|encode-batch|encode-owned|encode-batch-owned|decode-PEER|encode-PEER SIZE COUNT [text] [unmasked]
//! ```
//!
//! - `decode`: a server (a client with `unmasked`) is fed COUNT frames of
//!   SIZE bytes (`weft_benches::wire`, as the criterion comparison reads), 64 KiB per read as the adapters read, and polls every
//!   event with `poll_event` (owned);
//! - `decode-ref`: the same with `poll_event_ref` (lent);
//! - `encode`: a server queues COUNT binary messages of SIZE bytes,
//!   writing the queue in place (`poll_transmit_ref`) after each;
//! - `encode-batch`: the same, writing after every 32;
//! - `encode-owned` and `encode-batch-owned`: the same with owned
//!   transmits (`poll_transmit`);
//! - `decode-PEER` and `encode-PEER`, PEER one of `tungstenite`,
//!   `fastwebsockets`, `tokio-websockets`: the same work through the peer's
//!   message API, as the criterion comparison does it, for a figure to
//!   compare with.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use weft_benches::memory::{block_on, Memory};
use weft_benches::wire::{self, MASK};
use weft_proto::bytes::{Buf, Bytes};
use weft_proto::{Config, Connection, Event, EventRef};

use weft_benches::memory::READ;

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
fn encode(size: usize, count: usize, batch: usize, owned: bool) -> (usize, usize) {
    let mut conn = Connection::server(Config::default(), Instant::now());
    let payload = Bytes::from(vec![7u8; size]);
    let mut written = 0;
    for i in 0..count {
        conn.send_binary(payload.clone())
            .expect("the connection is open");
        if (i + 1) % batch != 0 {
            continue;
        }
        if owned {
            while let Some(mut transmit) = conn.poll_transmit() {
                while transmit.has_remaining() {
                    let n = black_box(transmit.chunk()).len();
                    written += n;
                    transmit.advance(n);
                }
            }
        } else {
            while let Some(mut transmit) = conn.poll_transmit_ref() {
                let n = black_box(transmit.chunk()).len();
                written += n;
                transmit.advance(n);
            }
        }
    }
    (count, written)
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn decode_tungstenite(wire: &[u8], count: usize, server: bool) -> (usize, usize) {
    use tungstenite::protocol::{Message, Role, WebSocket};
    let role = if server { Role::Server } else { Role::Client };
    let mut ws = WebSocket::from_raw_socket(Memory::new(wire), role, None);
    let mut bytes = 0;
    for _ in 0..count {
        bytes += match ws.read().expect("tungstenite read") {
            Message::Text(text) => black_box(text).len(),
            Message::Binary(data) => black_box(data).len(),
            other => panic!("unexpected {other:?}"),
        };
    }
    (count, bytes)
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn decode_fastwebsockets(wire: &[u8], count: usize, server: bool) -> (usize, usize) {
    use fastwebsockets::{FragmentCollector, Role, WebSocket};
    let role = if server { Role::Server } else { Role::Client };
    let mut ws = FragmentCollector::new(WebSocket::after_handshake(Memory::new(wire), role));
    block_on(async {
        let mut bytes = 0;
        for _ in 0..count {
            let frame = ws.read_frame().await.expect("fastwebsockets read");
            bytes += black_box(&frame.payload[..]).len();
        }
        (count, bytes)
    })
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn decode_tokio_websockets(wire: &[u8], count: usize, server: bool) -> (usize, usize) {
    let memory = Memory::new(wire);
    let mut ws = if server {
        tokio_websockets::ServerBuilder::new().serve(memory)
    } else {
        tokio_websockets::ClientBuilder::new().take_over(memory)
    };
    block_on(async {
        let mut bytes = 0;
        for _ in 0..count {
            let message = ws.next().await.expect("a message").expect("valid");
            bytes += black_box(message.as_payload()).len();
        }
        (count, bytes)
    })
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn encode_tungstenite(size: usize, count: usize) -> (usize, usize) {
    use tungstenite::protocol::{Message, Role, WebSocket};
    let payload = Bytes::from(vec![7u8; size]);
    let mut ws = WebSocket::from_raw_socket(Memory::new(&[]), Role::Server, None);
    for _ in 0..count {
        ws.send(Message::Binary(payload.clone()))
            .expect("tungstenite send");
    }
    (count, ws.get_ref().written)
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn encode_fastwebsockets(size: usize, count: usize) -> (usize, usize) {
    use fastwebsockets::{Frame, Payload, Role, WebSocket};
    let payload = vec![7u8; size];
    let mut ws = WebSocket::after_handshake(Memory::new(&[]), Role::Server);
    block_on(async {
        for _ in 0..count {
            let frame = Frame::binary(Payload::Borrowed(&payload));
            ws.write_frame(frame).await.expect("fastwebsockets write");
        }
    });
    (count, ws.into_inner().written)
}

/// Never inlined: instructions.sh counts what runs inside it.
#[inline(never)]
fn encode_tokio_websockets(size: usize, count: usize) -> (usize, usize) {
    let payload = Bytes::from(vec![7u8; size]);
    let mut ws = tokio_websockets::ServerBuilder::new().serve(Memory::new(&[]));
    block_on(async {
        for _ in 0..count {
            let message = tokio_websockets::Message::binary(payload.clone());
            ws.send(message).await.expect("tokio-websockets send");
        }
    });
    (count, ws.get_ref().written)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(size), Some(count)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: instructions decode|decode-ref|encode|encode-batch|encode-owned|encode-batch-owned|decode-PEER|encode-PEER SIZE COUNT [text] [unmasked]");
        return ExitCode::from(2);
    };
    let text = args.iter().any(|a| a == "text");
    let masked = !args.iter().any(|a| a == "unmasked");
    let (messages, bytes) = match mode.as_str() {
        "decode" | "decode-ref" => {
            let wire = wire::frames(size, count, text, masked);
            decode(&wire, masked, mode == "decode-ref")
        }
        "encode" => encode(size, count, 1, false),
        "encode-batch" => encode(size, count, 32, false),
        "encode-owned" => encode(size, count, 1, true),
        "encode-batch-owned" => encode(size, count, 32, true),
        "decode-tungstenite" | "decode-fastwebsockets" | "decode-tokio-websockets" => {
            let wire = wire::frames(size, count, text, masked);
            match mode.as_str() {
                "decode-tungstenite" => decode_tungstenite(&wire, count, masked),
                "decode-fastwebsockets" => decode_fastwebsockets(&wire, count, masked),
                _ => decode_tokio_websockets(&wire, count, masked),
            }
        }
        "encode-tungstenite" => encode_tungstenite(size, count),
        "encode-fastwebsockets" => encode_fastwebsockets(size, count),
        "encode-tokio-websockets" => encode_tokio_websockets(size, count),
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
