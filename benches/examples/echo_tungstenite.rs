//! Echo server on tokio-tungstenite: `accept_async`, then every text and
//! binary message read is sent back, one task per connection on a tokio
//! `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example echo_tungstenite -- --port 9001`
//!
//! tungstenite's defaults (`WebSocketConfig::default()`: 64 MiB messages,
//! 16 MiB frames, a 128 KiB read buffer and a 128 KiB write buffer per
//! connection). tungstenite answers pings and echoes the close itself; the
//! stream ends once the closing handshake is done, and dropping it closes
//! TCP.

use futures_util::{SinkExt, StreamExt};
use weft_benches::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    server::serve_tokio(|tcp| async move {
        let mut ws = match tokio_tungstenite::accept_async(tcp).await {
            Ok(ws) => ws,
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
