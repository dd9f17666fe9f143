//! Opening a tunnel through a proxy over a tokio `TcpStream`: the
//! handshakes of [`weft_io::proxy`] decide, this moves their bytes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_io::proxy::{Progress, ProxyError, ProxyHandshake, ProxyUrl, Target};
use weft_io::{Error, WsUrl};

use crate::handshake::connect_tcp;

/// How much is read from the proxy at a time; its answers are short.
const PROXY_READ: usize = 1024;

/// Connects to `proxy` and opens a tunnel through it to `url`'s host and
/// port (each TCP connect within `connect_timeout`); the stream then leads
/// to the server.
///
/// For `socks5://` the destination is resolved here ([`Error::Resolve`]
/// if it does not resolve) and its addresses are asked for in turn, each
/// on a new connection to the proxy, while the proxy answers that it
/// cannot reach one (SOCKS replies 3, 4 and 5: network or host
/// unreachable, connection refused), as a direct connection tries each
/// address. Other proxies are sent the name. Bytes arriving after the
/// proxy's answer, before the client has sent anything, are refused
/// ([`ProxyError::UnexpectedData`]): neither a WebSocket server nor a TLS
/// server speaks first, so they cannot be the server's, and refusing them
/// keeps the stream a plain `TcpStream`.
pub(crate) async fn open(
    proxy: &ProxyUrl,
    url: &WsUrl,
    connect_timeout: Option<Duration>,
) -> Result<TcpStream, Error> {
    let (tcp, leftover) = open_keeping(proxy, url, connect_timeout).await?;
    if !leftover.is_empty() {
        return Err(Error::proxy(
            Some(proxy),
            ProxyError::UnexpectedData {
                len: leftover.len(),
            },
        ));
    }
    Ok(tcp)
}

/// [`open`], handing back the bytes that arrived after the proxy's
/// answer: the server's, for a server that speaks first (an HTTP/2 server
/// sends its SETTINGS as soon as it accepts).
pub(crate) async fn open_keeping(
    proxy: &ProxyUrl,
    url: &WsUrl,
    connect_timeout: Option<Duration>,
) -> Result<(TcpStream, Vec<u8>), Error> {
    let mut last = None;
    for target in targets(proxy, url).await? {
        let tcp = connect_tcp(&endpoint(proxy), connect_timeout)
            .await
            .map_err(|e| e.at_proxy(proxy))?;
        match tunnel(tcp, proxy, target).await {
            Ok(open) => return Ok(open),
            Err(e) if e.proxy_cannot_reach() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::no_address(&url.host)))
}

/// Runs `proxy`'s handshake over `tcp` (connected to the proxy) for a
/// tunnel to `target`.
async fn tunnel(
    mut tcp: TcpStream,
    proxy: &ProxyUrl,
    target: Target,
) -> Result<(TcpStream, Vec<u8>), Error> {
    let fail = |e: ProxyError| Error::proxy(Some(proxy), e);
    let mut handshake = ProxyHandshake::new(proxy, target).map_err(fail)?;
    let mut buf = [0u8; PROXY_READ];
    loop {
        if let Some(request) = handshake.poll_transmit() {
            tcp.write_all(&request)
                .await
                .map_err(|e| fail(ProxyError::Io(e)))?;
        }
        let n = tcp
            .read(&mut buf)
            .await
            .map_err(|e| fail(ProxyError::Io(e)))?;
        if n == 0 {
            return Err(fail(handshake.handle_eof()));
        }
        match handshake.handle_data(&buf[..n]).map_err(fail)? {
            Progress::NeedMore => {}
            Progress::Open { leftover } => return Ok((tcp, leftover)),
        }
    }
}

/// The proxy's host and port, in the shape the TCP connect takes (the
/// scheme and target are not used).
pub(crate) fn endpoint(proxy: &ProxyUrl) -> WsUrl {
    WsUrl {
        secure: false,
        host: proxy.host.clone(),
        port: proxy.port,
        target: "/".to_owned(),
    }
}

/// What the proxy is asked to connect to: the URL's host as a name, or
/// (for `socks5://`) each address it resolves to here, in the resolver's
/// order.
async fn targets(proxy: &ProxyUrl, url: &WsUrl) -> Result<Vec<Target>, Error> {
    let target = Target::new(&url.host, url.port);
    if !proxy.scheme.resolves_locally() || matches!(target, Target::Addr(_)) {
        return Ok(vec![target]);
    }
    let addrs: Vec<Target> = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(|source| Error::Resolve {
            host: url.host.clone(),
            source,
        })?
        .map(Target::Addr)
        .collect();
    match addrs.is_empty() {
        true => Err(Error::no_address(&url.host)),
        false => Ok(addrs),
    }
}
