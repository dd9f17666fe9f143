//! One WebSocket's HTTP/2 stream as a byte stream ([`H2Stream`]): DATA
//! frames in and out, with HTTP/2's flow control.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The HTTP/2 stream of one WebSocket opened with extended CONNECT (RFC
/// 8441), as `AsyncRead + AsyncWrite`: what is read is the peer's DATA
/// frames, what is written goes out as DATA frames as the peer's flow
/// control window allows. Shutting the write side down ends the stream
/// (END_STREAM); dropping it before that resets it (CANCEL).
///
/// Received data is handed back to the peer's window as soon as it is
/// read, so the window bounds what waits here unread, not what the
/// WebSocket may receive.
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// What is left of the DATA frame being read.
    pending: Bytes,
    ended: bool,
}

impl H2Stream {
    pub(crate) fn new(send: SendStream<Bytes>, recv: RecvStream) -> H2Stream {
        H2Stream {
            send,
            recv,
            pending: Bytes::new(),
            ended: false,
        }
    }

    /// Sends as much of `bufs` as the window allows, as one DATA frame's
    /// worth of bytes.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        if self.ended {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        self.send.reserve_capacity(total);
        let granted = loop {
            match ready!(self.send.poll_capacity(cx)) {
                Some(Ok(0)) => {
                    // No window yet (h2 before 0.4.15 could say so rather
                    // than wait): poll again, which waits for some.
                    self.send.reserve_capacity(total);
                    continue;
                }
                Some(Ok(n)) => break n.min(total),
                Some(Err(e)) => return Poll::Ready(Err(h2_to_io(e))),
                // The stream is closed: the peer reset it or the connection ended.
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        };
        let mut data = BytesMut::with_capacity(granted);
        for buf in bufs {
            let room = granted - data.len();
            if room == 0 {
                break;
            }
            data.extend_from_slice(&buf[..buf.len().min(room)]);
        }
        self.send
            .send_data(data.freeze(), false)
            .map_err(h2_to_io)?;
        Poll::Ready(Ok(granted))
    }
}

/// An HTTP/2 error as an I/O error: a stream reset by the peer is a reset
/// connection, anything else a broken one.
fn h2_to_io(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::ErrorKind::BrokenPipe.into());
    }
    let kind = match e.reason() {
        Some(Reason::CANCEL) | Some(Reason::REFUSED_STREAM) if e.is_remote() => {
            io::ErrorKind::ConnectionReset
        }
        _ => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, e)
}

impl AsyncRead for H2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = buf.remaining().min(self.pending.len());
                buf.put_slice(&self.pending[..n]);
                self.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(self.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Read here: give the peer its window back.
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.pending = data;
                }
                // END_STREAM: the end of the stream, as a closed TCP
                // connection would be.
                None => return Poll::Ready(Ok(())),
                // A peer that resets its stream with NO_ERROR has finished.
                Some(Err(e)) if e.reason() == Some(Reason::NO_ERROR) => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(h2_to_io(e))),
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// DATA frames go out as the connection's task writes them: nothing
    /// to flush here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends the stream (END_STREAM), as closing a WebSocket's TCP
    /// connection would.
    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.ended {
            self.ended = true;
            // A stream the peer already reset has nothing to end.
            let _ = self.send.send_data(Bytes::new(), true);
        }
        Poll::Ready(Ok(()))
    }
}
