//! Measures permessage-deflate's cost: resident memory per connection for
//! each setting, and compression throughput through a Connection beside
//! flate2 alone at the same settings.
//!
//! `cargo run --release -p weft-proto --features deflate --example deflate_figures`
//!
//! Memory is read from /proc/self/statm (Linux): the growth of resident
//! memory over many connections, each after one message each way, divided
//! by their number.

use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use weft_proto::deflate::{DeflateConfig, DeflateParams};
use weft_proto::{Config, Connection, Event};

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Text like a JSON API's, compressible but not trivially.
fn sample(len: usize) -> String {
    let mut s = String::with_capacity(len + 100);
    let mut i = 0u64;
    while s.len() < len {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!(
            "{{\"id\":{},\"name\":\"user{}\",\"score\":{},\"active\":{}}},",
            i % 100_000,
            (i >> 20) % 5000,
            (i >> 40) % 1000,
            i.is_multiple_of(3)
        ));
    }
    s.truncate(len);
    s
}

fn params(bits: u8, no_takeover: bool) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: no_takeover,
        client_no_context_takeover: no_takeover,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
    }
}

/// A client and a server connection with deflate on.
fn pair(bits: u8, no_takeover: bool, level: u32) -> (Connection, Connection) {
    let now = Instant::now();
    let config = Config::default().deflate(Some(DeflateConfig::default().level(level)));
    let mut client = Connection::client(config.clone(), || [1, 2, 3, 4], now);
    let mut server = Connection::server(config, now);
    client.enable_deflate(params(bits, no_takeover));
    server.enable_deflate(params(bits, no_takeover));
    (client, server)
}

/// Sends `text` from `from` to `to` and returns the wire size.
fn cross(from: &mut Connection, to: &mut Connection, text: &str) -> usize {
    from.send_text(text.to_owned()).unwrap();
    let mut wire = 0;
    while let Some(t) = from.poll_transmit() {
        let bytes = t.to_vec();
        wire += bytes.len();
        to.handle_data(Instant::now(), &bytes);
    }
    match to.poll_event() {
        Some(Event::Text(t)) => assert_eq!(t.len(), text.len()),
        other => panic!("{other:?}"),
    }
    wire
}

fn memory_per_connection(bits: u8, no_takeover: bool) -> usize {
    const N: usize = 400;
    let text = sample(4096);
    let before = resident_bytes();
    let mut keep = Vec::with_capacity(N);
    for _ in 0..N {
        let (mut client, mut server) = pair(bits, no_takeover, 6);
        cross(&mut client, &mut server, &text);
        cross(&mut server, &mut client, &text);
        // The server's side holds a compressor (it sent) and a
        // decompressor (it received): one connection's worth.
        keep.push(server);
        drop(client);
    }
    let after = resident_bytes();
    drop(keep);
    after.saturating_sub(before) / N
}

fn plain_memory_per_connection() -> usize {
    const N: usize = 400;
    let text = sample(4096);
    let before = resident_bytes();
    let mut keep = Vec::with_capacity(N);
    for _ in 0..N {
        let now = Instant::now();
        let mut client = Connection::client(Config::default(), || [1, 2, 3, 4], now);
        let mut server = Connection::server(Config::default(), now);
        cross(&mut client, &mut server, &text);
        cross(&mut server, &mut client, &text);
        keep.push(server);
    }
    let after = resident_bytes();
    drop(keep);
    after.saturating_sub(before) / N
}

fn best_of<F: FnMut()>(rounds: usize, mut f: F) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn throughput(bits: u8, level: u32) {
    let text = sample(64 * 1024);
    let messages = 200;
    let mb = (text.len() * messages) as f64 / 1e6;

    // Through Weft: the server compresses, the client inflates.
    let weft = best_of(3, || {
        let (mut client, mut server) = pair(bits, false, level);
        for _ in 0..messages {
            cross(&mut server, &mut client, &text);
        }
    });

    // flate2 alone, same level, window and sync flush, inflating the result.
    let direct = best_of(3, || {
        let mut c = Compress::new_with_window_bits(Compression::new(level), false, bits);
        let mut d = Decompress::new_with_window_bits(false, bits);
        let mut out = Vec::with_capacity(text.len() + 1024);
        let mut back = vec![0u8; text.len() + 1024];
        for _ in 0..messages {
            out.clear();
            let _ = c.compress_vec(text.as_bytes(), &mut out, FlushCompress::Sync);
            let before = d.total_out();
            let _ = d.decompress(&out, &mut back, FlushDecompress::Sync);
            assert_eq!((d.total_out() - before) as usize, text.len());
        }
    });
    println!(
        "  level {level}, window 2^{bits}: Weft {:>6.1} MB/s, flate2 alone {:>6.1} MB/s, ratio {:.2}",
        mb / weft.as_secs_f64(),
        mb / direct.as_secs_f64(),
        direct.as_secs_f64() / weft.as_secs_f64()
    );
}

fn main() {
    // Each memory figure comes from a fresh process, so no setting reuses
    // pages another one freed.
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "measure" {
        let bits: u8 = args[2].parse().unwrap_or(15);
        let bytes = match args[3].as_str() {
            "plain" => plain_memory_per_connection(),
            "takeover" => memory_per_connection(bits, false),
            _ => memory_per_connection(bits, true),
        };
        println!("{bytes}");
        return;
    }
    let measure = |bits: u8, mode: &str| -> usize {
        let out = std::process::Command::new(&args[0])
            .args(["measure", &bits.to_string(), mode])
            .output()
            .expect("run the measurement");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    };
    println!("resident memory per connection after one 4 KiB message each way:");
    let plain = measure(15, "plain");
    println!("  no compression: {plain:>7} bytes");
    for bits in [9u8, 10, 11, 12, 13, 14, 15] {
        let takeover = measure(bits, "takeover");
        let none = measure(bits, "none");
        println!(
            "  window 2^{bits:<2}: context takeover {:>7} bytes ({:+}), no context takeover {:>6} bytes ({:+})",
            takeover,
            takeover as i64 - plain as i64,
            none,
            none as i64 - plain as i64
        );
    }
    println!("compress + inflate throughput, 64 KiB JSON-like text messages:");
    for (bits, level) in [(15u8, 1u32), (15, 6), (9, 6)] {
        throughput(bits, level);
    }
}
