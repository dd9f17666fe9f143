//! Broadcast server on weft-tokio: every data message a client sends goes
//! to every other client (`weft_benches::broadcast`: a bounded queue per
//! client, a client too slow to keep up removed), one task reading and one
//! writing per connection on a tokio `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example broadcast_weft_tokio -- --port 9001`
//!
//! Each message is prepared once (`PreparedMessage`): every connection
//! writes the same frame, without framing or copying it again. A writer
//! queues every message waiting for it, then flushes them together.

use futures_util::StreamExt;
use weft_benches::broadcast::{write_queued, Hub};
use weft_benches::server;
use weft_tokio::weft_proto::PreparedMessage;
use weft_tokio::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let hub = Hub::<Message>::new();
    server::serve_tokio(move |tcp| {
        let hub = hub.clone();
        async move {
            let ws = match weft_tokio::accept(tcp).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            let (sink, mut stream) = ws.split();
            let (id, queue) = hub.join();
            let writer = tokio::spawn(write_queued(queue, sink));
            while let Some(message) = stream.next().await {
                let prepared = match message {
                    Ok(Message::Binary(data)) => PreparedMessage::binary(data),
                    Ok(Message::Text(text)) => PreparedMessage::text(text),
                    Ok(_) => continue,
                    Err(_) => break,
                };
                hub.publish(id, &Message::Prepared(prepared));
            }
            hub.leave(id);
            writer.abort();
        }
    })
    .await
}
