//! Opening a tunnel through a proxy over a tokio `TcpStream`: the
//! handshakes of [`weft_io::proxy`] decide, this moves their bytes.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_io::proxy::{Progress, ProxyError, ProxyHandshake, ProxyUrl, Target};
use weft_io::{Error, WsUrl};

/// How much is read from the proxy at a time; its answers are short.
const PROXY_READ: usize = 1024;

/// Runs `proxy`'s handshake over `tcp` (connected to the proxy) for a
/// tunnel to `url`'s host and port; the stream then leads to the server.
///
/// For `socks5://` the destination is resolved here first
/// ([`Error::Resolve`] if it does not resolve, its first address sent);
/// other proxies are sent the name. Bytes arriving after the proxy's
/// answer, before the client has sent anything, are refused
/// ([`ProxyError::UnexpectedData`]): neither a WebSocket server nor a TLS
/// server speaks first, so they cannot be the server's, and refusing them
/// keeps the stream a plain `TcpStream`.
pub(crate) async fn tunnel(
    tcp: TcpStream,
    proxy: &ProxyUrl,
    url: &WsUrl,
) -> Result<TcpStream, Error> {
    let (tcp, leftover) = tunnel_keeping(tcp, proxy, url).await?;
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

/// [`tunnel`], handing back the bytes that arrived after the proxy's
/// answer: the server's, for a server that speaks first (an HTTP/2 server
/// sends its SETTINGS as soon as it accepts).
pub(crate) async fn tunnel_keeping(
    mut tcp: TcpStream,
    proxy: &ProxyUrl,
    url: &WsUrl,
) -> Result<(TcpStream, Vec<u8>), Error> {
    let target = target(proxy, url).await?;
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
/// (for `socks5://`) the first address it resolves to here.
async fn target(proxy: &ProxyUrl, url: &WsUrl) -> Result<Target, Error> {
    let target = Target::new(&url.host, url.port);
    if !proxy.scheme.resolves_locally() || matches!(target, Target::Addr(_)) {
        return Ok(target);
    }
    let resolve_error = |source| Error::Resolve {
        host: url.host.clone(),
        source,
    };
    let mut addrs = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(resolve_error)?;
    match addrs.next() {
        Some(addr) => Ok(Target::Addr(addr)),
        None => Err(resolve_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the name has no address",
        ))),
    }
}
