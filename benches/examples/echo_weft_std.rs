//! Echo server on weft-std: blocking I/O, one thread per connection,
//! echoing every text and binary message.
//!
//! `cargo run --release -p weft-benches --example echo_weft_std -- --port 9001`
//!
//! Unlike the other servers this one cannot run on one worker thread: a
//! blocking connection holds its thread while it waits for the next
//! message, so every connection has a thread of its own (plus the one that
//! accepts) and the kernel schedules them. With one connection that is
//! still one busy thread; with many, the threads share whatever cores the
//! process may use (the comparison script pins it to one).
//!
//! Weft's defaults (`weft_std::accept`: 64 MiB messages, 16 MiB frames, a
//! 32 KiB read buffer per connection). Pings are answered and the close is
//! echoed by the core; the server then closes TCP first.

use std::net::TcpListener;

use weft_benches::server;

fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(server::bind_addr(server::port_from_args()))?;
    server::announce(listener.local_addr()?);
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                std::thread::sleep(server::accept_failed(&e));
                continue;
            }
        };
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut ws = match weft_std::accept(stream) {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            loop {
                match ws.read() {
                    Ok(Some(message)) if message.is_data() => match ws.send(message) {
                        // Sending fails once the connection is closing:
                        // reading on finishes the closing handshake.
                        Ok(()) | Err(weft_std::Error::Send(_)) => {}
                        Err(e) => return eprintln!("connection failed: {e}"),
                    },
                    Ok(Some(_)) => {}
                    Ok(None) => return,
                    Err(e) => return eprintln!("connection failed: {e}"),
                }
            }
        });
    }
}
