//! The pieces of the blocking loop, shared by [`WebSocket`](crate::WebSocket)
//! and the halves of a split one: nothing here decides anything about the
//! protocol; it moves bytes, time and events between a transport and the core,
//! inside the connection's span (feature `tracing`, `weft_io::span`).

use std::io::{self, IoSlice, Write};
use std::time::{Duration, Instant};

use weft_io::{Error, Message};
use weft_proto::bytes::Buf;
use weft_proto::Connection;

use crate::Transport;

/// Bytes read at a time.
pub(crate) const READ_BUF: usize = 32 * 1024;

/// Writes a transmit completely, vectored: an owned [`Transmit`](weft_proto::Transmit), or the
/// connection's queue where it lies (a `TransmitRef`).
pub(crate) fn write_transmit<W: Write + ?Sized>(w: &mut W, mut t: impl Buf) -> io::Result<()> {
    while t.has_remaining() {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = t.chunks_vectored(&mut slices);
        match w.write_vectored(&slices[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => t.advance(written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Hands a message to the connection as a command.
pub(crate) fn command(conn: &mut Connection, message: Message) -> Result<(), Error> {
    message.send_on(conn, Instant::now()).map_err(Error::Send)
}

/// What to do before the next read.
pub(crate) enum Wait {
    /// A timer was due and has fired: poll events before reading.
    Fired,
    /// Read, blocking at most this long (`None`: until data arrives).
    Read(Option<Duration>),
}

/// Fires the timer that is due, or says how long the next read may block.
pub(crate) fn wait(conn: &mut Connection) -> Wait {
    let now = Instant::now();
    match conn.poll_timeout() {
        None => Wait::Read(None),
        // A zero timeout means "forever" to std: wait at least 1 ms.
        Some(deadline) if deadline > now => {
            Wait::Read(Some((deadline - now).max(Duration::from_millis(1))))
        }
        Some(_) => {
            conn.handle_timeout(now);
            Wait::Fired
        }
    }
}

/// Writes everything `conn` has queued to `stream`, flushes, and
/// half-closes the stream once the connection asks for it. A failure is
/// logged (see [`transport_failed`]) and returned.
pub(crate) fn flush<S: Transport + ?Sized>(
    conn: &mut Connection,
    stream: &mut S,
) -> io::Result<()> {
    let mut write = || {
        while let Some(transmit) = conn.poll_transmit_ref() {
            write_transmit(stream, transmit)?;
        }
        stream.flush()?;
        if conn.poll_shutdown() {
            stream.shutdown_write()?;
        }
        Ok(())
    };
    write().inspect_err(|e| {
        transport_failed("writing", e, conn);
        if !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
        ) {
            // The transport is gone: what is queued can no longer go. A
            // write that timed out or would block keeps it, to go on from
            // where it stopped.
            discard_queued(conn);
        }
    })
}

/// Drops everything queued for writing.
fn discard_queued(conn: &mut Connection) {
    while let Some(mut transmit) = conn.poll_transmit_ref() {
        let all = transmit.remaining();
        transmit.advance(all);
    }
}

/// Feeds the result of a read to the connection. Timeouts are timer ticks;
/// a reset or aborted connection is the end of input; other errors are
/// returned after ending the input, so the connection still ends.
pub(crate) fn feed(conn: &mut Connection, result: io::Result<usize>, buf: &[u8]) -> io::Result<()> {
    let now = Instant::now();
    if let Err(e) = &result {
        if !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
        ) {
            transport_failed("reading", e, conn);
        }
    }
    match result {
        Ok(0) => conn.handle_eof(now),
        Ok(n) => conn.handle_data(now, &buf[..n]),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            conn.handle_timeout(now)
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) if weft_io::is_abrupt_close(&e) => conn.handle_eof(now),
        Err(e) => {
            conn.handle_eof(now);
            return Err(e);
        }
    }
    Ok(())
}

/// Applies a read timeout only when it changes (a system call each time).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum TimeoutCache {
    /// None applied yet: whatever the transport has, it is set on first use.
    #[default]
    Unknown,
    /// The read timeout last applied (`None`: reads block until data arrives).
    Applied(Option<Duration>),
}

impl TimeoutCache {
    pub(crate) fn set<S: Transport + ?Sized>(
        &mut self,
        stream: &S,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        // Within a millisecond counts as unchanged.
        let same = match (*self, timeout) {
            (TimeoutCache::Applied(Some(a)), Some(b)) => a.abs_diff(b) < Duration::from_millis(1),
            (TimeoutCache::Applied(a), b) => a == b,
            (TimeoutCache::Unknown, _) => false,
        };
        if !same {
            stream.set_read_timeout(timeout)?;
            *self = TimeoutCache::Applied(timeout);
        }
        Ok(())
    }
}

/// The transport failed while `doing` (reading, writing). While `conn` is
/// open (it has not ended) that loses the connection, a warning; after its
/// end it only cuts short the last bytes, which the close already
/// accounts for.
pub(crate) fn transport_failed(doing: &str, error: &io::Error, conn: &Connection) {
    weft_io::span::transport_failed(doing, error, conn.close_reason().is_none());
}
