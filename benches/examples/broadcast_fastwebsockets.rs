//! Broadcast server on fastwebsockets, as `broadcast_weft_tokio` is on
//! weft-tokio: the upgrade done as in `echo_fastwebsockets`, the socket
//! split (`WebSocket::split` over `tokio::io::split`) into a reading and a
//! writing half, a bounded queue per client (`weft_benches::broadcast`),
//! one task reading and one writing per connection on a tokio
//! `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example broadcast_fastwebsockets -- --port 9001`
//!
//! The queues hold the payload as `Bytes`, shared by every clone; each
//! connection frames it with `write_frame`, which writes every frame as it
//! is given (fastwebsockets has no queue to flush). The reading half drops
//! the control frames it owes an answer: the benchmark's clients send none.

use bytes::Bytes;
use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
use weft_benches::broadcast::Hub;
use weft_benches::server;

#[path = "support/fastwebsockets_upgrade.rs"]
mod fastwebsockets_upgrade;
use fastwebsockets_upgrade::upgrade;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let hub = Hub::<(OpCode, Bytes)>::new();
    server::serve_tokio(move |tcp| {
        let hub = hub.clone();
        async move {
            let tcp = match upgrade(tcp).await {
                Ok(Some(tcp)) => tcp,
                Ok(None) => return,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            let ws = WebSocket::after_handshake(tcp, Role::Server);
            let (mut read, mut write) = ws.split(tokio::io::split);
            let (id, mut queue) = hub.join();
            let writer = tokio::spawn(async move {
                while let Some((opcode, payload)) = queue.recv().await {
                    let frame = Frame::new(true, opcode, None, Payload::Borrowed(&payload));
                    if write.write_frame(frame).await.is_err() {
                        return;
                    }
                }
            });
            let mut ignore = |_: Frame<'_>| async { Ok::<(), std::io::Error>(()) };
            while let Ok(frame) = read.read_frame(&mut ignore).await {
                match frame.opcode {
                    OpCode::Binary | OpCode::Text if frame.fin => {
                        let payload = Bytes::copy_from_slice(&frame.payload);
                        hub.publish(id, &(frame.opcode, payload));
                    }
                    OpCode::Close => break,
                    _ => {}
                }
            }
            hub.leave(id);
            writer.abort();
        }
    })
    .await
}
