//! Broadcast server on tokio-tungstenite, as `broadcast_weft_tokio` is on
//! weft-tokio: `accept_async`, the stream split into a sink and a stream,
//! a bounded queue per client (`weft_benches::broadcast`), one task reading
//! and one writing per connection on a tokio `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example broadcast_tungstenite -- --port 9001`
//!
//! The queues hold `Message::Binary`, whose `Bytes` payload every clone
//! shares; each connection frames it into its own write buffer. A writer
//! queues every message waiting for it, then flushes them together.

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use weft_benches::broadcast::{write_queued, Hub};
use weft_benches::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let hub = Hub::<Message>::new();
    server::serve_tokio(move |tcp| {
        let hub = hub.clone();
        async move {
            let ws = match tokio_tungstenite::accept_async(tcp).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            let (sink, mut stream) = ws.split();
            let (id, queue) = hub.join();
            let writer = tokio::spawn(write_queued(queue, sink));
            while let Some(message) = stream.next().await {
                match message {
                    Ok(message @ (Message::Binary(_) | Message::Text(_))) => {
                        hub.publish(id, &message);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            hub.leave(id);
            writer.abort();
        }
    })
    .await
}
