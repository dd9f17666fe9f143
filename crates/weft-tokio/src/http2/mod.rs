//! WebSockets over HTTP/2 (RFC 8441), for clients (feature `http2`).
//!
//! [`connect_with`] opens a WebSocket over HTTP/2 where the server takes
//! it, and over HTTP/1.1 where it does not: on `wss://` it offers ALPN
//! `h2` and `http/1.1` and goes on in what the server chose; on `ws://` it
//! speaks HTTP/2 with prior knowledge (h2c) first. Either way, a server
//! whose SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3), or
//! that answers the extended CONNECT with 405 or 501 (an application that
//! routes only GET there), is asked again over HTTP/1.1 on a new
//! connection, as is a `ws://` server that does not answer HTTP/2's
//! preface within [`H2C_PROBE`].
//!
//! [`H2Connection`] keeps one HTTP/2 connection and opens many WebSockets
//! on it, one per stream:
//!
//! ```no_run
//! # async fn run() -> Result<(), weft_tokio::Error> {
//! use futures_util::{SinkExt, StreamExt};
//! use weft_tokio::http2::H2Connection;
//! use weft_tokio::{ClientOptions, Message};
//!
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:3000").await?;
//! let h2 = H2Connection::handshake(tcp, false).await?;
//! let options = ClientOptions::new();
//! let (mut a, _) = h2.open("ws://127.0.0.1:3000/ws", &options).await?;
//! let (mut b, _) = h2.open("ws://127.0.0.1:3000/ws", &options).await?;
//! a.send(Message::text("one connection")).await?;
//! b.send(Message::text("two WebSockets")).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Closing a WebSocket ends its stream (END_STREAM once its closing
//! handshake is done); dropping it resets the stream. The frames are those
//! of RFC 6455, masked as over HTTP/1.1. Flow control: this client gives
//! each stream a window of [`STREAM_WINDOW`] (1 MiB) and the connection
//! [`CONNECTION_WINDOW`] (16 MiB), and hands data back as soon as the
//! WebSocket has read it, so large messages are not throttled; what it
//! sends is paced by the server's windows.

mod client_stream;
mod connection;
mod prefixed;
mod stream;

pub use client_stream::ClientStream;
pub use connection::{H2Connection, CONNECTION_WINDOW, STREAM_WINDOW};
pub use stream::H2Stream;

use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use weft_io::{ClientOptions, Error, WsUrl};
use weft_proto::handshake::Acceptance;

use prefixed::Prefixed;

use crate::handshake::{connect_tcp, until, wrap_tls};
use crate::{proxy_tunnel, MaybeTlsStream, WebSocketStream};

/// How long a `ws://` server may take to answer HTTP/2's preface before it
/// is taken for one that does not speak HTTP/2 and asked again over
/// HTTP/1.1.
pub const H2C_PROBE: Duration = Duration::from_secs(3);

/// What the first connection turned out to speak.
enum Opened {
    /// HTTP/2 with extended CONNECT.
    Http2(H2Connection),
    /// HTTP/1.1 on this connection (the server chose it in ALPN).
    Http1(MaybeTlsStream<TcpStream>),
    /// Not WebSockets over HTTP/2: HTTP/1.1 on a new connection.
    Neither,
}

/// [`connect_with`] with default options.
pub async fn connect(url: &str) -> Result<(WebSocketStream<ClientStream>, Acceptance), Error> {
    connect_with(url, ClientOptions::default()).await
}

/// Connects to a `ws://` or `wss://` URL over HTTP/2 where the server
/// takes WebSockets that way (RFC 8441), over HTTP/1.1 otherwise
/// ([`ClientStream::is_http2`] says which). The errors, timeouts and
/// proxies ([`ClientOptions::proxy`]) are those of [`crate::connect_with`];
/// the handshake timeout bounds each attempt.
pub async fn connect_with(
    url: &str,
    options: ClientOptions,
) -> Result<(WebSocketStream<ClientStream>, Acceptance), Error> {
    let parsed = WsUrl::parse(url)?;
    if parsed.secure && cfg!(not(feature = "tls")) {
        return Err(Error::TlsUnavailable);
    }
    let timeout = options.config.handshake_timeout;
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let opening = open_first(&parsed, &options, deadline);
    let opened = match until(deadline, opening).await {
        Some(opened) => opened?,
        None => return Err(Error::handshake_timed_out(timeout)),
    };
    let stream = match opened {
        Opened::Http2(h2) => match h2.open_as(url, &options, ClientStream::Http2).await {
            // The server takes extended CONNECT, but not at this path: an
            // application routing only GET there (axum's `get`) answers
            // 405, and one without CONNECT at all 501. HTTP/1.1 may work.
            Err(Error::Refused(rejection)) if matches!(rejection.status, 405 | 501) => {
                reopen(&parsed, &options).await?
            }
            opened => return opened,
        },
        Opened::Http1(stream) => stream,
        Opened::Neither => reopen(&parsed, &options).await?,
    };
    crate::client(ClientStream::Http1(stream), &parsed, options).await
}

/// The first connection: TLS with ALPN `h2` and `http/1.1`, or h2c with
/// prior knowledge.
async fn open_first(
    url: &WsUrl,
    options: &ClientOptions,
    deadline: Option<Instant>,
) -> Result<Opened, Error> {
    if url.secure {
        let tcp = open_tcp(url, options, deadline).await?;
        let tls = wrap_tls(tcp, url, &with_alpn(options, &[b"h2", b"http/1.1"])).await?;
        if !negotiated_h2(&tls) {
            return Ok(Opened::Http1(tls));
        }
        let h2 = H2Connection::handshake(tls, true).await?;
        return Ok(match h2.supports_websockets() {
            true => Opened::Http2(h2),
            false => Opened::Neither,
        });
    }
    // Without TLS an HTTP/2 server may send its SETTINGS before reading
    // anything: through a proxy, they can arrive with its answer.
    let (tcp, leftover) = match options.proxy.select(url)? {
        None => (connect_tcp(url, options.connect_timeout).await?, Vec::new()),
        Some(proxy) => {
            let tunnel = proxy_tunnel::open_keeping(&proxy, url, options.connect_timeout);
            at_proxy(&proxy, options, deadline, tunnel).await?
        }
    };
    // A server that does not speak HTTP/2 answers the preface with an
    // HTTP/1.1 error or closes, or waits for more of what it takes for an
    // HTTP/1.1 head: ask it again over HTTP/1.1.
    let probe = H2Connection::handshake(Prefixed::new(leftover, tcp), false);
    Ok(match tokio::time::timeout(H2C_PROBE, probe).await {
        Ok(Ok(h2)) if h2.supports_websockets() => Opened::Http2(h2),
        _ => Opened::Neither,
    })
}

/// A new connection for HTTP/1.1 (ALPN `http/1.1` only, for `wss://`),
/// within the handshake timeout: a new attempt.
async fn reopen(url: &WsUrl, options: &ClientOptions) -> Result<MaybeTlsStream<TcpStream>, Error> {
    let timeout = options.config.handshake_timeout;
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let reopening = async {
        let tcp = open_tcp(url, options, deadline).await?;
        wrap_tls(tcp, url, &with_alpn(options, &[b"http/1.1"])).await
    };
    match until(deadline, reopening).await {
        Some(stream) => stream,
        None => Err(Error::handshake_timed_out(timeout)),
    }
}

/// A TCP connection to `url`'s server, or a tunnel to it through the
/// proxy [`ClientOptions::proxy`] selects (HTTP CONNECT or SOCKS5), as
/// [`crate::connect_with`] opens it.
async fn open_tcp(
    url: &WsUrl,
    options: &ClientOptions,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    match options.proxy.select(url)? {
        None => connect_tcp(url, options.connect_timeout).await,
        Some(proxy) => {
            let tunnel = proxy_tunnel::open(&proxy, url, options.connect_timeout);
            at_proxy(&proxy, options, deadline, tunnel).await
        }
    }
}

/// Runs `tunnel` by `deadline`: running out of time while the tunnel is
/// opened is the proxy's failure ([`Error::Proxy`]), as in
/// [`crate::connect_with`].
async fn at_proxy<T>(
    proxy: &weft_io::ProxyUrl,
    options: &ClientOptions,
    deadline: Option<Instant>,
    tunnel: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match until(deadline, tunnel).await {
        Some(result) => result,
        None => Err(Error::handshake_timed_out(options.config.handshake_timeout).at_proxy(proxy)),
    }
}

/// Whether TLS agreed on `h2`.
fn negotiated_h2(stream: &MaybeTlsStream<TcpStream>) -> bool {
    match stream {
        #[cfg(feature = "tls")]
        MaybeTlsStream::Tls(tls) => tls.get_ref().1.alpn_protocol() == Some(b"h2"),
        _ => false,
    }
}

/// `options` with TLS offering `alpn`.
#[cfg_attr(not(feature = "tls"), allow(unused_variables))]
fn with_alpn(options: &ClientOptions, alpn: &[&[u8]]) -> ClientOptions {
    #[allow(unused_mut)]
    let mut options = options.clone();
    #[cfg(feature = "tls")]
    {
        let base = options
            .tls
            .clone()
            .unwrap_or_else(weft_io::tls::client_config);
        let mut config = (*base).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        options.tls = Some(std::sync::Arc::new(config));
    }
    options
}
