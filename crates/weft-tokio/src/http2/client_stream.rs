//! The transport of a WebSocket that [`connect_with`](super::connect_with)
//! opened over HTTP/2 or, falling back, HTTP/1.1 ([`ClientStream`]).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::stream::H2Stream;
use crate::MaybeTlsStream;

/// A WebSocket's transport: a stream of an HTTP/2 connection (RFC 8441),
/// or a connection of its own where the server does not take WebSockets
/// over HTTP/2.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientStream {
    /// One stream of an HTTP/2 connection.
    Http2(H2Stream),
    /// A TCP connection (TLS over it for `wss://`) upgraded from HTTP/1.1.
    Http1(MaybeTlsStream<TcpStream>),
}

impl ClientStream {
    /// Whether the WebSocket runs over HTTP/2.
    pub fn is_http2(&self) -> bool {
        matches!(self, ClientStream::Http2(_))
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Http2(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Http1(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Http2(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Http1(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Http2(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Http1(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Http2(s) => s.is_write_vectored(),
            ClientStream::Http1(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Http2(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Http1(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Http2(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Http1(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
