//! Writing out what the core has queued: written vectored where it lies
//! in the core's queue (`poll_transmit_ref`), flushed, and the transport
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
/// waits (and the reading half stops reading, so a peer that does not read
/// cannot make us queue without bound; pongs owed meanwhile merge into one
/// in the core).
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;

/// How many slices one vectored write gathers.
const MAX_IOV: usize = 64;

/// What one vectored write did.
enum Wrote {
    /// The transport took some bytes.
    Some,
    /// The transport took none: it is broken.
    Zero,
    Failed(io::Error),
    Pending,
}

impl<S> Inner<S> {
    /// Places the replies the core owes (the pong for the latest ping) in
    /// its queue now, behind what is already queued, so every ping answered
    /// while writing keeps up gets its own pong. Once the write side is no
    /// longer open, what the core queues is dropped instead.
    pub(crate) fn settle_queue(&mut self) {
        let open = self.write_side == WriteSide::Open;
        while let Some(mut transmit) = self.conn.poll_transmit_ref() {
            if open {
                return;
            }
            let all = transmit.remaining();
            transmit.advance(all);
        }
    }

    /// The transport broke while writing: drop what was queued and tell
    /// the core the transport has ended (it decides what the ending means).
    fn fail_write(&mut self, e: &io::Error, wakers: &Wakers) {
        weft_io::span::transport_failed("writing", e, self.conn.close_reason().is_none());
        self.write_side = WriteSide::Failed;
        self.write_error = Some(Box::new((e.kind(), e.to_string())));
        // What is queued can no longer go: dropped.
        self.settle_queue();
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
        self.settle_queue();
        if self.write_side == WriteSide::Failed {
            return Poll::Ready(Err(self.write_error()));
        }
        loop {
            let wrote = {
                // Written from the core's queue: the transmit borrows the
                // connection, the write the transport beside it.
                let Some(mut transmit) = self.conn.poll_transmit_ref() else {
                    break;
                };
                let mut slices = [IoSlice::new(&[]); MAX_IOV];
                let n = transmit.chunks_vectored(&mut slices);
                match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]) {
                    Poll::Ready(Ok(0)) => Wrote::Zero,
                    Poll::Ready(Ok(written)) => {
                        transmit.advance(written);
                        Wrote::Some
                    }
                    Poll::Ready(Err(e)) => Wrote::Failed(e),
                    Poll::Pending => Wrote::Pending,
                }
            };
            match wrote {
                Wrote::Some => self.needs_flush = true,
                Wrote::Zero => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "the transport took no bytes");
                    self.fail_write(&e, wakers);
                    return Poll::Ready(Err(Error::Io(e)));
                }
                Wrote::Failed(e) => {
                    self.fail_write(&e, wakers);
                    return Poll::Ready(Err(Error::Io(e)));
                }
                Wrote::Pending => return Poll::Pending,
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
    /// next write, which writes them from there: a burst of messages goes
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
