//! The reading half's loop: hand out the core's events, write what is
//! owed, run the core's timers, and read from the transport meanwhile;
//! after the terminal event, write out the last bytes and end.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use weft_io::Error;
use weft_proto::{CloseReason, Event};

use super::{Ending, Inner};
use crate::wakers::Wakers;

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

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
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

    /// Polls the timer armed for `deadline`; `true` once it has passed.
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
    pub(crate) fn poll_event(
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
                // Place the replies this event queued (a pong, a close
                // echo) before the next event is parsed, and try to write
                // them at once: while the transport takes them, every ping
                // gets its own pong; while it does not, pongs owed merge
                // into one for the latest ping (RFC 6455 5.5.3).
                self.settle_queue();
                if let Event::Closed(_) = event {
                    // Handed out once the last bytes are written.
                    continue;
                }
                let _ = self.poll_write_out(io_cx, wakers);
                return Poll::Ready(Some(Ok(event)));
            }
            // Every event is out: write what is owed, without waiting for
            // it. Reading goes on even while writing is blocked: a peer
            // sending a large message while we send it one would otherwise
            // wait on us forever, and we on it.
            let _ = self.poll_write_out(io_cx, wakers);
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
            // frame plus one read.
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
                    weft_io::span::transport_failed(
                        "reading",
                        &e,
                        self.conn.close_reason().is_none(),
                    );
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
        if self.poll_write_out(io_cx, wakers).is_pending() {
            if !until.is_some_and(|until| self.poll_sleep(cx, until)) {
                return Poll::Pending;
            }
            weft_io::span::gave_up_lingering();
        }
        self.ending = Ending::Finished;
        let reason = self.conn.close_reason().cloned();
        Poll::Ready(Some(Ok(Event::Closed(
            reason.unwrap_or(CloseReason::Abnormal),
        ))))
    }
}
