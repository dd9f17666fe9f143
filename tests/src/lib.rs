//! End-to-end tests across Weft's crates (in `tests/tests/`): what crosses
//! both adapters or runs them side by side. Each adapter's own tests live
//! in its crate; raw peers and test certificates are in weft-test-support.
//! What only these tests share is here: a small blocking driver (weft-proto
//! over a `TcpStream`, with the read timeout set from `poll_timeout`), an
//! echo server on each adapter, and the configuration hostile peers meet.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use weft_proto::bytes::Buf;
use weft_proto::{Connection, Event};

/// Writes everything the connection has queued, then half-closes if asked.
pub fn flush(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    while let Some(mut transmit) = conn.poll_transmit() {
        while transmit.has_remaining() {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = transmit.chunks_vectored(&mut slices);
            let written = stream.write_vectored(&slices[..n])?;
            transmit.advance(written);
        }
    }
    if conn.poll_shutdown() {
        let _ = stream.shutdown(Shutdown::Write);
    }
    Ok(())
}

/// Runs the connection until its terminal event, handing every event to
/// `on_event` (which may send) and flushing after each one, so that every
/// ping gets its own pong.
pub fn run(
    conn: &mut Connection,
    stream: &mut TcpStream,
    mut on_event: impl FnMut(&mut Connection, &Event),
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(event) = conn.poll_event() {
            on_event(conn, &event);
            flush(conn, stream)?;
            if matches!(event, Event::Closed(_)) {
                return Ok(());
            }
        }
        flush(conn, stream)?;
        let now = Instant::now();
        let timeout = conn
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now));
        if timeout.is_some_and(|t| t.is_zero()) {
            conn.handle_timeout(now);
            continue;
        }
        stream.set_read_timeout(timeout)?;
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_data(Instant::now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now())
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => conn.handle_eof(Instant::now()),
            Err(e) => return Err(e),
        }
    }
}

/// A weft-tokio echo server with `config` on its own runtime thread, one
/// task per connection; returns its address.
pub fn tokio_echo_server(config: weft_proto::Config) -> std::net::SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let config = config.clone();
                tokio::spawn(async move {
                    let accept = |_: &_| Ok(weft_proto::handshake::Accept::new());
                    let Ok(mut ws) = weft_tokio::accept_with(tcp, config, accept).await else {
                        return;
                    };
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_data() && ws.send(message).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    });
    addr
}

/// A weft-std echo server with `config`, one thread per connection;
/// returns its address.
pub fn std_echo_server(config: weft_proto::Config) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let accept = |_: &_| Ok(weft_proto::handshake::Accept::new());
                let Ok(mut ws) = weft_std::accept_with(tcp, config, accept) else {
                    return;
                };
                while let Ok(Some(message)) = ws.read() {
                    if message.is_data() && ws.send(message).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// The configuration of the servers that hostile peers are pointed at:
/// short handshake timeout, small head and a 1 MiB message limit.
pub fn hostile_config() -> weft_proto::Config {
    weft_proto::Config::default()
        .handshake_timeout(Some(std::time::Duration::from_millis(500)))
        .max_handshake_size(4096)
        .max_message_size(1 << 20)
}
