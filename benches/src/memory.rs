//! An in-memory transport for the decoding and encoding measurements
//! (the criterion comparison and the instruction counts): the same source
//! and sink for every library, through its std or tokio I/O traits.

use std::future::Future;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes handed out per read, as from a socket (and as the tokio adapter
/// reads).
pub const READ: usize = 64 * 1024;

/// An in-memory transport: reads hand out `wire` at most `READ` bytes at a
/// time; writes are counted and dropped.
pub struct Memory<'a> {
    wire: &'a [u8],
    /// Bytes written so far.
    pub written: usize,
}

impl<'a> Memory<'a> {
    /// A transport that reads `wire`.
    pub fn new(wire: &'a [u8]) -> Self {
        Memory { wire, written: 0 }
    }
}

impl Read for Memory<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.wire.len()).min(READ);
        buf[..n].copy_from_slice(&self.wire[..n]);
        self.wire = &self.wire[n..];
        Ok(n)
    }
}

impl Write for Memory<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Memory<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(self.wire.len()).min(READ);
        buf.put_slice(&self.wire[..n]);
        self.wire = &self.wire[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Memory<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written += black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future over `Memory`, which is never pending, to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
