//! [`WebSocketStream`]: a [`Connection`] driven over an `AsyncRead + AsyncWrite`,
//! as a [`Stream`] of messages and a [`Sink`] of messages, and its two halves.
//!
//! Everything lives in one `State` behind a `std::sync::Mutex` that is only
//! ever held inside a `poll_*` call, never across an `.await`. Whoever holds
//! it writes what the core has queued, so replies the reader owes (pongs,
//! close echoes) go out from the reading half even when the sending half is
//! idle, and a pending read never holds up a send.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use bytes::Buf;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use weft_io::{Error, Incoming, Message, OsRandom};
use weft_proto::{CloseReason, Config, Connection, Event, Role, State, Transmit};

/// Bytes queued for writing above which [`Sink::poll_ready`] waits (and the
/// reading half stops reading, so pongs owed to a peer that does not read
/// cannot pile up).
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;

/// The size of the read buffer.
const READ_BUF: usize = 64 * 1024;

thread_local! {
    /// One read buffer per thread, shared by every connection the thread
    /// serves: what a read brings is handed to the core at once, so no
    /// connection keeps a buffer of its own between reads, and an idle
    /// connection costs no read buffer at all.
    static SHARED_READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_BUF]);
}

/// How many reads one poll of the reading half makes before it yields,
/// so that a long message does not keep the lock (and the thread) long.
const READS_PER_POLL: usize = 32;

/// How many slices one vectored write gathers.
const MAX_IOV: usize = 64;

/// The waker slot of the half that reads (the [`Stream`] side).
const READER: usize = 0;
/// The waker slot of the half that sends (the [`Sink`] side).
const WRITER: usize = 1;

/// The wakers of the tasks waiting on the transport.
///
/// A transport remembers one waker per direction, but both halves may wait
/// to write (the reader for the replies it owes, the writer for messages).
/// The transport is therefore always polled with one waker made from this,
/// which wakes every task registered here; each registers itself *before*
/// polling the transport, so no wake-up can fall between the two.
#[derive(Default)]
struct Wakers {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl Wakers {
    fn lock(&self) -> MutexGuard<'_, [Option<Waker>; 2]> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(&self, slot: usize, waker: &Waker) {
        let mut slots = self.lock();
        match &slots[slot] {
            Some(w) if w.will_wake(waker) => {}
            _ => slots[slot] = Some(waker.clone()),
        }
    }

    fn clear(&self, slot: usize) {
        self.lock()[slot] = None;
    }

    fn wake_slot(&self, slot: usize) {
        let waker = self.lock()[slot].take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Wake outside the lock: a waker may run arbitrary code.
        let taken = std::mem::take(&mut *self.lock());
        for waker in taken.into_iter().flatten() {
            waker.wake();
        }
    }
}

/// What both halves share.
struct Shared<S> {
    state: Mutex<Inner<S>>,
    wakers: Arc<Wakers>,
    /// A waker made from `wakers`: the one the transport is polled with.
    io_waker: Waker,
}

impl<S> Shared<S> {
    fn new(io: S, conn: Connection) -> Arc<Self> {
        let wakers = Arc::new(Wakers::default());
        Arc::new(Shared {
            state: Mutex::new(Inner::new(io, conn)),
            io_waker: Waker::from(wakers.clone()),
            wakers,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where the transport's write side stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteSide {
    Open,
    /// `poll_shutdown` completed (or failed; there is nothing more to do).
    Shut,
    /// A write failed: the transport is broken, further output is dropped.
    Failed,
}

/// The connection, its transport, and everything in between. No field is
/// ever held by a future: a dropped `next()` loses nothing.
struct Inner<S> {
    io: S,
    conn: Connection,
    /// Transmits taken from the core and not yet fully written, in order.
    out: VecDeque<Transmit>,
    /// Bytes remaining in `out`.
    out_len: usize,
    /// Bytes were written since the last successful `poll_flush`.
    needs_flush: bool,
    write_side: WriteSide,
    /// What a failed write said, for the sending half to report.
    write_error: Option<(io::ErrorKind, String)>,
    read_eof: bool,
    /// A read error to hand to the application before the remaining events.
    read_error: Option<io::Error>,
    /// The timer, created on first use (so a stream can be made outside a
    /// runtime), and the instant it is armed for.
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
    /// Where the reading half stands once the core has ended.
    ending: Ending,
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
            out: VecDeque::new(),
            out_len: 0,
            needs_flush: false,
            write_side: WriteSide::Open,
            write_error: None,
            read_eof: false,
            read_error: None,
            sleep: None,
            armed: None,
            ending: Ending::Running,
        }
    }

    /// Moves what the core has queued into `out`, up to the high-water
    /// mark: past it, frames wait in the core, where a burst of pings owes
    /// one pong, so a peer that does not read cannot grow the queue.
    fn take_transmits(&mut self) {
        while self.out_len <= WRITE_HIGH_WATER {
            let Some(transmit) = self.conn.poll_transmit() else {
                break;
            };
            if self.write_side == WriteSide::Open && transmit.has_remaining() {
                self.out_len += transmit.remaining();
                self.out.push_back(transmit);
            }
        }
    }

    /// Bytes the application has queued that are not yet written.
    fn queued(&self) -> usize {
        self.out_len + self.conn.buffered_amount()
    }

    fn advance(&mut self, mut written: usize) {
        self.out_len -= written.min(self.out_len);
        while written > 0 {
            let Some(front) = self.out.front_mut() else {
                break;
            };
            let len = front.remaining();
            if written < len {
                front.advance(written);
                break;
            }
            written -= len;
            self.out.pop_front();
        }
    }

    /// The transport broke while writing: drop what was queued and tell
    /// the core the transport has ended (it decides what the ending means).
    fn fail_write(&mut self, e: &io::Error, wakers: &Wakers) {
        self.write_side = WriteSide::Failed;
        self.write_error = Some((e.kind(), e.to_string()));
        self.out.clear();
        self.out_len = 0;
        self.needs_flush = false;
        if !self.read_eof {
            self.read_eof = true;
            self.conn.handle_eof(Instant::now());
        }
        // The reading half must see the end.
        wakers.wake_slot(READER);
    }

    fn write_error(&self) -> Error {
        let (kind, message) = self
            .write_error
            .clone()
            .unwrap_or((io::ErrorKind::BrokenPipe, "the transport is closed".into()));
        Error::Io(io::Error::new(kind, message))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// Writes everything queued (vectored), flushes, and half-closes the
    /// transport once the core says so. `Pending` means the transport
    /// cannot take more now; the waker behind `cx` is registered.
    fn poll_write_out(&mut self, cx: &mut Context<'_>, wakers: &Wakers) -> Poll<Result<(), Error>> {
        self.take_transmits();
        if self.write_side == WriteSide::Failed {
            return Poll::Ready(Err(self.write_error()));
        }
        while self.out_len > 0 {
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for transmit in &self.out {
                n += transmit.chunks_vectored(&mut slices[n..]);
                if n == MAX_IOV {
                    break;
                }
            }
            match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]) {
                Poll::Ready(Ok(0)) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "the transport took no bytes");
                    self.fail_write(&e, wakers);
                    return Poll::Ready(Err(Error::Io(e)));
                }
                Poll::Ready(Ok(written)) => {
                    self.advance(written);
                    self.needs_flush = true;
                    // Room again: take what waited in the core.
                    self.take_transmits();
                }
                Poll::Ready(Err(e)) => {
                    self.fail_write(&e, wakers);
                    return Poll::Ready(Err(Error::Io(e)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.needs_flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => {
                    self.fail_write(&e, wakers);
                    return Poll::Ready(Err(Error::Io(e)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.write_side == WriteSide::Open && self.conn.poll_shutdown() {
            match Pin::new(&mut self.io).poll_shutdown(cx) {
                // A failed half-close leaves nothing to do: the connection
                // has ended either way.
                Poll::Ready(_) => self.write_side = WriteSide::Shut,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Polls the timer armed for `deadline`; `true` once it has passed.
    /// One read, handed to the core; `Ok(0)` at the end of the stream.
    fn poll_read_once(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut read = |into: &mut [u8]| {
            let mut buf = ReadBuf::new(into);
            let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
            let n = buf.filled().len();
            if let Poll::Ready(Ok(())) = polled {
                if n > 0 {
                    self.conn.handle_data(Instant::now(), buf.filled());
                }
            }
            polled.map_ok(|()| n)
        };
        SHARED_READ_BUF.with(|shared| match shared.try_borrow_mut() {
            Ok(mut shared) => read(&mut shared),
            // A transport that is itself read through a connection on this
            // thread (a tunnel) finds the shared buffer in use.
            Err(_) => read(&mut vec![0; 4096]),
        })
    }

    fn poll_sleep(&mut self, cx: &mut Context<'_>, deadline: Instant) -> bool {
        let at = tokio::time::Instant::from_std(deadline);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if self.armed != Some(deadline) {
            sleep.as_mut().reset(at);
            self.armed = Some(deadline);
        }
        sleep.as_mut().poll(cx).is_ready()
    }

    /// The reading half's loop: hand out the next event, writing what is
    /// owed, sleeping until the core's deadline and reading meanwhile.
    ///
    /// `cx` is the caller's (for the timer), `io_cx` wakes every task
    /// waiting on the transport (see [`Wakers`]).
    fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        io_cx: &mut Context<'_>,
        wakers: &Wakers,
    ) -> Poll<Option<Result<Event, Error>>> {
        let mut reads = 0;
        loop {
            if self.ending == Ending::Finished {
                return Poll::Ready(None);
            }
            if let Some(e) = self.read_error.take() {
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
            if self.conn.is_terminated() {
                return self.poll_finish(cx, io_cx, wakers);
            }
            if let Some(event) = self.conn.poll_event() {
                // Take the replies this event queued (a pong, a close
                // echo) before the next event is parsed, so that every
                // ping gets its own pong, and try to write them at once.
                self.take_transmits();
                if let Event::Closed(_) = event {
                    // Handed out once the last bytes are written.
                    continue;
                }
                let _ = self.poll_write_out(io_cx, wakers);
                return Poll::Ready(Some(Ok(event)));
            }
            // Every event is out: write what is owed.
            let write_blocked = self.poll_write_out(io_cx, wakers).is_pending();
            if let Some(deadline) = self.conn.poll_timeout() {
                let now = Instant::now();
                if now >= deadline {
                    self.conn.handle_timeout(now);
                    continue;
                }
                if self.poll_sleep(cx, deadline) {
                    // tokio fires at or after the deadline, in whole
                    // milliseconds; never hand the core an earlier instant.
                    self.conn.handle_timeout(Instant::now().max(deadline));
                    continue;
                }
            }
            if self.read_eof {
                // The core delivers its terminal event after an EOF, so this
                // is not reached; wait for the writer if it is.
                return Poll::Pending;
            }
            // The core has no event to give (every byte read so far is
            // parsed as far as it goes), so what it buffers stays within a
            // frame plus one read. Reading goes on even while writing is
            // blocked: a peer sending a large message while we send it one
            // would otherwise wait on us forever, and we on it.
            let _ = write_blocked;
            if reads == READS_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            reads += 1;
            match self.poll_read_once(io_cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    self.read_eof = true;
                    self.conn.handle_eof(Instant::now());
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.read_eof = true;
                    self.conn.handle_eof(Instant::now());
                    // A peer that vanished is an abnormal closure, which the
                    // close reason reports; anything else is worth an Err.
                    if !weft_io::is_abrupt_close(&e) {
                        self.read_error = Some(e);
                    }
                }
            }
        }
    }

    /// After the terminal event: write out what is left and half-close the
    /// transport, giving up after the close timeout if the peer does not
    /// read; then hand out `Closed`.
    fn poll_finish(
        &mut self,
        cx: &mut Context<'_>,
        io_cx: &mut Context<'_>,
        wakers: &Wakers,
    ) -> Poll<Option<Result<Event, Error>>> {
        let until = match self.ending {
            Ending::Lingering { until } => until,
            _ => {
                let until = Instant::now().checked_add(self.conn.config().close_timeout);
                self.ending = Ending::Lingering { until };
                until
            }
        };
        if self.poll_write_out(io_cx, wakers).is_pending()
            && !until.is_some_and(|until| self.poll_sleep(cx, until))
        {
            return Poll::Pending;
        }
        self.ending = Ending::Finished;
        let reason = self.conn.close_reason().cloned();
        Poll::Ready(Some(Ok(Event::Closed(
            reason.unwrap_or(CloseReason::Abnormal),
        ))))
    }

    /// Queues `message` with the core.
    fn send(&mut self, message: Message) -> Result<(), Error> {
        if self.write_side == WriteSide::Failed {
            return Err(self.write_error());
        }
        message
            .send_on(&mut self.conn, Instant::now())
            .map_err(Error::Send)?;
        self.take_transmits();
        Ok(())
    }
}

/// The halves' shared handle, with the operations both the whole stream
/// and each half expose.
struct Handle<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Handle<S> {
    fn close_reason(&self) -> Option<CloseReason> {
        self.shared.lock().conn.close_reason().cloned()
    }

    fn state(&self) -> State {
        self.shared.lock().conn.state()
    }

    fn role(&self) -> Role {
        self.shared.lock().conn.role()
    }

    fn buffered_amount(&self) -> usize {
        self.shared.lock().queued()
    }

    fn config(&self) -> Config {
        self.shared.lock().conn.config().clone()
    }

    fn with_io<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.shared.lock().io)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Handle<S> {
    fn poll_next_event(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        let shared = &*self.shared;
        shared.wakers.register(READER, cx.waker());
        let mut io_cx = Context::from_waker(&shared.io_waker);
        shared.lock().poll_event(cx, &mut io_cx, &shared.wakers)
    }

    fn poll_next_message(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            return match self.poll_next_event(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(event))) => match Incoming::from_event(event) {
                    Ok(Incoming::Message(message)) => Poll::Ready(Some(Ok(message))),
                    // The terminal event: the stream ends on the next poll.
                    Ok(Incoming::Closed(_)) => continue,
                    Err(e) => Poll::Ready(Some(Err(e))),
                },
            };
        }
    }

    /// Writes out what is queued until at most `limit` bytes remain.
    fn poll_write_down_to(&self, cx: &mut Context<'_>, limit: usize) -> Poll<Result<(), Error>> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.write_side == WriteSide::Failed {
            return Poll::Ready(Err(state.write_error()));
        }
        state.take_transmits();
        if state.queued() <= limit {
            return Poll::Ready(Ok(()));
        }
        shared.wakers.register(WRITER, cx.waker());
        let mut io_cx = Context::from_waker(&shared.io_waker);
        match state.poll_write_out(&mut io_cx, &shared.wakers) {
            Poll::Ready(result) => {
                drop(state);
                shared.wakers.clear(WRITER);
                Poll::Ready(result)
            }
            Poll::Pending if state.queued() <= limit => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush_all(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        shared.wakers.register(WRITER, cx.waker());
        let mut io_cx = Context::from_waker(&shared.io_waker);
        let result = state.poll_write_out(&mut io_cx, &shared.wakers);
        if result.is_ready() {
            drop(state);
            shared.wakers.clear(WRITER);
        }
        result
    }

    fn start_send(&self, message: Message) -> Result<(), Error> {
        let mut state = self.shared.lock();
        let before = state.conn.poll_timeout();
        state.send(message)?;
        let changed = state.conn.poll_timeout() != before;
        drop(state);
        if changed {
            // A close started a deadline: the reading half sleeps on it.
            self.shared.wakers.wake_slot(READER);
        }
        Ok(())
    }

    fn poll_close(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        {
            let mut state = self.shared.lock();
            if matches!(state.conn.state(), State::Open | State::CloseReceived) {
                drop(state);
                self.start_send(Message::Close(None))?;
            } else {
                state.take_transmits();
            }
        }
        self.poll_flush_all(cx)
    }
}

/// A WebSocket over a transport `S`: a [`Stream`] of the messages received
/// and a [`Sink`] for the messages to send.
///
/// Reading drives the connection: it writes the replies the peer is owed
/// (pongs, the close echo), runs the timers (keepalive, close timeout, idle
/// timeout) and ends, with `None`, after the connection has ended and its
/// last bytes are written; [`close_reason`](Self::close_reason) then says
/// why. Keep reading until then, even after sending a close, to complete
/// the closing handshake.
///
/// Sending a [`Message::Close`] starts the closing handshake (`None` sends
/// 1000); like any message, it fails with [`SendError::Closed`](weft_proto::SendError::Closed) once a
/// close frame was sent (ours, or the automatic echo of the peer's).
/// [`Sink::close`](futures_sink::Sink::poll_close) sends one only if none
/// was sent. [`Sink::poll_ready`] waits while more than 64 KiB are queued
/// and not yet written, so a peer that does not read slows the sender
/// rather than filling memory.
///
/// Reads are cancel-safe: every byte read and every parsed message lives in
/// the stream, not in the `next()` future, so dropping that future (in a
/// `tokio::select!`, say) loses nothing.
///
/// [`split`](Self::split) gives a sending and a receiving half for two tasks.
pub struct WebSocketStream<S> {
    handle: Handle<S>,
}

impl<S> fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.handle.shared.lock();
        f.debug_struct("WebSocketStream")
            .field("connection", &state.conn)
            .field("queued", &state.queued())
            .field("close_reason", &state.conn.close_reason())
            .finish_non_exhaustive()
    }
}

impl<S> WebSocketStream<S> {
    /// Drives `conn`, a connection whose handshake is done, over `io`.
    ///
    /// This is the way in for a connection made by hand from `weft-proto`
    /// (with your own masking keys, say); [`from_upgraded`] covers streams
    /// upgraded elsewhere.
    pub fn from_connection(io: S, conn: Connection) -> Self {
        WebSocketStream {
            handle: Handle {
                shared: Shared::new(io, conn),
            },
        }
    }

    /// Splits into a sending half and a receiving half, usable from two
    /// tasks: a pending read never holds up a send, and the receiving half
    /// writes the replies it owes (pongs, the close echo) itself.
    pub fn split(self) -> (WsSender<S>, WsReceiver<S>) {
        let shared = self.handle.shared;
        (
            WsSender {
                handle: Handle {
                    shared: shared.clone(),
                },
            },
            WsReceiver {
                handle: Handle { shared },
            },
        )
    }

    /// Why the connection ended, once it has (the stream has ended or is
    /// about to).
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.handle.close_reason()
    }

    /// Where the connection stands in the closing handshake.
    pub fn state(&self) -> State {
        self.handle.state()
    }

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.handle.role()
    }

    /// The settings in force.
    pub fn config(&self) -> Config {
        self.handle.config()
    }

    /// Bytes queued for sending and not yet written to the transport.
    pub fn buffered_amount(&self) -> usize {
        self.handle.buffered_amount()
    }

    /// Calls `f` with the transport (to read its peer address, say). Do
    /// not read from or write to it.
    pub fn with_io<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        self.handle.with_io(f)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// The next event from the core, [`Event::Closed`] included (once, as
    /// the last item): the lower-level view of the [`Stream`], which reports
    /// the same events as [`Message`]s and ends instead of giving `Closed`.
    /// Cancel-safe, like the stream.
    pub async fn next_event(&mut self) -> Option<Result<Event, Error>> {
        poll_fn(|cx| self.handle.poll_next_event(cx)).await
    }

    /// The poll form of [`next_event`](Self::next_event).
    pub fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        self.handle.poll_next_event(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.handle.poll_next_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll_write_down_to(cx, WRITE_HIGH_WATER)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.handle.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll_flush_all(cx)
    }

    /// Sends a close frame (1000) unless one was sent, and writes out
    /// everything queued. Keep reading to complete the closing handshake.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll_close(cx)
    }
}

/// The sending half of a [`WebSocketStream`], from [`WebSocketStream::split`]:
/// a [`Sink`] of messages.
pub struct WsSender<S> {
    handle: Handle<S>,
}

/// The receiving half of a [`WebSocketStream`], from [`WebSocketStream::split`]:
/// a [`Stream`] of messages, which also writes the replies the peer is owed
/// and runs the timers.
pub struct WsReceiver<S> {
    handle: Handle<S>,
}

impl<S> fmt::Debug for WsSender<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSender").finish_non_exhaustive()
    }
}

impl<S> fmt::Debug for WsReceiver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsReceiver").finish_non_exhaustive()
    }
}

/// The halves given to [`WsSender::reunite`] come from different streams.
pub struct ReuniteError<S>(pub WsSender<S>, pub WsReceiver<S>);

impl<S> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").finish_non_exhaustive()
    }
}

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the two halves come from different WebSocket streams")
    }
}

impl<S> std::error::Error for ReuniteError<S> {}

macro_rules! half_getters {
    ($half:ident) => {
        impl<S> $half<S> {
            /// Why the connection ended, once it has.
            pub fn close_reason(&self) -> Option<CloseReason> {
                self.handle.close_reason()
            }

            /// Where the connection stands in the closing handshake.
            pub fn state(&self) -> State {
                self.handle.state()
            }

            /// Which end this is.
            pub fn role(&self) -> Role {
                self.handle.role()
            }

            /// Bytes queued for sending and not yet written to the transport.
            pub fn buffered_amount(&self) -> usize {
                self.handle.buffered_amount()
            }
        }
    };
}

half_getters!(WsSender);
half_getters!(WsReceiver);

impl<S> WsSender<S> {
    /// Puts the halves back together.
    pub fn reunite(self, receiver: WsReceiver<S>) -> Result<WebSocketStream<S>, ReuniteError<S>> {
        if Arc::ptr_eq(&self.handle.shared, &receiver.handle.shared) {
            drop(receiver);
            Ok(WebSocketStream {
                handle: self.handle,
            })
        } else {
            Err(ReuniteError(self, receiver))
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsReceiver<S> {
    /// The next event from the core, [`Event::Closed`] included; see
    /// [`WebSocketStream::next_event`].
    pub async fn next_event(&mut self) -> Option<Result<Event, Error>> {
        poll_fn(|cx| self.handle.poll_next_event(cx)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WsReceiver<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.handle.poll_next_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WsSender<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll_write_down_to(cx, WRITE_HIGH_WATER)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.handle.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll_flush_all(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.handle.poll_close(cx)
    }
}

/// A WebSocket over a stream whose HTTP upgrade was done elsewhere (by
/// hyper, say): no handshake is read or written. A client's masking keys
/// come from [`OsRandom`].
///
/// # Panics
///
/// For [`Role::Client`], if the operating system has no randomness to
/// give; use [`WebSocketStream::from_connection`] with keys of your own to
/// avoid that.
pub fn from_upgraded<S>(stream: S, role: Role, config: Config) -> WebSocketStream<S> {
    let now = Instant::now();
    let conn = match role {
        Role::Server => Connection::server(config, now),
        Role::Client => {
            let keys = OsRandom::new().expect("the operating system gave no randomness");
            Connection::client(config, keys, now)
        }
    };
    WebSocketStream::from_connection(stream, conn)
}
