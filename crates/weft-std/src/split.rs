//! A WebSocket split into a reader and a writer for two threads.
//!
//! The connection sits behind a mutex held only for calls into the core,
//! never across I/O. Writing takes the writer's mutex first and holds it
//! while taking and writing each transmit, so frames reach the wire in the
//! order the core queued them, whichever thread writes them (lock order:
//! writer, then connection).

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};

use weft_io::{Error, Message};
use weft_proto::{CloseCode, CloseFrame, CloseReason, Connection};

use crate::driver::{self, Received, TimeoutCache, Wait};
use crate::{MaybeTlsStream, Transport};

/// A stream that can be split into a half to read and a half to write,
/// each usable from its own thread.
pub trait Split: Transport + Sized {
    /// The half that reads.
    type Reader: Transport + Send;
    /// The half that writes.
    type Writer: Transport + Send;
    /// Splits the stream.
    fn split(self) -> io::Result<(Self::Reader, Self::Writer)>;
}

impl Split for TcpStream {
    type Reader = TcpStream;
    type Writer = TcpStream;
    fn split(self) -> io::Result<(TcpStream, TcpStream)> {
        let writer = self.try_clone()?;
        Ok((self, writer))
    }
}

impl Split for MaybeTlsStream {
    type Reader = MaybeTlsStream;
    type Writer = MaybeTlsStream;
    /// Plain TCP splits; a TLS stream cannot (rustls's `StreamOwned` is one
    /// state machine), and fails with `Unsupported`.
    fn split(self) -> io::Result<(MaybeTlsStream, MaybeTlsStream)> {
        match self {
            MaybeTlsStream::Plain(tcp) => {
                let writer = tcp.try_clone()?;
                Ok((MaybeTlsStream::Plain(tcp), MaybeTlsStream::Plain(writer)))
            }
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a TLS WebSocket cannot be split; use it from one thread",
            )),
        }
    }
}

#[derive(Debug)]
struct Shared<W> {
    conn: Mutex<State>,
    writer: Mutex<WriteHalf<W>>,
}

#[derive(Debug)]
struct State {
    conn: Connection,
    ended: Option<CloseReason>,
}

#[derive(Debug)]
struct WriteHalf<W> {
    stream: W,
    shut: bool,
}

/// Locks a mutex; a thread that panicked while holding it left the
/// connection in a consistent state (every call into the core is atomic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<W: Transport> Shared<W> {
    /// Writes everything the connection has queued, in order, then
    /// half-closes when the connection asks.
    fn flush(&self) -> Result<(), Error> {
        let mut writer = lock(&self.writer);
        loop {
            let (transmit, shutdown) = {
                let mut state = lock(&self.conn);
                (state.conn.poll_transmit(), state.conn.poll_shutdown())
            };
            match transmit {
                Some(t) => driver::write_transmit(&mut writer.stream, t)?,
                None => {
                    writer.stream.flush()?;
                    if shutdown && !writer.shut {
                        writer.shut = true;
                        writer.stream.shutdown_write()?;
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// The reading half of a split [`WebSocket`](crate::WebSocket). Timers run
/// here, so keep a thread reading.
#[derive(Debug)]
pub struct WsReader<S: Split> {
    shared: Arc<Shared<S::Writer>>,
    stream: S::Reader,
    buf: Box<[u8]>,
    timeout: TimeoutCache,
}

/// The writing half of a split [`WebSocket`](crate::WebSocket).
#[derive(Debug)]
pub struct WsWriter<S: Split> {
    shared: Arc<Shared<S::Writer>>,
}

pub(crate) fn new<S: Split>(
    conn: Connection,
    reader: S::Reader,
    writer: S::Writer,
    buf: Box<[u8]>,
    shut: bool,
    ended: Option<CloseReason>,
) -> (WsReader<S>, WsWriter<S>) {
    let shared = Arc::new(Shared {
        conn: Mutex::new(State { conn, ended }),
        writer: Mutex::new(WriteHalf {
            stream: writer,
            shut,
        }),
    });
    let reader = WsReader {
        shared: shared.clone(),
        stream: reader,
        buf,
        timeout: TimeoutCache::default(),
    };
    (reader, WsWriter { shared })
}

impl<S: Split> WsReader<S> {
    /// The next message, or `Ok(None)` once the connection has ended. No
    /// lock is held while this blocks on the stream; replies it owes are
    /// written before it returns.
    pub fn read(&mut self) -> Result<Option<Message>, Error> {
        loop {
            let event = lock(&self.shared.conn).conn.poll_event();
            if let Some(event) = event {
                self.shared.flush()?;
                match driver::read_of(event) {
                    Some(Received::Message(message)) => return Ok(Some(message)),
                    Some(Received::Ended(reason)) => {
                        lock(&self.shared.conn).ended = Some(reason);
                        self.shared.flush()?;
                        return Ok(None);
                    }
                    None => continue,
                }
            }
            if lock(&self.shared.conn).ended.is_some() {
                return Ok(None);
            }
            self.shared.flush()?;
            let wait = driver::wait(&mut lock(&self.shared.conn).conn);
            let Wait::Read(timeout) = wait else {
                continue;
            };
            self.timeout.set(&self.stream, timeout)?;
            let result = self.stream.read(&mut self.buf);
            driver::feed(&mut lock(&self.shared.conn).conn, result, &self.buf)?;
        }
    }

    /// Why the connection ended, once [`read`](Self::read) has returned `Ok(None)`.
    pub fn close_reason(&self) -> Option<CloseReason> {
        lock(&self.shared.conn).ended.clone()
    }
}

impl<S: Split> WsWriter<S> {
    /// Queues `message` and writes it.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        driver::command(&mut lock(&self.shared.conn).conn, message.into())?;
        self.shared.flush()
    }

    /// Starts the closing handshake; the reader sees it complete.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Message::Close(Some(CloseFrame::new(code, reason))))
    }

    /// Writes everything queued.
    pub fn flush(&self) -> Result<(), Error> {
        self.shared.flush()
    }
}
