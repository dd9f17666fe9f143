//! End-to-end tests across Weft's crates (in `tests/tests/`), and the small
//! blocking driver they share: weft-proto over a `TcpStream`, with the read
//! timeout set from `poll_timeout`.

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
