//! The two halves of a split [`WebSocketStream`]: [`WsSender`], a
//! [`Sink`] of messages, and [`WsReceiver`], a [`Stream`] of them.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use weft_io::{Error, Message};
use weft_proto::{CloseReason, Event, Latency, Role, State};

use crate::driver::WRITE_HIGH_WATER;
use crate::handle::Handle;
use crate::stream::WebSocketStream;

/// The sending half of a [`WebSocketStream`], from [`WebSocketStream::split`]:
/// a [`Sink`] of messages.
pub struct WsSender<S> {
    pub(crate) handle: Handle<S>,
}

/// The receiving half of a [`WebSocketStream`], from [`WebSocketStream::split`]:
/// a [`Stream`] of messages, which also writes the replies the peer is owed
/// and runs the timers.
pub struct WsReceiver<S> {
    pub(crate) handle: Handle<S>,
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

            /// The round trip of keepalive pings, once one was answered.
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
