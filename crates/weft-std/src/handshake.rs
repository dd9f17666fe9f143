//! The opening handshakes over a blocking stream: `connect`, `client`,
//! `accept`, `accept_with`.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use weft_io::{ClientOptions, Error, OsRandom, ProxyError, WsUrl};
use weft_proto::handshake::{
    Accept, Acceptance, ClientHandshake, HandshakeError, IncomingRequest, Reject, Responded,
    ServerHandshake,
};
use weft_proto::Config;

use crate::{proxy_tunnel, MaybeTlsStream, Role, Transport, WebSocket};
use weft_io::span::ConnectionSpan;

/// Connects to a `ws://` or `wss://` URL with default options.
///
/// ```no_run
/// let (mut ws, _response) = weft_std::connect("wss://echo.example/chat")?;
/// ws.send("hello")?;
/// while let Some(message) = ws.read()? {
///     println!("{message:?}");
/// }
/// # Ok::<(), weft_std::Error>(())
/// ```
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Acceptance), Error> {
    connect_with(url, ClientOptions::default())
}

/// Connects to a `ws://` or `wss://` URL.
///
/// Each step of the opening fails with its own error: the host name not
/// resolving with [`Error::Resolve`], the TCP connect with
/// [`Error::Connect`] (refused, unreachable) or [`Error::ConnectTimeout`]
/// ([`ClientOptions::connect_timeout`], per address), TLS with
/// [`Error::Tls`], a server answering other than 101 with
/// [`Error::Refused`]. The handshake timeout in `options.config` bounds
/// the whole opening (TCP, TLS and HTTP) and fails it with
/// [`Error::HandshakeTimeout`]. [`Error::is_retryable`] says which are
/// worth another attempt.
///
/// With a proxy ([`ClientOptions::proxy`]: by default the one the
/// environment sets, never for a loopback destination), the TCP
/// connection goes to the proxy, its handshake (HTTP `CONNECT` or SOCKS5)
/// opens a tunnel to the server, and TLS and the WebSocket handshake run
/// through it. Everything up to the open tunnel fails with
/// [`Error::Proxy`]; the handshake timeout bounds it too.
pub fn connect_with(
    url: &str,
    options: ClientOptions,
) -> Result<(WebSocket<MaybeTlsStream>, Acceptance), Error> {
    let url = WsUrl::parse(url)?;
    let timeout = options.config.handshake_timeout;
    open(&url, options).map_err(|e| with_timeout(e, timeout))
}

/// The opening of [`connect_with`]: TCP, TLS, the HTTP handshake.
fn open(
    url: &WsUrl,
    options: ClientOptions,
) -> Result<(WebSocket<MaybeTlsStream>, Acceptance), Error> {
    let start = Instant::now();
    let span = ConnectionSpan::new(Role::Client);
    let _entered = span.enter();
    let deadline = options
        .config
        .handshake_timeout
        .and_then(|t| start.checked_add(t));
    let tcp = match options.proxy.select(url)? {
        None => connect_tcp(&url.host, url.port, options.connect_timeout, deadline)?,
        Some(proxy) => proxy_tunnel::open(&proxy, url, options.connect_timeout, deadline)?,
    };
    if let Some(peer) = Transport::peer_addr(&tcp) {
        span.record_peer(peer);
    }
    tcp.set_nodelay(true)?;
    // The TLS handshake reads and writes: bound both by the same deadline
    // as the rest of the opening.
    let left = remaining(deadline)?;
    tcp.set_write_timeout(left)?;
    tcp.set_read_timeout(left)?;
    let stream = if url.secure {
        tls_stream(url, &options, tcp)?
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    let (ws, response) = handshake_client(stream, url, options, start, span.clone())?;
    ws.get_ref().tcp().set_write_timeout(None)?;
    Ok((ws, response))
}

/// A handshake timeout (the client's, or the proxy's) learns how long the
/// timeout was.
fn with_timeout(e: Error, timeout: Option<Duration>) -> Error {
    match e {
        Error::HandshakeTimeout { timeout: None } => Error::handshake_timed_out(timeout),
        Error::Proxy { proxy, source } => match *source {
            ProxyError::TimedOut { timeout: None } => Error::Proxy {
                proxy,
                source: Box::new(ProxyError::TimedOut { timeout }),
            },
            source => Error::Proxy {
                proxy,
                source: Box::new(source),
            },
        },
        e => e,
    }
}

/// Runs the TLS handshake to its end, so that its failures are told apart
/// from the HTTP handshake's: a rustls error is [`Error::Tls`], a timeout
/// is the handshake's, anything else is the transport's.
#[cfg(feature = "tls")]
fn tls_stream(
    url: &WsUrl,
    options: &ClientOptions,
    tcp: TcpStream,
) -> Result<MaybeTlsStream, Error> {
    let config = options
        .tls
        .clone()
        .unwrap_or_else(weft_io::tls::client_config);
    let name = weft_io::tls::server_name(&url.host)?;
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            return Err(match weft_io::TlsError::from_io(&url.host, e) {
                Ok(e) => Error::Tls(e),
                Err(e) => timed_out_is_handshake(e),
            });
        }
    }
    Ok(MaybeTlsStream::Tls(Box::new(tls)))
}

#[cfg(not(feature = "tls"))]
fn tls_stream(_: &WsUrl, _: &ClientOptions, _: TcpStream) -> Result<MaybeTlsStream, Error> {
    Err(Error::TlsUnavailable)
}

/// Resolves `host` (the server's, or the proxy's), then tries each of its
/// addresses in turn: [`Error::Resolve`] if the name does not resolve,
/// otherwise the last address's [`Error::Connect`] or
/// [`Error::ConnectTimeout`] (or the handshake timeout, when its deadline
/// came first).
pub(crate) fn connect_tcp(
    host: &str,
    port: u16,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    let resolve_error = |source| Error::Resolve {
        host: host.to_owned(),
        source,
    };
    let addrs = (host, port).to_socket_addrs().map_err(resolve_error)?;
    let mut last = None;
    for addr in addrs {
        let left = remaining(deadline)?;
        let (limit, connect_timeout) = match (timeout, left) {
            (Some(a), Some(b)) if b < a => (Some(b), None),
            (Some(a), _) => (Some(a), Some(a)),
            (None, b) => (b, None),
        };
        let result = match limit {
            Some(limit) => TcpStream::connect_timeout(&addr, limit),
            None => TcpStream::connect(addr),
        };
        match result {
            Ok(tcp) => return Ok(tcp),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                last = Some(match connect_timeout {
                    Some(timeout) => Error::ConnectTimeout { addr, timeout },
                    None => Error::handshake_timed_out(None),
                });
            }
            Err(source) => last = Some(Error::Connect { addr, source }),
        }
    }
    Err(last.unwrap_or_else(|| Error::no_address(host)))
}

/// The time left before `deadline`; an error once it has passed.
pub(crate) fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, Error> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(Error::handshake_timed_out(None)),
        },
    }
}

/// A write that timed out during the opening (a TLS handshake that never
/// completes, say) is the handshake timing out.
fn timed_out_is_handshake(e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::handshake_timed_out(None),
        _ => e.into(),
    }
}

/// Reads during a handshake, blocking no later than `deadline`.
/// `Ok(None)`: the deadline passed.
fn read_before<S: Transport>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> Result<Option<usize>, Error> {
    let timeout = match remaining(deadline) {
        Ok(timeout) => timeout,
        Err(_) => return Ok(None),
    };
    stream.set_read_timeout(timeout)?;
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A TLS peer that closes without close_notify: the end of the
            // stream, as for plain TCP.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
            Err(e) => return Err(timed_out_is_handshake(e)),
        }
    }
}

/// Runs the client handshake over a stream you opened (a Unix socket, a
/// proxy tunnel, TLS of your own) for `url`'s host and resource.
pub fn client<S: Transport>(
    stream: S,
    url: &WsUrl,
    options: ClientOptions,
) -> Result<(WebSocket<S>, Acceptance), Error> {
    let timeout = options.config.handshake_timeout;
    let span = ConnectionSpan::new(Role::Client);
    let _entered = span.enter();
    handshake_client(stream, url, options, Instant::now(), span.clone())
        .map_err(|e| with_timeout(e, timeout))
}

/// The client handshake, its timeout counted from `start`.
fn handshake_client<S: Transport>(
    mut stream: S,
    url: &WsUrl,
    options: ClientOptions,
    start: Instant,
    span: ConnectionSpan,
) -> Result<(WebSocket<S>, Acceptance), Error> {
    let mut random = OsRandom::new()?;
    let nonce = random.nonce();
    let request = options.request(url);
    let mut handshake = ClientHandshake::new(request, options.config, nonce, start)?;
    let mut out = Vec::new();
    handshake.write_request(&mut out);
    stream
        .write_all(&out)
        .and_then(|()| stream.flush())
        .map_err(timed_out_is_handshake)?;
    let mut buf = vec![0u8; 4096];
    let response = loop {
        match read_before(&mut stream, &mut buf, handshake.poll_timeout())? {
            None => handshake.handle_timeout(Instant::now())?,
            Some(0) => return Err(handshake.handle_eof().into()),
            Some(n) => {
                if let Some(response) = handshake.handle_data(&buf[..n])? {
                    break response;
                }
            }
        }
    };
    stream.set_read_timeout(None)?;
    let conn = handshake.into_connection(random, Instant::now())?;
    Ok((WebSocket::from_connection_in(stream, conn, span), response))
}

/// Accepts a WebSocket on a stream that was just accepted, whatever the
/// request, with [`weft_io::default_config`]: `Config`'s defaults with
/// permessage-deflate offered and accepted (feature `deflate`, on by
/// default). Use [`accept_with`] to change that.
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, weft_io::default_config(), |_| Ok(Accept::new()))
}

/// Accepts a WebSocket, letting `decide` see the request and accept it
/// (choosing a subprotocol, adding headers) or reject it (any status,
/// headers, body; the function then returns [`Error::Rejected`]). A
/// malformed request is answered with its HTTP status (400, 426, 431, ...)
/// and returned as [`Error::Handshake`]; a request that does not arrive
/// within the handshake timeout is answered with 408 and returned as
/// [`Error::HandshakeTimeout`].
///
/// To serve `wss://`, accept TLS first and pass the TLS stream:
/// `rustls::StreamOwned::new(rustls::ServerConnection::new(weft_std::tls::server_config(&cert_pem, &key_pem)?)?, tcp)`.
pub fn accept_with<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    let timeout = config.handshake_timeout;
    let span = ConnectionSpan::new(Role::Server);
    let _entered = span.enter();
    if let Some(peer) = stream.peer_addr() {
        span.record_peer(peer);
    }
    handshake_server(stream, config, decide, span.clone()).map_err(|e| with_timeout(e, timeout))
}

/// The server handshake of [`accept_with`].
fn handshake_server<S, F>(
    mut stream: S,
    config: Config,
    decide: F,
    span: ConnectionSpan,
) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    let mut handshake = ServerHandshake::new(config, Instant::now());
    let mut buf = vec![0u8; 4096];
    let request = loop {
        let result = match read_before(&mut stream, &mut buf, handshake.poll_timeout())? {
            None => handshake.handle_timeout(Instant::now()).map(|()| None),
            Some(0) => return Err(HandshakeError::ConnectionClosed.into()),
            Some(n) => handshake.handle_data(&buf[..n]),
        };
        match result {
            Ok(Some(request)) => break request,
            Ok(None) => {}
            Err(e) => {
                let mut out = Vec::new();
                e.write_response(&mut out);
                // The client may be gone already; the handshake error is what matters.
                let _ = stream
                    .write_all(&out)
                    .and_then(|()| stream.shutdown_write());
                return Err(e.into());
            }
        }
    };
    let mut out = Vec::new();
    let outcome = handshake.respond(decide(&request), &mut out);
    if outcome != Responded::Accepted {
        // A rejection, or the 500 that replaces an answer that could not
        // be written: the response goes out and the transport is closed.
        // The client may be gone already; the outcome is what matters.
        let sent = stream
            .write_all(&out)
            .and_then(|()| stream.flush())
            .and_then(|()| stream.shutdown_write());
        return Err(match outcome {
            Responded::Rejected(status) => {
                sent?;
                Error::Rejected(status)
            }
            Responded::Failed(e) => Error::Handshake(e),
            _ => Error::Handshake(HandshakeError::NotReady),
        });
    }
    stream.write_all(&out)?;
    stream.flush()?;
    stream.set_read_timeout(None)?;
    let conn = handshake.into_connection(Instant::now())?;
    Ok(WebSocket::from_connection_in(stream, conn, span))
}
