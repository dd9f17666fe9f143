//! The client handshake fed an arbitrary response in arbitrary chunks,
//! half the time after a valid 101 status line and accept header, so the
//! checks past them are reached.
//!
//! Invariants: no panic; the same verdict however the bytes are chunked;
//! an accepted response's subprotocol was offered; EOF gives an error.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::DeflateConfig;
use weft_proto::handshake::{ClientHandshake, HandshakeError, OutgoingRequest};
use weft_proto::Config;

const NONCE: [u8; 16] = *b"the sample nonce";
const PREFIX: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

fn run(data: &[u8], sizes: &[u8]) -> Result<Option<Option<String>>, HandshakeError> {
    let request = OutgoingRequest::new("example.com", "/")
        .subprotocol("chat")
        .subprotocol("v2");
    let config = Config::default()
        .max_handshake_size(2048)
        .max_headers(16)
        .deflate(Some(DeflateConfig::default()));
    let mut handshake = ClientHandshake::new(request, config, NONCE, common::now()).unwrap();
    for chunk in common::chunks(data, sizes) {
        if let Some(response) = handshake.handle_data(chunk)? {
            let protocol = response.subprotocol().map(str::to_owned);
            if let Some(p) = &protocol {
                assert!(p == "chat" || p == "v2", "unoffered subprotocol {p}");
            }
            let mut conn = handshake
                .into_connection(|| [1, 2, 3, 4], common::now())
                .expect("succeeded");
            while conn.poll_event().is_some() {}
            return Ok(Some(protocol));
        }
    }
    let _ = handshake.handle_eof();
    Ok(None)
}

fuzz_target!(|input: &[u8]| {
    let [flags, s0, s1, rest @ ..] = input else {
        return;
    };
    let data: Vec<u8> = if flags & 1 != 0 {
        [PREFIX, rest].concat()
    } else {
        rest.to_vec()
    };
    let whole = run(&data, &[255]);
    let chunked = run(&data, &[*s0, *s1]);
    assert_eq!(
        whole.as_ref().map_err(|e| e.to_string()),
        chunked.as_ref().map_err(|e| e.to_string()),
        "the verdict depends on the chunking"
    );
});
