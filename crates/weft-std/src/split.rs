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
    type Reader = ReadHalf;
    type Writer = WriteHalf;
    fn split(self) -> io::Result<(ReadHalf, WriteHalf)> {
        match self {
            MaybeTlsStream::Plain(tcp) => {
                let writer = tcp.try_clone()?;
                Ok((ReadHalf::Plain(tcp), WriteHalf::Plain(writer)))
            }
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => {
                let (reader, writer) = crate::tls_split::split(*tls)?;
                Ok((ReadHalf::Tls(reader), WriteHalf::Tls(writer)))
            }
        }
    }
}

/// The reading half of a split [`MaybeTlsStream`].
#[derive(Debug)]
pub enum ReadHalf {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    #[cfg(feature = "tls")]
    Tls(crate::tls_split::TlsReadHalf),
}

/// The writing half of a split [`MaybeTlsStream`].
#[derive(Debug)]
pub enum WriteHalf {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    #[cfg(feature = "tls")]
    Tls(crate::tls_split::TlsWriteHalf),
}

impl io::Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(s) => s.read(buf),
        }
    }
}

impl Transport for ReadHalf {
    fn set_read_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            ReadHalf::Plain(s) => s.set_read_timeout(timeout),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(s) => s.set_read_timeout(timeout),
        }
    }
}

impl io::Write for ReadHalf {
    /// The reading half does not write.
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for WriteHalf {
    /// The writing half does not read.
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl io::Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(s) => s.flush(),
        }
    }
}

impl Transport for WriteHalf {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Plain(s) => s.shutdown_write(),
            #[cfg(feature = "tls")]
            WriteHalf::Tls(s) => s.shutdown_write(),
        }
    }
}

#[derive(Debug)]
struct Shared<W> {
    conn: Mutex<State>,
    writer: Mutex<Writing<W>>,
}

#[derive(Debug)]
struct State {
    conn: Connection,
    ended: Option<CloseReason>,
}

#[derive(Debug)]
struct Writing<W> {
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
        writer: Mutex::new(Writing {
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
