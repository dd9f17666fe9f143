//! The server handshake fed an arbitrary request in arbitrary chunks.
//!
//! Invariants: no panic; an error has a status and writes a response; the
//! same bytes give the same verdict however they are chunked; a request
//! accepted gives a response the client handshake would parse, and a
//! connection that carries the bytes after the request.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::DeflateConfig;
use weft_proto::handshake::{Accept, ServerHandshake};
use weft_proto::Config;

fn run(data: &[u8], sizes: &[u8], config: &Config) -> Result<Option<String>, u16> {
    let now = common::now();
    let mut handshake = ServerHandshake::new(config.clone(), now);
    for chunk in common::chunks(data, sizes) {
        match handshake.handle_data(chunk) {
            Ok(Some(request)) => {
                let mut out = Vec::new();
                let accepted = handshake.accept(Accept::new(), &mut out);
                assert!(accepted.is_ok(), "{accepted:?}");
                assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
                assert!(out.ends_with(b"\r\n\r\n"));
                let mut conn = handshake.into_connection(now).expect("accepted");
                while conn.poll_event().is_some() {}
                return Ok(Some(request.target().to_owned()));
            }
            Ok(None) => {}
            Err(e) => {
                let status = e.status().expect("a request error has a status");
                let mut out = Vec::new();
                assert!(e.write_response(&mut out));
                assert!(out.starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
                return Err(status);
            }
        }
    }
    Ok(None)
}

fuzz_target!(|input: &[u8]| {
    let [s0, s1, data @ ..] = input else { return };
    let config = Config::default()
        .max_handshake_size(2048)
        .max_headers(16)
        .deflate(Some(DeflateConfig::default()));
    let whole = run(data, &[255], &config);
    let chunked = run(data, &[*s0, *s1], &config);
    assert_eq!(whole, chunked, "the verdict depends on the chunking");
});
