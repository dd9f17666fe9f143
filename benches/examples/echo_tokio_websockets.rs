//! Echo server on tokio-websockets: `ServerBuilder::new().accept(stream)`,
//! then every text and binary message read is sent back with
//! `SinkExt::send`, one task per connection on a tokio `current_thread`
//! runtime.
//!
//! `cargo run --release -p weft-benches --example echo_tokio_websockets -- --port 9001`
//!
//! tokio-websockets' defaults (`Limits::default()`: 64 MiB payloads;
//! `Config::default()`: outgoing frames of at most 4 MiB, flushing once
//! 8 KiB are queued; the handshake is read through a `FramedRead` whose
//! 8 KiB buffer the connection keeps). It answers pings and echoes the
//! close itself; the stream ends once the close echo is flushed, and
//! dropping it closes TCP.

use futures_util::{SinkExt, StreamExt};
use tokio_websockets::ServerBuilder;
use weft_benches::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    server::serve_tokio(|tcp| async move {
        let mut ws = match ServerBuilder::new().accept(tcp).await {
            Ok((_request, ws)) => ws,
            Err(e) => return eprintln!("handshake failed: {e}"),
        };
        while let Some(message) = ws.next().await {
            match message {
                Ok(message) if message.is_text() || message.is_binary() => {
                    if let Err(e) = ws.send(message).await {
                        return eprintln!("connection failed: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => return eprintln!("connection failed: {e}"),
            }
        }
    })
    .await
}
