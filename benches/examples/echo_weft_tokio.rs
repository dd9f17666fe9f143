//! Echo server on weft-tokio: one task per connection on a tokio
//! `current_thread` runtime, echoing every text and binary message.
//!
//! `cargo run --release -p weft-benches --example echo_weft_tokio -- --port 9001`
//!
//! Weft's defaults (`weft_tokio::accept`: 64 MiB messages, 16 MiB frames;
//! no compression, since the load generator offers none). Pings are
//! answered and the close is echoed by the core; the server then closes
//! TCP first.

use futures_util::{SinkExt, StreamExt};
use weft_benches::server;
use weft_tokio::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    server::serve_tokio(|tcp| async move {
        let mut ws = match weft_tokio::accept(tcp).await {
            Ok(ws) => ws,
            Err(e) => return eprintln!("handshake failed: {e}"),
        };
        while let Some(message) = ws.next().await {
            match message {
                Ok(message) if message.is_data() => match ws.send(message).await {
                    // Sending fails once the connection is closing:
                    // reading on finishes the closing handshake.
                    Ok(()) | Err(Error::Send(_)) => {}
                    Err(e) => return eprintln!("connection failed: {e}"),
                },
                Ok(_) => {}
                Err(e) => return eprintln!("connection failed: {e}"),
            }
        }
    })
    .await
}
