//! Broadcast server on tokio-websockets, as `broadcast_weft_tokio` is on
//! weft-tokio: `ServerBuilder::accept`, the stream split into a sink and a
//! stream, a bounded queue per client (`weft_benches::broadcast`), one task
//! reading and one writing per connection on a tokio `current_thread`
//! runtime.
//!
//! `cargo run --release -p weft-benches --example broadcast_tokio_websockets -- --port 9001`
//!
//! The queues hold `Message`s, whose payload every clone shares; each
//! connection frames it. A writer queues every message waiting for it,
//! then flushes them together.

use futures_util::StreamExt;
use tokio_websockets::{Message, ServerBuilder};
use weft_benches::broadcast::{write_queued, Hub};
use weft_benches::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let hub = Hub::<Message>::new();
    server::serve_tokio(move |tcp| {
        let hub = hub.clone();
        async move {
            let ws = match ServerBuilder::new().accept(tcp).await {
                Ok((_request, ws)) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            let (sink, mut stream) = ws.split();
            let (id, queue) = hub.join();
            let writer = tokio::spawn(write_queued(queue, sink));
            while let Some(message) = stream.next().await {
                match message {
                    Ok(message) if message.is_binary() || message.is_text() => {
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
