//! Echoes every text and binary message, one thread per connection.
//!
//! `cargo run --release -p weft-std --example echo_server -- 127.0.0.1:9001`

use std::net::TcpListener;

use weft_std::{accept_with, weft_proto::handshake::Accept};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on ws://{}", listener.local_addr()?);
    // Limits large enough for the Autobahn suite's 16 MiB messages and more.
    let config = weft_std::default_config()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let config = config.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut ws = match accept_with(stream, config, |_| Ok(Accept::new())) {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            loop {
                match ws.read() {
                    Ok(Some(message)) if message.is_data() => {
                        if ws.send(message).is_err() {
                            // Sending fails only once we are closing: keep
                            // reading until the connection ends.
                            continue;
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return eprintln!("connection failed: {e}"),
                }
            }
        });
    }
    Ok(())
}
