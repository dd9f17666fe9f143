//! [`WebSocketStream`]: a [`Connection`] driven over an `AsyncRead + AsyncWrite`,
//! as a [`Stream`] of messages and a [`Sink`] of messages, and the ways to
//! make one.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use weft_io::{Error, Message, OsRandom};
use weft_proto::{CloseReason, Config, Connection, Event, Latency, Role, State};

use crate::driver::{ConnectionSpan, Shared, WRITE_HIGH_WATER};
use crate::halves::{WsReceiver, WsSender};
use crate::handle::Handle;

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
    pub(crate) handle: Handle<S>,
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
    ///
    /// With the `tracing` feature, the stream's calls into the connection
    /// run inside a span of its own, `websocket`, with the fields `role`,
    /// `peer` and `id` (see `docs/debugging.md`).
    pub fn from_connection(io: S, conn: Connection) -> Self {
        let span = ConnectionSpan::new(conn.role());
        WebSocketStream::from_connection_in(io, conn, span)
    }

    /// [`from_connection`](Self::from_connection), inside a span made
    /// beforehand (the events of the connection's making land in it too).
    pub(crate) fn from_connection_in(io: S, conn: Connection, span: ConnectionSpan) -> Self {
        WebSocketStream {
            handle: Handle {
                shared: Shared::new(io, conn, span),
            },
        }
    }

    /// Records the peer's address on the connection's span (feature
    /// `tracing`), where its logs show it. Clients made by `connect` record
    /// it themselves; a server, whose transport the adapter cannot ask,
    /// calls this after accepting.
    pub fn record_peer(&self, peer: std::net::SocketAddr) {
        self.handle.shared.span.record_peer(peer);
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

    /// The round trip of keepalive pings, once one was answered (the
    /// latest and a smoothed value); see [`Connection::latency`](weft_proto::Connection::latency).
    pub fn latency(&self) -> Option<Latency> {
        self.handle.latency()
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
    let span = ConnectionSpan::new(role);
    let conn = span.in_scope(|| match role {
        Role::Server => Connection::server(config, now),
        Role::Client => {
            let keys = OsRandom::new().expect("the operating system gave no randomness");
            Connection::client(config, keys, now)
        }
    });
    WebSocketStream::from_connection_in(stream, conn, span)
}
