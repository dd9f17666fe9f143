//! [`Handle`]: what a whole stream and each of its halves hold, and the
//! operations they all expose, each taking the lock for one poll inside the
//! connection's span.

use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use weft_io::{Error, Incoming, Message};
use weft_proto::{CloseReason, Config, Event, Latency, Role, State};

use crate::driver::{Shared, WriteSide};
use crate::wakers::{READER, WRITER};

/// The halves' shared handle, with the operations both the whole stream
/// and each half expose.
pub(crate) struct Handle<S> {
    pub(crate) shared: Arc<Shared<S>>,
}

impl<S> Handle<S> {
    pub(crate) fn close_reason(&self) -> Option<CloseReason> {
        self.shared.lock().conn.close_reason().cloned()
    }

    pub(crate) fn latency(&self) -> Option<Latency> {
        self.shared.lock().conn.latency()
    }

    pub(crate) fn state(&self) -> State {
        self.shared.lock().conn.state()
    }

    pub(crate) fn role(&self) -> Role {
        self.shared.lock().conn.role()
    }

    pub(crate) fn buffered_amount(&self) -> usize {
        self.shared.lock().queued()
    }

    pub(crate) fn config(&self) -> Config {
        self.shared.lock().conn.config().clone()
    }

    pub(crate) fn with_io<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.shared.lock().io)
    }

    /// Runs `f`, which calls into the core, inside the connection's span.
    fn in_span<R>(&self, f: impl FnOnce() -> R) -> R {
        self.shared.span.in_scope(f)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Handle<S> {
    pub(crate) fn poll_next_event(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Event, Error>>> {
        let shared = &*self.shared;
        self.in_span(|| {
            shared.wakers.register(READER, cx.waker());
            let mut io_cx = Context::from_waker(&shared.io_waker);
            shared.lock().poll_event(cx, &mut io_cx, &shared.wakers)
        })
    }

    pub(crate) fn poll_next_message(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
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
    pub(crate) fn poll_write_down_to(
        &self,
        cx: &mut Context<'_>,
        limit: usize,
    ) -> Poll<Result<(), Error>> {
        self.in_span(|| self.write_down_to(cx, limit))
    }

    fn write_down_to(&self, cx: &mut Context<'_>, limit: usize) -> Poll<Result<(), Error>> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.write_side == WriteSide::Failed {
            return Poll::Ready(Err(state.write_error()));
        }
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

    pub(crate) fn poll_flush_all(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &*self.shared;
        self.in_span(|| {
            let mut state = shared.lock();
            shared.wakers.register(WRITER, cx.waker());
            let mut io_cx = Context::from_waker(&shared.io_waker);
            let result = state.poll_write_out(&mut io_cx, &shared.wakers);
            if result.is_ready() {
                drop(state);
                shared.wakers.clear(WRITER);
            }
            result
        })
    }

    pub(crate) fn start_send(&self, message: Message) -> Result<(), Error> {
        // Only a close can start a deadline (the closing handshake's).
        let closing = matches!(message, Message::Close(_));
        let changed = self.in_span(|| {
            let mut state = self.shared.lock();
            let before = closing.then(|| state.conn.poll_timeout());
            state.send(message)?;
            Ok::<_, Error>(before.is_some_and(|b| state.conn.poll_timeout() != b))
        })?;
        if changed {
            // A close started a deadline: the reading half sleeps on it.
            self.shared.wakers.wake_slot(READER);
        }
        Ok(())
    }

    pub(crate) fn poll_close(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.in_span(|| self.close(cx))
    }

    fn close(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        {
            let mut state = self.shared.lock();
            if matches!(state.conn.state(), State::Open | State::CloseReceived) {
                drop(state);
                self.start_send(Message::Close(None))?;
            } else {
                state.settle_queue();
            }
        }
        self.poll_flush_all(cx)
    }
}
