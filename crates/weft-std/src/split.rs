//! A WebSocket split into a reader and a writer for two threads.
//!
//! The connection sits behind a mutex held only for calls into the core,
//! never across I/O. Writing takes the writer's mutex first and holds it
//! while taking and writing each transmit, so frames reach the wire in the
//! order the core queued them (lock order: writer, then connection).
//!
//! The writing half takes the writer's mutex *before* queuing its message,
//! so the application's data is only ever written by its own thread. The
//! reader writes only what it owes (pongs, the close echo), and only when
//! the writer's mutex is free; otherwise the writing half writes it, and
//! looks once more after releasing the mutex so nothing is left behind.
//! The reader therefore never blocks on a write, which would stop it
//! reading and could deadlock two peers sending each other large messages.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use weft_io::{Error, Incoming, Message};
use weft_proto::{CloseCode, CloseFrame, CloseReason, Connection, Latency};

use crate::driver::{self, TimeoutCache, Wait};
use crate::{MaybeTlsStream, Transport};
use weft_io::span::ConnectionSpan;

/// The longest a split reader blocks before looking at the timers again.
const READER_TICK: Duration = Duration::from_millis(250);

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

    fn abort(&self) -> io::Result<()> {
        match self {
            ReadHalf::Plain(s) => Transport::abort(s),
            #[cfg(feature = "tls")]
            ReadHalf::Tls(s) => s.abort(),
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
    conn: Mutex<Connection>,
    writer: Mutex<Writing<W>>,
    /// The connection's span: both halves call into the core inside it.
    span: ConnectionSpan,
}

#[derive(Debug)]
struct Writing<W> {
    stream: W,
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
    /// half-closes when it asks. The caller holds the writer's mutex.
    fn drain(&self, writer: &mut Writing<W>) -> Result<(), Error> {
        let mut write = || loop {
            let (transmit, shutdown) = {
                let mut conn = lock(&self.conn);
                (conn.poll_transmit(), conn.poll_shutdown())
            };
            if let Some(t) = transmit {
                driver::write_transmit(&mut writer.stream, t)?;
                continue;
            }
            writer.stream.flush()?;
            if shutdown {
                writer.stream.shutdown_write()?;
            }
            return Ok::<_, io::Error>(());
        };
        write().map_err(|e| {
            driver::transport_failed("writing", &e, &lock(&self.conn));
            Error::from(e)
        })
    }

    /// Whether anything waits to be written (or the write side to be closed).
    fn has_output(&self) -> bool {
        let conn = lock(&self.conn);
        conn.buffered_amount() > 0 || conn.is_shutdown_due()
    }

    /// The writing half's path: applies `command` and writes, holding the
    /// writer's mutex throughout, then writes what the reader queued meanwhile.
    fn send(
        &self,
        command: impl FnOnce(&mut Connection) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let _span = self.span.enter();
        let mut writer = lock(&self.writer);
        command(&mut lock(&self.conn))?;
        let written = self.drain(&mut writer);
        drop(writer);
        written?;
        self.flush_owed()
    }

    /// The reader's path: writes what is queued if no one else is writing.
    /// If the writing half holds the mutex, it writes this too.
    fn flush_owed(&self) -> Result<(), Error> {
        loop {
            let mut writer = match self.writer.try_lock() {
                Ok(writer) => writer,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(()),
            };
            self.drain(&mut writer)?;
            drop(writer);
            // The other half may have queued something after our last look
            // and failed to take the mutex we held.
            if !self.has_output() {
                return Ok(());
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
    span: ConnectionSpan,
    reader: S::Reader,
    writer: S::Writer,
    buf: Box<[u8]>,
) -> (WsReader<S>, WsWriter<S>) {
    let shared = Arc::new(Shared {
        conn: Mutex::new(conn),
        writer: Mutex::new(Writing { stream: writer }),
        span,
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
        let _span = self.shared.span.enter();
        loop {
            let event = lock(&self.shared.conn).poll_event();
            if let Some(event) = event {
                self.flush_owed();
                match Incoming::from_event(event)? {
                    Incoming::Message(message) => return Ok(Some(message)),
                    Incoming::Closed(_) => {
                        self.finish();
                        return Ok(None);
                    }
                }
            }
            if lock(&self.shared.conn).is_terminated() {
                return Ok(None);
            }
            self.flush_owed();
            let wait = driver::wait(&mut lock(&self.shared.conn));
            let Wait::Read(timeout) = wait else {
                continue;
            };
            // The writing half may start a timer (a close) while this read
            // blocks: wake up now and then to look.
            let timeout = Some(timeout.map_or(READER_TICK, |t| t.min(READER_TICK)));
            self.timeout.set(&self.stream, timeout)?;
            let result = self.stream.read(&mut self.buf);
            driver::feed(&mut lock(&self.shared.conn), result, &self.buf)?;
        }
    }

    /// Why the connection ended, once it has ([`read`](Self::read) returns
    /// `Ok(None)` from then on).
    pub fn close_reason(&self) -> Option<CloseReason> {
        lock(&self.shared.conn).close_reason().cloned()
    }

    /// The round trip of keepalive pings, once one was answered (the
    /// latest and a smoothed value); see [`Connection::latency`](weft_proto::Connection::latency).
    pub fn latency(&self) -> Option<Latency> {
        lock(&self.shared.conn).latency()
    }

    /// After the end: the last bytes (the close frame) go out, by the writing
    /// half if it is busy; if they cannot within the close timeout (the
    /// peer does not read), the transport is shut down both ways, which
    /// also frees a writing half blocked on it.
    fn finish(&mut self) {
        let give_up = lock(&self.shared.conn).config().close_timeout;
        let started = std::time::Instant::now();
        loop {
            self.flush_owed();
            if !self.shared.has_output() {
                return;
            }
            if started.elapsed() >= give_up {
                let _ = self.stream.abort();
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Writes what the reader owes. A write that fails means the transport
    /// is gone: the connection is told, and ends after delivering what it
    /// already received, rather than this read losing an event.
    fn flush_owed(&mut self) {
        if self.shared.flush_owed().is_err() {
            lock(&self.shared.conn).handle_eof(std::time::Instant::now());
        }
    }
}

impl<S: Split> WsWriter<S> {
    /// Queues `message` and writes it.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        self.shared.send(|conn| driver::command(conn, message))
    }

    /// Starts the closing handshake; the reader sees it complete.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send(Message::Close(Some(CloseFrame::new(code, reason))))
    }

    /// Writes everything queued.
    pub fn flush(&self) -> Result<(), Error> {
        self.shared.send(|_| Ok(()))
    }
}
