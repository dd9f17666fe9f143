//! The first look at a connection: its HTTP request head is read (up to
//! [`MAX_HEAD`] bytes), so that a WebSocket upgrade goes to the engine and
//! any other request gets a plain HTTP answer. The bytes read are handed
//! back to whoever serves the request through [`Rewind`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The largest request head read: larger ones go to the engine, which
/// answers 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// What a request head says, as far as choosing who answers it goes.
#[derive(Debug)]
pub(crate) enum Head {
    /// A request asking for a WebSocket (`Upgrade: websocket`), or one
    /// that could not be read as HTTP: the engine answers it, with a
    /// WebSocket or with the right error status.
    Engine,
    /// A plain HTTP request.
    Plain {
        /// The method, as sent.
        method: String,
        /// The path, without the query.
        path: String,
        /// The query, without its `?`.
        query: Option<String>,
    },
}

/// Reads a request head from `stream`: what it is, and every byte read.
/// `Ok(None)`: the client left before sending a whole head.
pub(crate) async fn read<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> io::Result<Option<(Head, Bytes)>> {
    let mut buf = BytesMut::with_capacity(2048);
    loop {
        if buf.len() >= MAX_HEAD {
            return Ok(Some((Head::Engine, buf.freeze())));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        let head = match request.parse(&buf) {
            Ok(httparse::Status::Partial) => continue,
            Ok(httparse::Status::Complete(_)) => classify(&request),
            // Malformed, or too many headers: the engine says which.
            Err(_) => Head::Engine,
        };
        return Ok(Some((head, buf.freeze())));
    }
}

fn classify(request: &httparse::Request<'_, '_>) -> Head {
    let upgrade = request.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("upgrade")
            && String::from_utf8_lossy(h.value)
                .split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
    });
    let (Some(method), Some(target), false) = (request.method, request.path, upgrade) else {
        return Head::Engine;
    };
    let target = target.split('#').next().unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (target, None),
    };
    Head::Plain {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
    }
}

/// A stream whose first reads return bytes already read from it.
pub(crate) struct Rewind<S> {
    read: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, with `read` to be read again first.
    pub(crate) fn new(read: Bytes, inner: S) -> Rewind<S> {
        Rewind { read, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read.has_remaining() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn head_of(bytes: &[u8]) -> Head {
        let mut stream = bytes;
        let (head, read) = read(&mut stream).await.unwrap().unwrap();
        assert_eq!(&read[..], bytes);
        head
    }

    #[tokio::test]
    async fn upgrades_go_to_the_engine_and_the_rest_is_plain_http() {
        let upgrade = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\r\n";
        assert!(matches!(head_of(upgrade).await, Head::Engine));
        let page = b"GET /chat.js?v=2 HTTP/1.1\r\nHost: x\r\n\r\n";
        match head_of(page).await {
            Head::Plain {
                method,
                path,
                query,
            } => {
                assert_eq!((&*method, &*path), ("GET", "/chat.js"));
                assert_eq!(query.as_deref(), Some("v=2"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            head_of(b"\x16\x03\x01junk\r\n\r\n").await,
            Head::Engine
        ));
    }

    #[tokio::test]
    async fn a_client_that_leaves_early_is_no_request() {
        let mut stream: &[u8] = b"GET / HTTP/1.1\r\nHo";
        assert!(read(&mut stream).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn what_was_read_is_read_again_first() {
        let inner: &[u8] = b" world";
        let mut rewind = Rewind {
            read: Bytes::from_static(b"hello"),
            inner: tokio::io::join(inner, tokio::io::sink()),
        };
        let mut all = String::new();
        rewind.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
    }
}
