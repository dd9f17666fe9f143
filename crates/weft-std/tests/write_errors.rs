//! A write that fails part way: a transport that times out keeps what is
//! queued and goes on from where it stopped; one that is gone drops it.

use std::io::{self, Read, Write};
use std::time::Instant;

use weft_std::weft_proto::Connection;
use weft_std::{Config, Message, Transport, WebSocket};

/// Takes `room` bytes, then fails every write with `error` until given
/// more room.
struct Stuck {
    written: Vec<u8>,
    room: usize,
    error: io::ErrorKind,
}

impl Read for Stuck {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl Write for Stuck {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(self.error.into());
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Stuck {}

fn socket(error: io::ErrorKind) -> WebSocket<Stuck> {
    let stream = Stuck {
        written: Vec::new(),
        room: 5,
        error,
    };
    WebSocket::from_connection(
        stream,
        Connection::server(Config::default(), Instant::now()),
    )
}

#[test]
fn a_write_that_times_out_goes_on_from_where_it_stopped() {
    let mut ws = socket(io::ErrorKind::TimedOut);
    assert!(ws.send(Message::binary(vec![7u8; 20])).is_err());
    assert_eq!(ws.get_ref().written.len(), 5);
    assert_eq!(ws.connection().buffered_amount(), 22 - 5);
    ws.get_mut().room = usize::MAX;
    ws.flush().unwrap();
    let mut wire = vec![0x82, 20];
    wire.extend_from_slice(&[7u8; 20]);
    assert_eq!(ws.get_ref().written, wire);
}

#[test]
fn a_write_to_a_transport_that_is_gone_drops_what_was_queued() {
    let mut ws = socket(io::ErrorKind::BrokenPipe);
    assert!(ws.send(Message::binary(vec![7u8; 20])).is_err());
    assert_eq!(ws.connection().buffered_amount(), 0);
}
