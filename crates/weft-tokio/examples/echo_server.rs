//! Echoes every text and binary message, one task per connection.
//!
//! `cargo run --release -p weft-tokio --example echo_server -- 127.0.0.1:9001`

use std::io::Write;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use weft_tokio::{accept_with, Accept, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on ws://{}", listener.local_addr()?)?;
        stdout.flush()?;
    }
    // Limits large enough for the Autobahn suite's 16 MiB messages and more.
    let config = weft_tokio::default_config()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let config = config.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let mut ws = match accept_with(tcp, config, |_| Ok(Accept::new())).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            while let Some(message) = ws.next().await {
                match message {
                    Ok(message) if message.is_data() => match ws.send(message).await {
                        // Sending fails once we are closing: keep reading
                        // until the connection ends.
                        Ok(()) | Err(Error::Send(_)) => {}
                        Err(e) => return eprintln!("connection failed: {e}"),
                    },
                    Ok(_) => {}
                    Err(e) => return eprintln!("connection failed: {e}"),
                }
            }
        });
    }
}
