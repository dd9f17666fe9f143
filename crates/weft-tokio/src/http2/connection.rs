//! An HTTP/2 connection that carries WebSockets ([`H2Connection`]): its
//! opening, the check that the server takes extended CONNECT, and one
//! WebSocket per stream.

use std::io;
use std::time::Instant;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::io::{AsyncRead, AsyncWrite};
use weft_io::{ClientOptions, Error, OsRandom, WsUrl};
use weft_proto::handshake::{Acceptance, ExtendedConnect, Headers};

use super::stream::H2Stream;
use crate::driver::ConnectionSpan;
use crate::handshake::until;
use crate::{Role, WebSocketStream};

/// The flow-control window of each stream (SETTINGS_INITIAL_WINDOW_SIZE)
/// this client gives servers: 1 MiB, sixteen times HTTP/2's default of
/// 64 KiB, so that a large message is not throttled to one window per
/// round trip. Data is handed back as soon as it is read, so the window
/// bounds what waits unread in a stream.
pub const STREAM_WINDOW: u32 = 1 << 20;

/// The flow-control window of the whole connection: 16 MiB, room for
/// sixteen streams to receive at full speed at once.
pub const CONNECTION_WINDOW: u32 = 16 << 20;

/// An HTTP/2 connection to a server that takes WebSockets over extended
/// CONNECT (RFC 8441), carrying any number of them, one per stream.
///
/// Made by [`H2Connection::handshake`] over a stream you opened (TCP for
/// h2c with prior knowledge, TLS with ALPN `h2`), or by
/// [`connect_with`](super::connect_with). The connection's frames are
/// read and written by a task of its own, which ends when the server
/// closes the connection or every handle and WebSocket is dropped.
/// Clones share the connection.
#[derive(Clone, Debug)]
pub struct H2Connection {
    send_request: SendRequest<Bytes>,
    secure: bool,
}

impl H2Connection {
    /// Runs HTTP/2's opening over `io` (the client preface and SETTINGS,
    /// with the windows of [`STREAM_WINDOW`] and [`CONNECTION_WINDOW`]),
    /// spawns the connection's task, and waits for the server's SETTINGS.
    /// `secure`: whether `io` is TLS (the `:scheme` of requests).
    ///
    /// Fails with [`Error::Io`] if the server does not speak HTTP/2 here.
    /// Check [`supports_websockets`](Self::supports_websockets) before
    /// opening WebSockets.
    pub async fn handshake<S>(io: S, secure: bool) -> Result<H2Connection, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send_request, mut connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake::<S, Bytes>(io)
            .await
            .map_err(h2_error)?;
        let mut ping_pong = connection.ping_pong();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        // RFC 9113 3.4: the server's preface is a SETTINGS frame, so once a
        // PING sent after ours is answered, that SETTINGS has been read.
        if let Some(ping_pong) = ping_pong.as_mut() {
            ping_pong.ping(h2::Ping::opaque()).await.map_err(h2_error)?;
        }
        Ok(H2Connection {
            send_request,
            secure,
        })
    }

    /// Whether the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441
    /// 3): without it, no WebSocket can be opened over this connection.
    pub fn supports_websockets(&self) -> bool {
        self.send_request.is_extended_connect_protocol_enabled()
    }

    /// Opens a WebSocket on a new stream of this connection, for `url`'s
    /// host and target (its scheme must match the connection's: `wss://`
    /// over TLS). The handshake timeout of [`ClientOptions::config`] bounds
    /// it; a refusal is [`Error::Refused`], with the status, headers and
    /// the start of the body.
    pub async fn open(
        &self,
        url: &str,
        options: &ClientOptions,
    ) -> Result<(WebSocketStream<H2Stream>, Acceptance), Error> {
        self.open_as(url, options, |stream| stream).await
    }

    /// [`open`](Self::open), the stream wrapped by `wrap`.
    pub(crate) async fn open_as<T>(
        &self,
        url: &str,
        options: &ClientOptions,
        wrap: impl FnOnce(H2Stream) -> T,
    ) -> Result<(WebSocketStream<T>, Acceptance), Error> {
        let url = WsUrl::parse(url)?;
        if url.secure != self.secure {
            return Err(Error::Url(format!(
                "{}: this HTTP/2 connection is {}",
                url.host_header(),
                if self.secure { "wss://" } else { "ws://" }
            )));
        }
        if !self.supports_websockets() {
            return Err(not_offered());
        }
        let span = ConnectionSpan::new(Role::Client);
        let random = OsRandom::new()?;
        let timeout = options.config.handshake_timeout;
        let mut handshake = ExtendedConnect::new(
            options.request(&url),
            options.config.clone(),
            Instant::now(),
        )?;
        let deadline = handshake.poll_timeout();
        let opening = span.instrument(self.request(&mut handshake));
        let stream = match until(deadline, opening).await {
            Some(result) => result?,
            None => return Err(Error::handshake_timed_out(timeout)),
        };
        let (stream, acceptance) = stream;
        let conn = span.in_scope(|| handshake.into_connection(random, Instant::now()))?;
        Ok((
            WebSocketStream::from_connection_in(wrap(stream), conn, span),
            acceptance,
        ))
    }

    /// Sends the extended CONNECT and reads the response.
    async fn request(
        &self,
        handshake: &mut ExtendedConnect,
    ) -> Result<(H2Stream, Acceptance), Error> {
        let scheme = if self.secure { "https" } else { "http" };
        let mut request = handshake.to_http(scheme)?;
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static("websocket"));
        let mut send_request = self.send_request.clone().ready().await.map_err(h2_error)?;
        let (response, send) = send_request
            .send_request(request, false)
            .map_err(h2_error)?;
        let response = response.await.map_err(h2_error)?;
        let (parts, mut recv) = response.into_parts();
        let headers = Headers::from(&parts.headers);
        let status = parts.status.as_u16();
        let mut body = Vec::new();
        if !parts.status.is_success() {
            // The start of a refusal's body, for the error.
            while body.len() < 4096 {
                match recv.data().await {
                    Some(Ok(data)) => {
                        let _ = recv.flow_control().release_capacity(data.len());
                        body.extend_from_slice(&data);
                    }
                    _ => break,
                }
            }
        }
        let acceptance = handshake.handle_response(status, headers, Bytes::from(body))?;
        Ok((H2Stream::new(send, recv), acceptance))
    }
}

/// The error for a server that does not take WebSockets over HTTP/2.
pub(crate) fn not_offered() -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::Unsupported,
        "the server does not offer WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 3)",
    ))
}

/// An HTTP/2 error as the adapter's error.
pub(crate) fn h2_error(e: h2::Error) -> Error {
    if e.is_io() {
        if let Some(io) = e.into_io() {
            return Error::Io(io);
        }
        return Error::Io(io::ErrorKind::BrokenPipe.into());
    }
    Error::Io(io::Error::other(e))
}
