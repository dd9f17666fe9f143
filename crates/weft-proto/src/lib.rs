//! A sans-IO WebSocket engine: RFC 6455 as a pure state machine.
//!
//! `weft-proto` does everything RFC 6455 asks of a client and of a server:
//! the opening handshake, framing, masking, fragmentation, UTF-8
//! validation, ping and pong, close codes and the closing handshake,
//! limits and timers. It performs no I/O, reads no clock and draws no
//! randomness: bytes go in, events and bytes to send come out, time and
//! masking keys are passed in. It has no `unsafe` code of its own and no
//! input can make it panic. The blocking and async adapters (`weft-std`,
//! `weft-tokio`) drive it over sockets; this page is the contract for
//! driving it from your own loop.
//!
//! # Features
//!
//! - `simd` (default): masking and text conversion through `weft-simd`,
//!   one small crate of audited `unsafe` SIMD kernels chosen at run time
//!   (AVX2, SSE2). Without it the whole engine is safe code, a little
//!   slower ([docs/performance.md](https://github.com/weft-rs/weft/blob/main/docs/performance.md)).
//! - `deflate`: permessage-deflate (RFC 7692), through flate2's pure-Rust
//!   zlib-rs backend.
//! - `tracing`: structured logs through the `tracing` facade.
//!
//! # The two stages
//!
//! 1. **The opening handshake**: a [`handshake::ClientHandshake`] or a
//!    [`handshake::ServerHandshake`]. Each is fed bytes until it yields the
//!    response or request, and hands over whatever bytes followed the
//!    handshake to the connection it turns into.
//! 2. **The connection**: a [`Connection`] (also made directly with
//!    [`Connection::server`] or [`Connection::client`] for streams upgraded
//!    elsewhere, such as by hyper).
//!
//! # Driving a connection
//!
//! After each **input** ([`Connection::handle_data`] with bytes you read,
//! [`Connection::handle_eof`] when the read side ends,
//! [`Connection::handle_timeout`] when the deadline has passed) and each
//! **command** ([`Connection::send_text`], [`Connection::close`], …), poll
//! the **outputs** in this order:
//!
//! 1. [`Connection::poll_event`] until it returns `None`: messages, pings,
//!    the close. Parsing happens here, lazily; handling a frame may queue a
//!    reply (a pong, a close echo). Taking [`Connection::poll_transmit`]
//!    after each [`Event::Ping`] (or [`Connection::poll_transmit_ref`], and
//!    writing it) answers every ping; otherwise pongs due at once are
//!    merged into one carrying the latest payload (RFC 6455 5.5.3).
//!    [`Connection::poll_event_ref`] is the same with the events lent
//!    ([`EventRef`]): a whole message is borrowed from the receive buffer,
//!    the fastest way to read small messages that need not outlive the call.
//! 2. [`Connection::poll_transmit`]: a [`Transmit`] holding every byte to
//!    write, as a [`bytes::Buf`] of a few chunks for vectored writes. It
//!    owns its bytes: write it without holding a lock on the connection.
//!    [`Connection::poll_transmit_ref`] lends the same bytes instead
//!    ([`TransmitRef`]), written where they are and taken off the queue as
//!    they are written: the fastest way to send when the writer holds the
//!    connection.
//! 3. [`Connection::poll_shutdown`]: when it returns `true`, which it does
//!    once, half-close the transport (`shutdown(Write)`) after writing the
//!    transmits. A server does this first after the closing handshake
//!    (RFC 6455 7.1.1).
//! 4. [`Connection::poll_timeout`]: sleep at most until this instant, then
//!    call `handle_timeout`. Spurious or late calls are harmless.
//!
//! The connection ends with exactly one [`Event::Closed`], whose
//! [`CloseReason`] says why: a clean closing handshake, a protocol
//! violation by the peer (the close code is already queued), the transport
//! ending abnormally, or a timer. After it, write out what is still
//! queued, shut down if asked, and drop the transport. `Err` is only
//! ever returned for local misuse, such as sending after `close`.
//!
//! Reading and writing can run on two threads or tasks: the reader feeds
//! input and polls events, the writer takes transmits. Replies the reader
//! owes go into the same outgoing queue the writer drains, so nothing is
//! lost if the writer is busy.
//!
//! # Example: a client and a server over loopback TCP
//!
//! This runs both ends over `std::net`, each with its own simple loop. It
//! is the whole integration: everything else is policy.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Instant;
//!
//! use bytes::Buf;
//! use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, ServerHandshake};
//! use weft_proto::{CloseCode, Config, Connection, Event};
//!
//! /// Writes everything the connection has queued, then half-closes if asked.
//! fn flush(conn: &mut Connection, stream: &mut TcpStream) -> std::io::Result<()> {
//!     // Written where it is queued; what the stream does not take stays
//!     // queued for the next round.
//!     while let Some(mut transmit) = conn.poll_transmit_ref() {
//!         let mut slices = [std::io::IoSlice::new(&[]); 16];
//!         let n = transmit.chunks_vectored(&mut slices);
//!         let written = stream.write_vectored(&slices[..n])?;
//!         transmit.advance(written);
//!     }
//!     if conn.poll_shutdown() {
//!         let _ = stream.shutdown(std::net::Shutdown::Write);
//!     }
//!     Ok(())
//! }
//!
//! /// Reads, feeds, and hands each event to `on_event` until the connection ends.
//! fn run(
//!     mut conn: Connection,
//!     stream: &mut TcpStream,
//!     mut on_event: impl FnMut(&mut Connection, Event),
//! ) -> std::io::Result<()> {
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         while let Some(event) = conn.poll_event() {
//!             let ended = matches!(event, Event::Closed(_));
//!             on_event(&mut conn, event);
//!             flush(&mut conn, stream)?;
//!             if ended {
//!                 return Ok(());
//!             }
//!         }
//!         flush(&mut conn, stream)?;
//!         // A real loop sets a read timeout from conn.poll_timeout() and
//!         // calls conn.handle_timeout(now) when it expires.
//!         match stream.read(&mut buf)? {
//!             0 => conn.handle_eof(Instant::now()),
//!             n => conn.handle_data(Instant::now(), &buf[..n]),
//!         }
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!
//!     // The server echoes every message.
//!     let server = std::thread::spawn(move || -> std::io::Result<()> {
//!         let (mut stream, _) = listener.accept()?;
//!         let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
//!         let mut buf = [0u8; 4096];
//!         let request = loop {
//!             let n = stream.read(&mut buf)?;
//!             match handshake.handle_data(&buf[..n]) {
//!                 Ok(Some(request)) => break request,
//!                 Ok(None) if n > 0 => continue,
//!                 Ok(None) => return Ok(()),
//!                 Err(e) => {
//!                     let mut response = Vec::new();
//!                     e.write_response(&mut response);
//!                     return stream.write_all(&response);
//!                 }
//!             }
//!         };
//!         assert_eq!(request.path(), "/echo");
//!         let mut response = Vec::new();
//!         handshake.accept(Accept::new(), &mut response).unwrap();
//!         stream.write_all(&response)?;
//!         let conn = handshake.into_connection(Instant::now()).unwrap();
//!         run(conn, &mut stream, |conn, event| match event {
//!             Event::Text(text) => conn.send_text(text).unwrap(),
//!             Event::Binary(data) => conn.send_binary(data).unwrap(),
//!             _ => {}
//!         })
//!     });
//!
//!     // The client sends two messages, reads the echoes, closes.
//!     let mut stream = TcpStream::connect(addr)?;
//!     let request = OutgoingRequest::new(addr.to_string(), "/echo");
//!     // Adapters draw the nonce and mask keys from the OS's secure generator.
//!     let nonce = *b"sixteen byte key";
//!     let mut handshake =
//!         ClientHandshake::new(request, Config::default(), nonce, Instant::now()).unwrap();
//!     let mut out = Vec::new();
//!     handshake.write_request(&mut out);
//!     stream.write_all(&out)?;
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         let n = stream.read(&mut buf)?;
//!         assert!(n > 0, "server closed during the handshake");
//!         if handshake.handle_data(&buf[..n]).unwrap().is_some() {
//!             break;
//!         }
//!     }
//!     let mut key = 0u32;
//!     let mask_keys = move || { key = key.wrapping_add(0x9e37_79b9); key.to_be_bytes() };
//!     let mut conn = handshake.into_connection(mask_keys, Instant::now()).unwrap();
//!     conn.send_text("hello").unwrap();
//!     conn.send_binary(vec![1, 2, 3]).unwrap();
//!
//!     let mut received = Vec::new();
//!     run(conn, &mut stream, |conn, event| match event {
//!         Event::Text(_) | Event::Binary(_) => {
//!             received.push(event);
//!             if received.len() == 2 {
//!                 conn.close(Instant::now(), CloseCode::NORMAL, "done").unwrap();
//!             }
//!         }
//!         Event::Closed(reason) => assert!(reason.is_clean(), "{reason}"),
//!         _ => {}
//!     })?;
//!     assert_eq!(received[0], Event::Text("hello".into()));
//!     assert_eq!(received[1], Event::Binary(vec![1, 2, 3].into()));
//!     server.join().unwrap()
//! }
//! ```
//!
//! # Limits
//!
//! Everything the core buffers on its own behalf is bounded by [`Config`]:
//! frame and message sizes are checked against the frame header before any
//! payload is buffered, the handshake head against its byte and
//! header-count limits. Large messages can be streamed as
//! [`Event::Fragment`]s ([`Config::stream_threshold`]). What the caller
//! hands to `handle_data` is kept until `poll_event` parses it, so read
//! again only once `poll_event` has returned `None`: the input then holds at
//! most one incomplete frame, itself bounded by the frame size limit.

//!
//! # Logging
//!
//! With the `tracing` feature (off by default; the adapters turn it on)
//! the engine reports what it does through the
//! [`tracing`](https://docs.rs/tracing) facade: every
//! frame at TRACE (a [`FrameInfo`] and a preview of the payload as fields
//! and as the message, such as `< TEXT fin masked 5 B "hello"` or
//! `> CLOSE fin 2 B code 1000 normal closure`), state changes and the opening handshakes at
//! DEBUG, the end of each connection at INFO, failing a connection at
//! WARN. The subscriber the application installs decides what is written
//! where; with none installed, or with the level off, each event costs a
//! comparison and an atomic load. `docs/debugging.md` shows how to turn
//! the logs on and read a frame trace.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
mod logging;
mod message;
#[cfg(not(feature = "deflate"))]
mod no_deflate;
mod prepared;
mod role;
mod text_buf;
mod transmit;
mod transmit_ref;
mod utf8;

pub use close::{CloseCode, CloseFrame, CloseReason, Timeout, MAX_CLOSE_REASON};
pub use config::Config;
pub use connection::{Connection, Latency, MaskKeys, State};
pub use error::{ProtocolError, SendError};
pub use frame::{Direction, FrameInfo};
pub use handshake::HandshakeError;
pub use message::{Event, EventRef, Fragment, MessageKind, Utf8Bytes};
pub use prepared::PreparedMessage;
pub use role::Role;
pub use transmit::Transmit;
pub use transmit_ref::TransmitRef;
pub use utf8::{InvalidUtf8, Utf8Validator};

pub use bytes;
