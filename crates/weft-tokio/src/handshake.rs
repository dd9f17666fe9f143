//! The opening handshake over a tokio transport, for both roles.
//!
//! The handshake state machines of `weft-proto` decide everything; this
//! moves their bytes, and sleeps until their deadline.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_io::{ClientOptions, Error, OsRandom, WsUrl};
use weft_proto::handshake::{
    Accept, Acceptance, ClientHandshake, HandshakeError, IncomingRequest, Reject, Responded,
    ServerHandshake,
};
use weft_proto::Config;

use crate::driver::ConnectionSpan;
use crate::{proxy_tunnel, MaybeTlsStream, Role, WebSocketStream};

/// How much a handshake reads at a time. Bytes past the head are kept for
/// the connection, so reading ahead loses nothing.
const HANDSHAKE_READ: usize = 4096;

/// Runs `fut` until `deadline` (`None`: no limit); `None` if it passed.
pub(crate) async fn until<F: Future>(deadline: Option<Instant>, fut: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), fut).await.ok(),
        None => Some(fut.await),
    }
}

/// Connects to a `ws://` or `wss://` URL with default options.
///
/// ```no_run
/// # async fn run() -> Result<(), weft_tokio::Error> {
/// use futures_util::{SinkExt, StreamExt};
/// use weft_tokio::Message;
///
/// let (mut ws, _response) = weft_tokio::connect("ws://127.0.0.1:9001/chat").await?;
/// ws.send(Message::text("hello")).await?;
/// while let Some(message) = ws.next().await {
///     println!("{:?}", message?);
/// }
/// # Ok(())
/// # }
/// ```
pub async fn connect(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Acceptance), Error> {
    connect_with(url, ClientOptions::default()).await
}

/// Connects to a `ws://` or `wss://` URL.
///
/// Each step of the opening fails with its own error: the host name not
/// resolving with [`Error::Resolve`], the TCP connect with
/// [`Error::Connect`] (refused, unreachable) or [`Error::ConnectTimeout`]
/// ([`ClientOptions::connect_timeout`], per address), TLS with
/// [`Error::Tls`], a server answering other than 101 with
/// [`Error::Refused`]. The handshake timeout of [`ClientOptions::config`]
/// bounds the whole opening (TCP connect, TLS, HTTP) and fails it with
/// [`Error::HandshakeTimeout`]. [`Error::is_retryable`] says which are
/// worth another attempt.
///
/// `wss://` uses [`ClientOptions::tls`], or
/// [`weft_io::tls::client_config`] (the webpki-roots CAs); without the
/// `tls` feature it fails with [`Error::TlsUnavailable`]. The socket has
/// `TCP_NODELAY` set: frames go out as soon as they are written.
///
/// With a proxy ([`ClientOptions::proxy`]: by default the one the
/// environment sets, never for a loopback destination), the TCP
/// connection goes to the proxy, its handshake (HTTP `CONNECT` or SOCKS5)
/// opens a tunnel to the server, and TLS and the WebSocket handshake run
/// through it. Everything up to the open tunnel fails with
/// [`Error::Proxy`]; the handshake timeout bounds it too.
pub async fn connect_with(
    url: &str,
    options: ClientOptions,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Acceptance), Error> {
    let url = WsUrl::parse(url)?;
    if url.secure && cfg!(not(feature = "tls")) {
        return Err(Error::TlsUnavailable);
    }
    let start = Instant::now();
    let span = ConnectionSpan::new(Role::Client);
    let mut random = OsRandom::new()?;
    let mut handshake = ClientHandshake::new(
        options.request(&url),
        options.config.clone(),
        random.nonce(),
        start,
    )?;
    let proxy = options.proxy.select(&url)?;
    // The handshake's own deadline bounds every step of the opening.
    let deadline = handshake.poll_timeout();
    // Until the tunnel is open, a timeout is the proxy's.
    let at_proxy = AtomicBool::new(proxy.is_some());
    let opening = async {
        let tcp = match &proxy {
            None => connect_tcp(&url, options.connect_timeout).await?,
            Some(proxy) => {
                let tcp = proxy_tunnel::open(proxy, &url, options.connect_timeout).await?;
                at_proxy.store(false, Ordering::Relaxed);
                tcp
            }
        };
        if let Ok(peer) = tcp.peer_addr() {
            span.record_peer(peer);
        }
        let stream = wrap_tls(tcp, &url, &options).await?;
        let (stream, response) = client_handshake(stream, &mut handshake).await?;
        Ok::<_, Error>((stream, response))
    };
    let (stream, response) = match until(deadline, span.instrument(opening)).await {
        Some(result) => result?,
        None => {
            let timeout = options.config.handshake_timeout;
            if let Some(proxy) = proxy.filter(|_| at_proxy.load(Ordering::Relaxed)) {
                return Err(Error::handshake_timed_out(timeout).at_proxy(&proxy));
            }
            return Err(timed_out(&mut handshake, deadline, timeout));
        }
    };
    let conn = span.in_scope(|| handshake.into_connection(random, Instant::now()))?;
    Ok((
        WebSocketStream::from_connection_in(stream, conn, span),
        response,
    ))
}

/// Runs the client's handshake over a stream you opened (TCP, TLS, a
/// proxy tunnel, ...), for `url`'s host and target. Nothing is done about
/// `url`'s scheme: a `wss://` stream must already be encrypted. The
/// handshake timeout of [`ClientOptions::config`] bounds it.
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    url: &WsUrl,
    options: ClientOptions,
) -> Result<(WebSocketStream<S>, Acceptance), Error> {
    let span = ConnectionSpan::new(Role::Client);
    let mut random = OsRandom::new()?;
    let timeout = options.config.handshake_timeout;
    let mut handshake = ClientHandshake::new(
        options.request(url),
        options.config,
        random.nonce(),
        Instant::now(),
    )?;
    let deadline = handshake.poll_timeout();
    let opening = span.instrument(client_handshake(stream, &mut handshake));
    let (stream, response) = match until(deadline, opening).await {
        Some(result) => result?,
        None => return Err(timed_out(&mut handshake, deadline, timeout)),
    };
    let conn = span.in_scope(|| handshake.into_connection(random, Instant::now()))?;
    Ok((
        WebSocketStream::from_connection_in(stream, conn, span),
        response,
    ))
}

/// The error for an opening that ran past the handshake's deadline: a
/// timeout, or the refusal the core had when time ran out.
fn timed_out(
    handshake: &mut ClientHandshake,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
) -> Error {
    let now = deadline.map_or_else(Instant::now, |d| Instant::now().max(d));
    match handshake.handle_timeout(now) {
        Err(HandshakeError::TimedOut) | Ok(()) => Error::handshake_timed_out(timeout),
        Err(e) => Error::from(e),
    }
}

/// Resolves the URL's host, then tries each of its addresses in turn, each
/// within `timeout`: [`Error::Resolve`] if the name does not resolve,
/// otherwise the last address's [`Error::Connect`] or
/// [`Error::ConnectTimeout`].
pub(crate) async fn connect_tcp(
    url: &WsUrl,
    timeout: Option<Duration>,
) -> Result<TcpStream, Error> {
    let resolve_error = |source| Error::Resolve {
        host: url.host.clone(),
        source,
    };
    let addrs = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(resolve_error)?;
    let mut last = None;
    for addr in addrs {
        let connecting = TcpStream::connect(addr);
        let result = match timeout {
            Some(timeout) => match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result,
                Err(_) => {
                    last = Some(Error::ConnectTimeout { addr, timeout });
                    continue;
                }
            },
            None => connecting.await,
        };
        match result {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(source) => last = Some(Error::Connect { addr, source }),
        }
    }
    Err(last.unwrap_or_else(|| Error::no_address(&url.host)))
}

#[cfg(feature = "tls")]
pub(crate) async fn wrap_tls(
    tcp: TcpStream,
    url: &WsUrl,
    options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    if !url.secure {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let config = options
        .tls
        .clone()
        .unwrap_or_else(weft_io::tls::client_config);
    let name = weft_io::tls::server_name(&url.host)?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| match weft_io::TlsError::from_io(&url.host, e) {
            Ok(tls) => Error::Tls(tls),
            Err(transport) => Error::Io(transport),
        })?;
    Ok(MaybeTlsStream::Tls(Box::new(tls)))
}

#[cfg(not(feature = "tls"))]
pub(crate) async fn wrap_tls(
    tcp: TcpStream,
    url: &WsUrl,
    _options: &ClientOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    if url.secure {
        return Err(Error::TlsUnavailable);
    }
    Ok(MaybeTlsStream::Plain(tcp))
}

/// Writes the request and reads until the handshake has the response.
async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handshake: &mut ClientHandshake,
) -> Result<(S, Acceptance), Error> {
    let mut request = Vec::new();
    handshake.write_request(&mut request);
    stream.write_all(&request).await?;
    stream.flush().await?;
    let mut buf = vec![0u8; HANDSHAKE_READ];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // A TLS peer that closes without close_notify: the end of the
            // stream, as for plain TCP.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Err(Error::from(handshake.handle_eof()));
        }
        if let Some(response) = handshake.handle_data(&buf[..n])? {
            return Ok((stream, response));
        }
    }
}

/// Accepts a WebSocket on a stream whose client has connected, any request
/// accepted, with [`weft_io::default_config`]: [`Config`]'s defaults with
/// permessage-deflate offered and accepted (feature `deflate`, on by
/// default). Use [`accept_with`] to change that.
///
/// To serve `wss://`, accept the TLS session first and hand over the
/// encrypted stream (see the [crate docs](crate#serving-wss)).
pub fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
) -> impl Future<Output = Result<WebSocketStream<S>, Error>> {
    accept_with(stream, weft_io::default_config(), |_| Ok(Accept::new()))
}

/// Accepts a WebSocket on a stream whose client has connected, letting
/// `decide` see the request and accept it (choosing a subprotocol, adding
/// headers) or reject it (any status, headers, body).
///
/// The handshake timeout of `config` bounds reading the request (failing
/// with [`Error::HandshakeTimeout`] after answering 408). A request
/// that is not a valid WebSocket handshake is answered with the status the
/// core gives (400, 405, 426, 431, ...) and fails with
/// [`Error::Handshake`]. A rejection is written out, the transport is
/// half-closed, and the function fails with [`Error::Rejected`] carrying
/// the status sent (the client sees [`Error::Refused`] with the status,
/// headers and body).
///
/// ```no_run
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), weft_tokio::Error> {
/// use weft_tokio::weft_proto::handshake::{Accept, Reject};
/// use weft_tokio::weft_proto::Config;
///
/// let ws = weft_tokio::accept_with(tcp, Config::default(), |request| {
///     if request.path() != "/chat" {
///         return Err(Reject::new(404).body("no such endpoint"));
///     }
///     match request.subprotocols().iter().any(|p| p == "chat.v1") {
///         true => Ok(Accept::new().subprotocol("chat.v1")),
///         false => Ok(Accept::new()),
///     }
/// })
/// .await?;
/// # drop(ws);
/// # Ok(())
/// # }
/// ```
///
/// The handshake's state (the request being read, the handshake, the
/// connection being built: more than a kilobyte) lives in an allocation of
/// its own, freed when the handshake ends. The future returned is a
/// pointer, so a task that accepts and then serves the connection is not
/// that kilobyte larger for the connection's whole life.
pub fn accept_with<S, F>(
    stream: S,
    config: Config,
    decide: F,
) -> impl Future<Output = Result<WebSocketStream<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    Box::pin(accept_boxed(stream, config, decide))
}

/// [`accept_with`]'s handshake, run in its own allocation.
async fn accept_boxed<S, F>(
    mut stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    let config_timeout = config.handshake_timeout;
    let span = ConnectionSpan::new(Role::Server);
    let mut handshake = ServerHandshake::new(config, Instant::now());
    let deadline = handshake.poll_timeout();
    let reading = span.instrument(read_request(&mut stream, &mut handshake));
    let request = match until(deadline, reading).await {
        Some(Ok(request)) => request,
        Some(Err(Error::Handshake(e))) => return Err(refuse(stream, e).await),
        Some(Err(e)) => return Err(e),
        None => {
            let now = deadline.map_or_else(Instant::now, |d| Instant::now().max(d));
            let e = match handshake.handle_timeout(now) {
                Err(e) => e,
                Ok(()) => HandshakeError::TimedOut,
            };
            let _ = refuse(stream, e).await;
            return Err(Error::handshake_timed_out(config_timeout));
        }
    };
    let mut response = Vec::new();
    let decision = decide(&request);
    match span.in_scope(|| handshake.respond(decision, &mut response)) {
        Responded::Accepted => {
            stream.write_all(&response).await?;
            stream.flush().await?;
            let conn = span.in_scope(|| handshake.into_connection(Instant::now()))?;
            Ok(WebSocketStream::from_connection_in(stream, conn, span))
        }
        Responded::Rejected(status) => {
            send_and_shut(&mut stream, &response).await?;
            Err(Error::Rejected(status))
        }
        // The application's answer could not be written: the client is
        // told something went wrong on this side (500).
        Responded::Failed(e) => {
            let _ = send_and_shut(&mut stream, &response).await;
            Err(Error::Handshake(e))
        }
        _ => Err(Error::Handshake(HandshakeError::NotReady)),
    }
}

async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    handshake: &mut ServerHandshake,
) -> Result<IncomingRequest, Error> {
    let mut buf = vec![0u8; HANDSHAKE_READ];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Handshake(HandshakeError::ConnectionClosed));
        }
        if let Some(request) = handshake.handle_data(&buf[..n])? {
            return Ok(request);
        }
    }
}

/// Answers a handshake error with the response the core writes for it (if
/// any), closes, and returns the error.
async fn refuse<S: AsyncWrite + Unpin>(mut stream: S, e: HandshakeError) -> Error {
    let mut response = Vec::new();
    if e.write_response(&mut response) {
        let _ = send_and_shut(&mut stream, &response).await;
    }
    Error::Handshake(e)
}

async fn send_and_shut<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await?;
    stream.shutdown().await
}
