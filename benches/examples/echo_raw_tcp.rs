//! Raw TCP echo server: per connection, `tokio::io::copy` from the read
//! half to the write half, on a tokio `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example echo_raw_tcp -- --port 9001`
//!
//! No framing, no masking, no parsing: the idiomatic raw echo, and so the
//! ceiling for the one-message-in-flight pattern the WebSocket servers are
//! measured with (`loadgen --raw`). `tokio::io::copy` moves the bytes
//! through an 8 KiB buffer and writes each read out before the next.

use weft_benches::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    server::serve_tokio(|mut tcp| async move {
        let (mut reader, mut writer) = tcp.split();
        // Copying ends at the client's end of stream; dropping the
        // stream then closes the connection.
        if let Err(e) = tokio::io::copy(&mut reader, &mut writer).await {
            eprintln!("connection failed: {e}");
        }
    })
    .await
}
