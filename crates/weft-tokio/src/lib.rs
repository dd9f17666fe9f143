//! Weft over tokio: WebSocket clients and servers on any
//! `AsyncRead + AsyncWrite + Unpin` transport (TCP, TLS, an upgraded hyper
//! connection), with `wss://` through rustls.
//!
//! A [`WebSocketStream`] is a [`Stream`](futures_core::Stream) of the
//! [`Message`]s received and a [`Sink`](futures_sink::Sink) of the ones to
//! send; [`WebSocketStream::split`] gives a half of each for two tasks.
//! The protocol itself (framing, masking, UTF-8, ping and pong, the closing
//! handshake, limits and timers) is decided by the sans-IO core in
//! [`weft_proto`]; this crate only moves its bytes, sleeps until its
//! deadlines, and hands out its events:
//!
//! - what the core queues is written with vectored writes, the transport is
//!   half-closed when the core says so (a server closes first);
//! - pings are answered, one pong each, and the peer's close is echoed, by
//!   whichever half holds the connection: the receiving half writes the
//!   replies it owes even if the sending half is idle;
//! - keepalive pings, the pong deadline, the idle timeout and the close
//!   timeout are the core's timers ([`Config::keepalive`],
//!   [`Config::idle_timeout`], [`Config::close_timeout`]), run by reading;
//! - reading stops while the application does not take messages, and
//!   sending waits while more than 64 KiB are queued unwritten;
//! - reads are cancel-safe: a `next()` future dropped in a `tokio::select!`
//!   loses no byte and no message.
//!
//! The stream ends (`None`) once the connection has ended and its last
//! bytes are written; [`WebSocketStream::close_reason`] then says why: a
//! clean closing handshake, a protocol violation, an abnormal end of the
//! transport, or a timer. Closing is not an error.
//!
//! # Example: an echo server and a client
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use weft_tokio::{Message, WebSocketStream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}/echo", listener.local_addr()?);
//!
//! // The server echoes every text and binary message.
//! tokio::spawn(async move {
//!     while let Ok((tcp, _)) = listener.accept().await {
//!         tokio::spawn(async move {
//!             let mut ws = weft_tokio::accept(tcp).await?;
//!             while let Some(message) = ws.next().await {
//!                 let message = message?;
//!                 if message.is_data() {
//!                     ws.send(message).await?;
//!                 }
//!             }
//!             Ok::<_, weft_tokio::Error>(())
//!         });
//!     }
//! });
//!
//! // The client sends a message, reads the echo, and closes.
//! let (mut ws, _response) = weft_tokio::connect(&url).await?;
//! ws.send(Message::text("hello")).await?;
//! assert_eq!(ws.next().await.transpose()?, Some(Message::text("hello")));
//! ws.send(Message::Close(None)).await?;
//! // Reading on completes the closing handshake.
//! while let Some(message) = ws.next().await {
//!     message?;
//! }
//! assert!(ws.close_reason().unwrap().is_clean());
//! # Ok(())
//! # }
//! ```
//!
//! # Clients
//!
//! [`connect`] and [`connect_with`] open `ws://` and `wss://` URLs;
//! [`ClientOptions`] carries the [`Config`] (limits, timers, the handshake
//! timeout, which bounds the whole opening: TCP connect, TLS and HTTP),
//! subprotocols, headers, the TCP connect timeout, the rustls
//! configuration and the [`Proxy`] (HTTP `CONNECT` or SOCKS5; by default
//! the one the environment's `wss_proxy`, `https_proxy`, ... set).
//! [`client`] runs the handshake over a stream you opened.
//! The handshake nonce and the masking keys come from [`OsRandom`], a
//! generator seeded from the operating system.
//!
//! # Servers
//!
//! [`accept`] takes any request; [`accept_with`] lets a callback see the
//! [`IncomingRequest`] and accept it (a
//! subprotocol, headers) or reject it (status, headers, body). A request
//! that is not a valid handshake is answered with the right HTTP status.
//! [`from_upgraded`] wraps a stream whose upgrade happened elsewhere, such
//! as in hyper.
//!
//! # Errors
//!
//! [`Error`] has a variant for each way opening a connection fails (the
//! URL, name resolution, the TCP connect and its timeout, TLS, the server's
//! refusal, the handshake and its timeout) with the underlying error as its
//! `source()`; [`Error::is_retryable`] says whether another attempt can
//! succeed and [`Error::retry_after`] reads a refusal's `Retry-After`. Its
//! `Display` says what happened and what to try:
//! `connection refused by 127.0.0.1:9001 (is the server running?)`.
//! `docs/errors.md` has the table.
//!
//! # Reconnecting clients
//!
//! [`reconnect::connect`] builds a client that reconnects by itself, with
//! full-jitter backoff, a hook on every connection, a bounded queue that
//! keeps what is sent while disconnected, and at-least-once delivery with
//! acknowledgements; its events ([`reconnect::ClientEvent`], from
//! `next_event`) say what happens. `docs/recovery.md` has the guarantees and a
//! complete example.
//!
//! # TLS
//!
//! With the `tls` feature (on by default), `wss://` URLs connect through
//! rustls with the ring provider, chosen explicitly (no "no process-level
//! CryptoProvider" panic), trusting the Mozilla CA set from webpki-roots;
//! pass [`ClientOptions::tls`] for a private CA (see
//! [`tls::client_config_with_roots`]). Without the feature, `wss://` fails
//! with [`Error::TlsUnavailable`], and any encrypted stream you bring works
//! with [`client`] and [`accept`].
//!
//! ## Serving wss
//!
//! Accept the TLS session with tokio-rustls, using
//! [`tls::server_config`] on a PEM certificate chain and key, then accept
//! the WebSocket on the encrypted stream:
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let cert = std::fs::read("cert.pem")?;
//! let key = std::fs::read("key.pem")?;
//! let acceptor = tokio_rustls::TlsAcceptor::from(weft_tokio::tls::server_config(&cert, &key)?);
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     let acceptor = acceptor.clone();
//!     tokio::spawn(async move {
//!         let tls = acceptor.accept(tcp).await?;
//!         let ws = weft_tokio::accept(tls).await?;
//!         // ... use ws
//!         # drop(ws);
//!         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
//!     });
//! }
//! # }
//! ```
//!
//! # Features
//!
//! - `tls` (default): `wss://` through rustls and tokio-rustls.
//! - `deflate` (default): permessage-deflate (RFC 7692).
//! - `tracing` (default): structured logs through `tracing`: a span per
//!   connection (`websocket`, with `role`, `peer`, `id`) around the core's
//!   events (frames at TRACE, state changes and the handshake at DEBUG,
//!   the close at INFO, failures at WARN), reconnect attempts at INFO; see
//!   `docs/debugging.md`.
//! - `hyper`: serving WebSockets from hyper 1's HTTP/1.1 and HTTP/2 servers
//!   ([`hyper`](crate::hyper) module; `docs/integrating.md`).
//! - `http2`: connecting over HTTP/2 (RFC 8441), falling back to HTTP/1.1,
//!   and many WebSockets on one connection ([`http2`](crate::http2) module;
//!   `docs/http2.md`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod driver;
mod halves;
mod handle;
mod handshake;
#[cfg(feature = "http2")]
pub mod http2;
#[cfg(feature = "hyper")]
pub mod hyper;
mod maybe_tls;
mod proxy_tunnel;
pub mod reconnect;
mod stream;
mod wakers;

pub use halves::{ReuniteError, WsReceiver, WsSender};
pub use handshake::{accept, accept_with, client, connect, connect_with};
pub use maybe_tls::MaybeTlsStream;
pub use stream::{from_upgraded, WebSocketStream};

pub use weft_io::proxy;
#[cfg(feature = "tls")]
pub use weft_io::tls;
pub use weft_io::{
    default_config, ClientOptions, Error, Message, OsRandom, TlsError, TlsErrorKind, WsUrl,
};
pub use weft_io::{Proxy, ProxyError, ProxyUrl};
pub use weft_proto;
pub use weft_proto::handshake::{
    Accept, Acceptance, IncomingRequest, OriginPolicy, Reject, Rejection,
};
pub use weft_proto::{CloseCode, CloseFrame, CloseReason, Config, Event, Latency, Role, State};
