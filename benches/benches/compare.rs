//! Weft beside tungstenite, fastwebsockets and tokio-websockets, in one
//! criterion run: decoding, encoding, masking, UTF-8 validation and the
//! opening handshake, with plain memcpy of the same bytes as the ceiling.
//!
//! Every library reads the same buffer of frames through its public API
//! from an in-memory source that hands out at most `READ` bytes per read,
//! the way a socket does, and delivers whole messages. Weft is measured
//! twice: `weft` polls owned events (`poll_event`, payloads shared as
//! `Bytes`), `weft-ref` polls lent ones (`poll_event_ref`, payloads
//! borrowed from the receive buffer). Throughput is payload bytes;
//! `benches/scripts/decode_table.py` turns criterion's estimates into
//! frames/s, MB/s and ratios.
//!
//! `cargo bench -p weft-benches --bench compare` runs it all;
//! a filter such as `-- decode_masked/binary/16` runs a part.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use weft_benches::memory::{block_on, Memory, READ};
use weft_benches::wire::{self, text_of, JSON, MASK};
use weft_proto::frame::apply_mask;
use weft_proto::{Config, Connection, Event, EventRef, Utf8Validator};

/// Payload sizes of the decode and encode benchmarks.
const SIZES: [usize; 4] = [16, 125, 1024, 64 * 1024];

/// A buffer of frames: about 1 MiB of payload, at least 16 frames.
struct Frames {
    wire: Vec<u8>,
    count: usize,
    size: usize,
    text: bool,
}

fn frames(size: usize, text: bool, masked: bool) -> Frames {
    let count = ((1 << 20) / size).max(16);
    Frames {
        wire: wire::frames(size, count, text, masked),
        count,
        size,
        text,
    }
}

// ----- decoding: each returns the payload bytes it received -----

/// Feeds the frames to a Weft connection read by read; after each read,
/// `take` polls every event it made and returns how many messages and
/// payload bytes they held.
fn weft_run(
    f: &Frames,
    role_server: bool,
    take: impl Fn(&mut Connection) -> (usize, usize),
) -> usize {
    let now = Instant::now();
    let mut conn = if role_server {
        Connection::server(Config::default(), now)
    } else {
        Connection::client(Config::default(), || MASK, now)
    };
    let (mut messages, mut got) = (0, 0);
    for read in f.wire.chunks(READ) {
        conn.handle_data(now, read);
        let (m, bytes) = take(&mut conn);
        messages += m;
        got += bytes;
    }
    assert_eq!(messages, f.count);
    got
}

fn weft_decode(f: &Frames, role_server: bool) -> usize {
    weft_run(f, role_server, |conn| {
        let (mut messages, mut got) = (0, 0);
        while let Some(event) = conn.poll_event() {
            messages += 1;
            got += match event {
                Event::Text(text) => black_box(text).len(),
                Event::Binary(data) => black_box(data).len(),
                other => panic!("unexpected {other:?}"),
            };
        }
        (messages, got)
    })
}

/// [`weft_decode`] with the events lent instead of owned.
fn weft_ref_decode(f: &Frames, role_server: bool) -> usize {
    weft_run(f, role_server, |conn| {
        let (mut messages, mut got) = (0, 0);
        while let Some(event) = conn.poll_event_ref() {
            messages += 1;
            got += match event {
                EventRef::Text(text) => black_box(text).len(),
                EventRef::Binary(data) => black_box(data).len(),
                other => panic!("unexpected {other:?}"),
            };
        }
        (messages, got)
    })
}

fn tungstenite_decode(f: &Frames, role_server: bool) -> usize {
    use tungstenite::protocol::{Message, Role, WebSocket};
    let role = if role_server {
        Role::Server
    } else {
        Role::Client
    };
    let mut ws = WebSocket::from_raw_socket(Memory::new(&f.wire), role, None);
    let mut got = 0;
    for _ in 0..f.count {
        got += match ws.read().expect("tungstenite read") {
            Message::Text(text) => black_box(text).len(),
            Message::Binary(data) => black_box(data).len(),
            other => panic!("unexpected {other:?}"),
        };
    }
    got
}

fn fastwebsockets_decode(f: &Frames, role_server: bool) -> usize {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    let role = if role_server {
        Role::Server
    } else {
        Role::Client
    };
    let ws = WebSocket::after_handshake(Memory::new(&f.wire), role);
    let mut ws = FragmentCollector::new(ws);
    block_on(async {
        let mut got = 0;
        for _ in 0..f.count {
            let frame = ws.read_frame().await.expect("fastwebsockets read");
            assert!(matches!(frame.opcode, OpCode::Text | OpCode::Binary));
            got += black_box(&frame.payload[..]).len();
        }
        got
    })
}

fn tokio_websockets_decode(f: &Frames, role_server: bool) -> usize {
    let memory = Memory::new(&f.wire);
    let mut ws = if role_server {
        tokio_websockets::ServerBuilder::new().serve(memory)
    } else {
        tokio_websockets::ClientBuilder::new().take_over(memory)
    };
    block_on(async {
        let mut got = 0;
        for _ in 0..f.count {
            let message = ws.next().await.expect("a message").expect("valid");
            assert!(message.is_text() || message.is_binary());
            got += black_box(message.as_payload()).len();
        }
        got
    })
}

/// The ceiling: copying the same bytes, read by read, into a buffer as
/// large as all of them: each library delivers every payload in memory of
/// its own, so none can do with less than this copy.
fn memcpy(f: &Frames, into: &mut [u8]) -> usize {
    let mut at = 0;
    for read in f.wire.chunks(READ) {
        into[at..at + read.len()].copy_from_slice(read);
        at += black_box(&into[at..at + read.len()]).len();
    }
    at
}

fn decode(c: &mut Criterion, masked: bool) {
    let name = if masked {
        "decode_masked"
    } else {
        "decode_unmasked"
    };
    let server = masked;
    let mut group = c.benchmark_group(name);
    for text in [false, true] {
        for size in SIZES {
            let f = frames(size, text, masked);
            let kind = if text { "text" } else { "binary" };
            group.throughput(Throughput::Bytes((f.count * f.size) as u64));
            let id = |lib: &str| BenchmarkId::new(format!("{kind}/{lib}"), size);
            let total = f.count * f.size;
            group.bench_function(id("weft"), |b| {
                b.iter(|| assert_eq!(weft_decode(&f, server), total))
            });
            group.bench_function(id("weft-ref"), |b| {
                b.iter(|| assert_eq!(weft_ref_decode(&f, server), total))
            });
            group.bench_function(id("tungstenite"), |b| {
                b.iter(|| assert_eq!(tungstenite_decode(&f, server), total))
            });
            group.bench_function(id("fastwebsockets"), |b| {
                b.iter(|| assert_eq!(fastwebsockets_decode(&f, server), total))
            });
            group.bench_function(id("tokio-websockets"), |b| {
                b.iter(|| assert_eq!(tokio_websockets_decode(&f, server), total))
            });
            if !text {
                let mut into = vec![0u8; f.wire.len()];
                group.bench_function(BenchmarkId::new("memcpy", size), |b| {
                    b.iter(|| memcpy(&f, &mut into))
                });
            }
            let _ = f.text;
        }
    }
    group.finish();
}

fn decode_masked(c: &mut Criterion) {
    decode(c, true);
}

fn decode_unmasked(c: &mut Criterion) {
    decode(c, false);
}

// ----- encoding: a server sends `count` binary messages of `size` -----

/// A server sends `count` copies of `payload`, writing what is queued
/// with `write` after every `batch`.
fn weft_sends(
    b: &mut criterion::Bencher,
    payload: &Bytes,
    count: usize,
    batch: usize,
    write: impl Fn(&mut Connection, &mut Memory),
) {
    b.iter(|| {
        let mut conn = Connection::server(Config::default(), Instant::now());
        let mut out = Memory::new(&[]);
        for _ in 0..count / batch {
            for _ in 0..batch {
                conn.send_binary(payload.clone()).unwrap();
            }
            write(&mut conn, &mut out);
        }
        out.written
    })
}

/// Writes everything `conn` has queued to `out` where it is queued
/// (`poll_transmit_ref`).
fn write_in_place(conn: &mut Connection, out: &mut Memory) {
    while let Some(mut t) = conn.poll_transmit_ref() {
        let n = out.write(t.chunk()).unwrap();
        t.advance(n);
    }
}

/// Writes everything `conn` has queued to `out` through owned transmits
/// (`poll_transmit`).
fn write_owned(conn: &mut Connection, out: &mut Memory) {
    while let Some(mut t) = conn.poll_transmit() {
        while t.has_remaining() {
            let n = out.write(t.chunk()).unwrap();
            t.advance(n);
        }
    }
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for size in SIZES {
        let count = ((1 << 20) / size).max(16);
        let payload = Bytes::from(vec![7u8; size]);
        group.throughput(Throughput::Bytes((count * size) as u64));
        let id = |lib: &str| BenchmarkId::new(lib, size);
        group.bench_function(id("weft"), |b| {
            weft_sends(b, &payload, count, 1, write_in_place)
        });
        group.bench_function(id("weft-owned"), |b| {
            weft_sends(b, &payload, count, 1, write_owned)
        });
        group.bench_function(id("tungstenite"), |b| {
            use tungstenite::protocol::{Message, Role, WebSocket};
            b.iter(|| {
                let mut ws = WebSocket::from_raw_socket(Memory::new(&[]), Role::Server, None);
                for _ in 0..count {
                    ws.send(Message::Binary(payload.clone())).unwrap();
                }
                ws.get_ref().written
            })
        });
        group.bench_function(id("fastwebsockets"), |b| {
            use fastwebsockets::{Frame, Payload, Role, WebSocket};
            b.iter(|| {
                let mut ws = WebSocket::after_handshake(Memory::new(&[]), Role::Server);
                block_on(async {
                    for _ in 0..count {
                        let frame = Frame::binary(Payload::Borrowed(&payload));
                        ws.write_frame(frame).await.unwrap();
                    }
                });
                ws.into_inner().written
            })
        });
        group.bench_function(id("tokio-websockets"), |b| {
            b.iter(|| {
                let mut ws = tokio_websockets::ServerBuilder::new().serve(Memory::new(&[]));
                block_on(async {
                    for _ in 0..count {
                        let message = tokio_websockets::Message::binary(payload.clone());
                        ws.send(message).await.unwrap();
                    }
                });
                ws.get_ref().written
            })
        });
    }
    group.finish();
}

// ----- encoding in batches: a server queues BATCH messages, then writes -----

/// Messages queued before each write in the batch benchmark.
const BATCH: usize = 32;

fn encode_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_batch");
    for size in SIZES {
        let count = ((1 << 20) / size).max(BATCH).next_multiple_of(BATCH);
        let payload = Bytes::from(vec![7u8; size]);
        group.throughput(Throughput::Bytes((count * size) as u64));
        let id = |lib: &str| BenchmarkId::new(lib, size);
        group.bench_function(id("weft"), |b| {
            weft_sends(b, &payload, count, BATCH, write_in_place)
        });
        group.bench_function(id("weft-owned"), |b| {
            weft_sends(b, &payload, count, BATCH, write_owned)
        });
        group.bench_function(id("tungstenite"), |b| {
            use tungstenite::protocol::{Message, Role, WebSocket};
            b.iter(|| {
                let mut ws = WebSocket::from_raw_socket(Memory::new(&[]), Role::Server, None);
                for _ in 0..count / BATCH {
                    for _ in 0..BATCH {
                        ws.write(Message::Binary(payload.clone())).unwrap();
                    }
                    ws.flush().unwrap();
                }
                ws.get_ref().written
            })
        });
        // fastwebsockets writes every frame as it is given: it has no queue.
        group.bench_function(id("fastwebsockets"), |b| {
            use fastwebsockets::{Frame, Payload, Role, WebSocket};
            b.iter(|| {
                let mut ws = WebSocket::after_handshake(Memory::new(&[]), Role::Server);
                block_on(async {
                    for _ in 0..count {
                        let frame = Frame::binary(Payload::Borrowed(&payload));
                        ws.write_frame(frame).await.unwrap();
                    }
                });
                ws.into_inner().written
            })
        });
        group.bench_function(id("tokio-websockets"), |b| {
            b.iter(|| {
                let mut ws = tokio_websockets::ServerBuilder::new().serve(Memory::new(&[]));
                block_on(async {
                    for _ in 0..count / BATCH {
                        for _ in 0..BATCH {
                            let message = tokio_websockets::Message::binary(payload.clone());
                            ws.feed(message).await.unwrap();
                        }
                        ws.flush().await.unwrap();
                    }
                });
                ws.get_ref().written
            })
        });
    }
    group.finish();
}

// ----- masking and UTF-8 -----

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in [16usize, 125, 1024, 64 * 1024] {
        let mut buf = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("weft", size), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), MASK, 0))
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), MASK))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (name, pattern) in [("ascii", JSON), ("mixed", "weft é ∑ 𝄞 ")] {
        for size in [16usize, 1024, 64 * 1024] {
            let text = text_of(pattern, size);
            group.throughput(Throughput::Bytes(text.len() as u64));
            let id = |lib: &str| BenchmarkId::new(format!("{name}/{lib}"), size);
            group.bench_function(id("weft"), |b| {
                b.iter(|| {
                    let mut v = Utf8Validator::new();
                    v.feed(black_box(&text)).unwrap();
                    assert!(v.is_complete());
                })
            });
            group.bench_function(id("std"), |b| {
                b.iter(|| std::str::from_utf8(black_box(&text)).is_ok())
            });
            group.bench_function(id("simdutf8"), |b| {
                b.iter(|| simdutf8::basic::from_utf8(black_box(&text)).is_ok())
            });
        }
    }
    group.finish();
}

// ----- the opening handshake, both ends, in memory -----

fn handshake(c: &mut Criterion) {
    use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, ServerHandshake};
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    group.bench_function("weft", |b| {
        b.iter(|| {
            let now = Instant::now();
            let client = ClientHandshake::new(
                OutgoingRequest::new("example.com", "/chat"),
                Config::default(),
                *b"0123456789abcdef",
                now,
            )
            .unwrap();
            let mut request = Vec::new();
            client.write_request(&mut request);
            let mut server = ServerHandshake::new(Config::default(), now);
            let request_head = server
                .handle_data(&request)
                .unwrap()
                .expect("a whole request");
            black_box(&request_head);
            let mut response = Vec::new();
            server.accept(Accept::new(), &mut response).unwrap();
            let server = server.into_connection(now).unwrap();
            let mut client = client;
            let reply = client.handle_data(&response).unwrap().expect("a response");
            let client = client.into_connection(|| MASK, now).unwrap();
            black_box((server, client, reply))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = decode_masked, decode_unmasked, encode, encode_batch, masking, utf8, handshake
}
criterion_main!(benches);
