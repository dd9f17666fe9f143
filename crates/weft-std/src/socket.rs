//! [`WebSocket`]: a connection over a blocking stream, used from one thread.

use weft_io::{Error, Incoming, Message};
use weft_proto::{CloseCode, CloseFrame, CloseReason, Connection, Latency};

use crate::driver::{self, TimeoutCache, Wait, READ_BUF};
use crate::split::{self, Split, WsReader, WsWriter};
use crate::Transport;
use weft_io::span::ConnectionSpan;

/// A WebSocket over a blocking stream.
///
/// [`read`](Self::read) waits for the next message, answering pings and
/// the peer's close as it goes, and returns `Ok(None)` once the connection
/// has ended; [`close_reason`](Self::close_reason) then says why.
/// [`send`](Self::send) queues a message and writes it. Timers (keepalive,
/// close timeout) run inside `read`, through the stream's read timeout.
///
/// To read and write from two threads, [`split`](Self::split) it.
///
/// With the `tracing` feature, its calls into the connection run inside a
/// span of its own, `websocket`, with the fields `role`, `peer` and `id`
/// (see `docs/debugging.md`).
#[derive(Debug)]
pub struct WebSocket<S> {
    conn: Connection,
    stream: S,
    buf: Box<[u8]>,
    timeout: TimeoutCache,
    span: ConnectionSpan,
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a stream whose opening handshake is done, driven by `conn`
    /// (from a handshake's `into_connection`, or `Connection::server` /
    /// `Connection::client` for a stream upgraded elsewhere).
    pub fn from_connection(stream: S, conn: Connection) -> Self {
        let span = ConnectionSpan::new(conn.role());
        WebSocket::from_connection_in(stream, conn, span)
    }

    /// [`from_connection`](Self::from_connection), inside a span made
    /// beforehand (the events of the opening handshake land in it too).
    pub(crate) fn from_connection_in(stream: S, conn: Connection, span: ConnectionSpan) -> Self {
        WebSocket {
            span,
            conn,
            stream,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            timeout: TimeoutCache::default(),
        }
    }

    /// Records the peer's address on the connection's span (feature
    /// `tracing`), where its logs show it. Clients made by `connect` record
    /// it themselves; a server, whose transport the adapter cannot ask,
    /// calls this after accepting.
    pub fn record_peer(&self, peer: std::net::SocketAddr) {
        self.span.record_peer(peer);
    }

    /// The next message, or `Ok(None)` once the connection has ended (see
    /// [`close_reason`](Self::close_reason)). Pongs and close echoes owed
    /// are written before it returns. `Err` means the transport failed.
    pub fn read(&mut self) -> Result<Option<Message>, Error> {
        let _span = self.span.enter();
        loop {
            if let Some(event) = self.conn.poll_event() {
                // Write any reply this event queued (a pong per ping).
                self.flush_or_end();
                match Incoming::from_event(event)? {
                    Incoming::Message(message) => return Ok(Some(message)),
                    Incoming::Closed(_) => {
                        self.finish();
                        return Ok(None);
                    }
                }
            }
            if self.conn.is_terminated() {
                return Ok(None);
            }
            self.flush_or_end();
            let Wait::Read(timeout) = driver::wait(&mut self.conn) else {
                continue;
            };
            self.timeout.set(&self.stream, timeout)?;
            let result = self.stream.read(&mut self.buf);
            driver::feed(&mut self.conn, result, &self.buf)?;
        }
    }

    /// Queues `message` and writes it (and anything else queued).
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let _span = self.span.enter();
        driver::command(&mut self.conn, message.into())?;
        self.flush()
    }

    /// Queues `message` without writing it; [`flush`](Self::flush) writes.
    pub fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let _span = self.span.enter();
        driver::command(&mut self.conn, message.into())
    }

    /// Starts the closing handshake. Keep calling [`read`](Self::read) until
    /// it returns `Ok(None)`: the handshake completes there.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Message::Close(Some(CloseFrame::new(code, reason))))
    }

    /// Writes everything queued, and half-closes the stream once the
    /// connection asks for it.
    pub fn flush(&mut self) -> Result<(), Error> {
        let _span = self.span.enter();
        Ok(driver::flush(&mut self.conn, &mut self.stream)?)
    }

    /// Flushes on behalf of `read`. A write that fails means the transport
    /// is gone: the connection is told, and ends after delivering what it
    /// already received, instead of this read losing an event.
    fn flush_or_end(&mut self) {
        if self.flush().is_err() {
            self.conn.handle_eof(std::time::Instant::now());
        }
    }

    /// After the end: the last bytes (the close frame) go out, but a peer
    /// that does not read holds them up for at most the close timeout.
    fn finish(&mut self) {
        let give_up = self.conn.config().close_timeout;
        let _ = self.stream.set_write_timeout(Some(give_up));
        if self.flush().is_err() {
            let _ = self.stream.abort();
        }
        let _ = self.stream.set_write_timeout(None);
    }

    /// Why the connection ended, once it has ([`read`](Self::read) returns
    /// `Ok(None)` from then on).
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.conn.close_reason()
    }

    /// The round trip of keepalive pings, once one was answered (the
    /// latest and a smoothed value); see [`Connection::latency`](weft_proto::Connection::latency).
    pub fn latency(&self) -> Option<Latency> {
        self.conn.latency()
    }

    /// The protocol state machine.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (reading or writing it directly corrupts the
    /// connection).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Splits into a reader and a writer for two threads: a read blocked on
    /// the stream never holds up a write, and pongs and close echoes the
    /// reader owes are written by the reader itself.
    pub fn split(self) -> Result<(WsReader<S>, WsWriter<S>), Error>
    where
        S: Split,
    {
        let (reader, writer) = self.stream.split()?;
        Ok(split::new::<S>(
            self.conn, self.span, reader, writer, self.buf,
        ))
    }
}
