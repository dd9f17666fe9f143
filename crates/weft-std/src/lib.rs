//! Weft over blocking `std` I/O: WebSocket clients and servers on any
//! `Read + Write` stream, with `wss://` through rustls.
//!
//! A thin adapter: the protocol, its limits and its timers are decided by
//! [`weft_proto`]; this crate moves bytes between a stream and that state
//! machine, sets the stream's read timeout from the core's next deadline,
//! and writes with vectored I/O.
//!
//! # Client
//!
//! ```no_run
//! use weft_std::{connect, CloseCode, Message};
//!
//! let (mut ws, _response) = connect("ws://127.0.0.1:9001/chat")?;
//! ws.send("hello")?;
//! // Read until the reply, then close; reading on completes the closing
//! // handshake, and `read` returns `None` once the connection has ended.
//! while let Some(message) = ws.read()? {
//!     if let Message::Text(text) = message {
//!         println!("{text}");
//!         if ws.connection().state() == weft_std::State::Open {
//!             ws.close(CloseCode::NORMAL, "done")?;
//!         }
//!     }
//! }
//! println!("closed: {:?}", ws.close_reason());
//! # Ok::<(), weft_std::Error>(())
//! ```
//!
//! # Server
//!
//! ```no_run
//! use std::net::TcpListener;
//! use weft_std::{accept, Message};
//!
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     std::thread::spawn(move || -> Result<(), weft_std::Error> {
//!         let mut ws = accept(stream?)?;
//!         while let Some(message) = ws.read()? {
//!             if message.is_data() {
//!                 ws.send(message)?;
//!             }
//!         }
//!         Ok(())
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`accept_with`] lets a callback see the request (path, headers, origin,
//! subprotocols) and accept or reject it.
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
//! `recv`) say what happens. `docs/recovery.md` has the guarantees and a
//! complete example.
//!
//! # TLS
//!
//! `wss://` URLs connect through rustls with the ring provider and the
//! webpki-roots CA set ([`tls::client_config`]); pass your own
//! `rustls::ClientConfig` in [`ClientOptions::tls`] for a private CA. To
//! serve `wss://`, wrap each accepted `TcpStream` in
//! `rustls::StreamOwned::new(rustls::ServerConnection::new(config)?, tcp)`
//! with `config` from [`tls::server_config`] (PEM certificate chain and
//! key), and pass that to [`accept`]. The default feature `tls` can be
//! turned off by users who bring their own TLS.
//!
//! # Proxies
//!
//! [`connect_with`] goes through the proxy of [`ClientOptions::proxy`]: by
//! default the one the environment sets (`wss_proxy`/`ws_proxy`,
//! `https_proxy`/`http_proxy`, `all_proxy`, honouring `no_proxy`; never for
//! a loopback destination), or an HTTP `CONNECT` or SOCKS5 proxy given as
//! a [`ProxyUrl`]. TLS for `wss://` runs through the tunnel to the server;
//! failures up to the open tunnel are [`Error::Proxy`]. See the
//! [`proxy`] module and `docs/proxies.md`.
//!
//! # Two threads
//!
//! [`WebSocket::split`] gives a [`WsReader`] and a [`WsWriter`] (for a
//! `TcpStream`, and for the `ws://` and `wss://` streams [`connect`] opens):
//! a read blocked on the socket never holds up a write, and the pongs and
//! close echoes the reader owes are written by the reader itself, even when
//! the writer is idle.

//!
//! # Features
//!
//! - `tls` (default): `wss://` through rustls.
//! - `deflate` (default): permessage-deflate (RFC 7692).
//! - `tracing` (default): structured logs through `tracing`: a span per
//!   connection (`websocket`, with `role`, `peer`, `id`) around the core's
//!   events (frames at TRACE, state changes and the handshake at DEBUG,
//!   the close at INFO, failures at WARN), reconnect attempts at INFO; see
//!   `docs/debugging.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
mod handshake;
mod proxy_tunnel;
pub mod reconnect;
mod socket;
mod split;
#[cfg(feature = "tls")]
mod tls_split;
mod transport;

pub use handshake::{accept, accept_with, client, connect, connect_with};
pub use socket::WebSocket;
pub use split::{ReadHalf, Split, WriteHalf, WsReader, WsWriter};
pub use transport::{MaybeTlsStream, Transport};

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
