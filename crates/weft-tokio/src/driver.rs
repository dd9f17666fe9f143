//! The state a stream and its halves share: the connection, its transport,
//! and the queue of bytes between them.
//!
//! Everything lives in one [`Inner`] behind a `std::sync::Mutex` that is only
//! ever held inside a `poll_*` call, never across an `.await`. Whoever holds
//! it writes what the core has queued, so replies the reader owes (pongs,
//! close echoes) go out from the reading half even when the sending half is
//! idle, and a pending read never holds up a send. Writing out lives in
//! `write_out`, the reading half's loop in `read_loop`; the connection's
//! span (feature `tracing`) is `weft_io::span`'s.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use tokio::time::Sleep;
use weft_proto::Connection;

use crate::wakers::Wakers;

mod read_loop;
mod write_out;

pub(crate) use weft_io::span::ConnectionSpan;
pub(crate) use write_out::WRITE_HIGH_WATER;

/// What both halves share.
pub(crate) struct Shared<S> {
    state: Mutex<Inner<S>>,
    pub(crate) wakers: Arc<Wakers>,
    /// A waker made from `wakers`: the one the transport is polled with.
    pub(crate) io_waker: Waker,
    /// The connection's span: every call into the core runs inside it.
    pub(crate) span: ConnectionSpan,
}

impl<S> Shared<S> {
    /// The shared state of `conn` over `io`, whose calls into the core run
    /// inside `span`.
    pub(crate) fn new(io: S, conn: Connection, span: ConnectionSpan) -> Arc<Self> {
        let wakers = Arc::new(Wakers::default());
        Arc::new(Shared {
            state: Mutex::new(Inner::new(io, conn)),
            io_waker: Waker::from(wakers.clone()),
            wakers,
            span,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where the transport's write side stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteSide {
    Open,
    /// `poll_shutdown` completed (or failed; there is nothing more to do).
    Shut,
    /// A write failed: the transport is broken, further output is dropped.
    Failed,
}

/// The connection, its transport, and everything in between. No field is
/// ever held by a future: a dropped `next()` loses nothing.
pub(crate) struct Inner<S> {
    pub(crate) io: S,
    pub(crate) conn: Connection,
    /// Bytes were written since the last successful `poll_flush`.
    needs_flush: bool,
    pub(crate) write_side: WriteSide,
    /// What a failed write said, for the sending half to report.
    /// Boxed: kept only after a failed write.
    write_error: Option<Box<(io::ErrorKind, String)>>,
    read_eof: bool,
    /// A read error to hand to the application before the remaining events.
    read_error: Option<io::Error>,
    /// The timer, created on first use (so a stream can be made outside a
    /// runtime), and the instant it is armed for.
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
    /// Where the reading half stands once the core has ended.
    ending: Ending,
    /// When the stream was made: the instant handed with commands that do
    /// not read one (all but the close).
    pub(crate) opened: Instant,
}

/// The reading half after the core's terminal event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The core has not ended, or its `Closed` has just been taken.
    Running,
    /// Writing out the last bytes to a peer that may not read, until the
    /// close timeout (`None`: a timeout too long to represent, no limit).
    Lingering { until: Option<Instant> },
    /// `Event::Closed` has been handed out (by `next_event`) or skipped
    /// (by the message stream): nothing follows.
    Finished,
}

impl<S> Inner<S> {
    fn new(io: S, conn: Connection) -> Self {
        Inner {
            io,
            conn,
            needs_flush: false,
            write_side: WriteSide::Open,
            write_error: None,
            read_eof: false,
            read_error: None,
            sleep: None,
            armed: None,
            ending: Ending::Running,
            opened: Instant::now(),
        }
    }

    /// Bytes the application has queued that are not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.conn.buffered_amount()
    }
}
