//! Writing out what the core has queued: the queue of transmits, bounded by
//! a high-water mark, written vectored, flushed, and the transport
//! half-closed when the core says so.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Buf;
use tokio::io::{AsyncRead, AsyncWrite};
use weft_io::{Error, Message};

use super::{Inner, WriteSide};
use crate::wakers::{Wakers, READER};

/// Bytes queued for writing above which [`Sink::poll_ready`](futures_sink::Sink::poll_ready)
/// waits (and the reading half stops reading, so pongs owed to a peer that
/// does not read cannot pile up).
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;

/// How many slices one vectored write gathers.
const MAX_IOV: usize = 64;

impl<S> Inner<S> {
    /// Moves what the core has queued into `out`, up to the high-water
    /// mark: past it, frames wait in the core, where a burst of pings owes
    /// one pong, so a peer that does not read cannot grow the queue.
    pub(crate) fn take_transmits(&mut self) {
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
        weft_io::span::transport_failed("writing", e, self.conn.close_reason().is_none());
        self.write_side = WriteSide::Failed;
        self.write_error = Some(Box::new((e.kind(), e.to_string())));
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

    pub(crate) fn write_error(&self) -> Error {
        let (kind, message) = self
            .write_error
            .as_deref()
            .cloned()
            .unwrap_or((io::ErrorKind::BrokenPipe, "the transport is closed".into()));
        Error::Io(io::Error::new(kind, message))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// Writes everything queued (vectored), flushes, and half-closes the
    /// transport once the core says so. `Pending` means the transport
    /// cannot take more now; the waker behind `cx` is registered.
    pub(crate) fn poll_write_out(
        &mut self,
        cx: &mut Context<'_>,
        wakers: &Wakers,
    ) -> Poll<Result<(), Error>> {
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

    /// Queues `message` with the core. Its frames stay there until the
    /// next write takes them all as one transmit: a burst of messages goes
    /// out in one vectored write, framed into as few chunks as they can be.
    pub(crate) fn send(&mut self, message: Message) -> Result<(), Error> {
        if self.write_side == WriteSide::Failed {
            return Err(self.write_error());
        }
        // The clock is read for a close only: its deadline starts now (the
        // other messages do not read the instant).
        let now = match message {
            Message::Close(_) => Instant::now(),
            _ => self.opened,
        };
        message.send_on(&mut self.conn, now).map_err(Error::Send)
    }
}
