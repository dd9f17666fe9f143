//! Echo server on fastwebsockets: the HTTP upgrade done here with httparse,
//! sha1 and base64, then `WebSocket::after_handshake(stream, Role::Server)`
//! wrapped in a `FragmentCollector`, echoing whole text and binary
//! messages, one task per connection on a tokio `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example echo_fastwebsockets -- --port 9001`
//!
//! fastwebsockets' own server upgrade (feature `upgrade`) runs on hyper;
//! doing the upgrade here keeps hyper out of the comparison and reads the
//! request the way the other servers do, straight off the TCP stream. The
//! request head is checked as RFC 6455 4.2.1 asks (GET, `Upgrade:
//! websocket`, `Connection: Upgrade`, version 13, a 16-byte key); anything
//! else gets a 400 (426 for another version).
//!
//! fastwebsockets' defaults otherwise (64 MiB messages, an 8 KiB read
//! buffer that grows to fit a frame, vectored writes for payloads over
//! 1 KiB), with automatic close and pong on (the defaults, set explicitly
//! since an echo server depends on them). The `FragmentCollector` matters
//! beyond reassembly: it hands out whole messages without the client's
//! masking key, whereas a frame read from a bare `WebSocket` keeps its key
//! and, written back as is, would go out masked.

use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use weft_benches::server;

#[path = "support/fastwebsockets_upgrade.rs"]
mod fastwebsockets_upgrade;
use fastwebsockets_upgrade::upgrade;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    server::serve_tokio(|tcp| async move {
        let tcp = match upgrade(tcp).await {
            Ok(Some(tcp)) => tcp,
            Ok(None) => return,
            Err(e) => return eprintln!("handshake failed: {e}"),
        };
        let mut ws = WebSocket::after_handshake(tcp, Role::Server);
        ws.set_auto_close(true);
        ws.set_auto_pong(true);
        let mut ws = FragmentCollector::new(ws);
        loop {
            let frame = match ws.read_frame().await {
                Ok(frame) => frame,
                Err(e) => return eprintln!("connection failed: {e}"),
            };
            match frame.opcode {
                // The close was echoed inside read_frame; dropping the
                // stream closes TCP.
                OpCode::Close => return,
                OpCode::Text | OpCode::Binary => {
                    if let Err(e) = ws.write_frame(frame).await {
                        return eprintln!("connection failed: {e}");
                    }
                }
                _ => {}
            }
        }
    })
    .await
}
