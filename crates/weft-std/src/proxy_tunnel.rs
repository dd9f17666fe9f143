//! Opening a tunnel through a proxy over a blocking `TcpStream`: the
//! handshakes of [`weft_io::proxy`] decide, this moves their bytes.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use weft_io::proxy::{Progress, ProxyError, ProxyHandshake, ProxyUrl, Target};
use weft_io::{Error, WsUrl};

use crate::handshake::remaining;

/// How much is read from the proxy at a time; its answers are short.
const PROXY_READ: usize = 1024;

/// Runs `proxy`'s handshake over `tcp` (connected to the proxy) for a
/// tunnel to `url`'s host and port, every read and write bounded by
/// `deadline`; the stream then leads to the server.
///
/// For `socks5://` the destination is resolved here first
/// ([`Error::Resolve`] if it does not resolve, its first address sent);
/// other proxies are sent the name. Bytes arriving after the proxy's
/// answer, before the client has sent anything, are refused
/// ([`ProxyError::UnexpectedData`]): neither a WebSocket server nor a TLS
/// server speaks first, so they cannot be the server's, and refusing them
/// keeps the stream a plain `TcpStream`.
pub(crate) fn tunnel(
    mut tcp: TcpStream,
    proxy: &ProxyUrl,
    url: &WsUrl,
    deadline: Option<Instant>,
) -> Result<TcpStream, Error> {
    let target = target(proxy, url)?;
    let fail = |e: ProxyError| Error::proxy(Some(proxy), e);
    // A read or write that ran out of time is the proxy not answering.
    let io_fail = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            Error::handshake_timed_out(None).at_proxy(proxy)
        }
        _ => fail(ProxyError::Io(e)),
    };
    let mut handshake = ProxyHandshake::new(proxy, target).map_err(fail)?;
    let mut buf = [0u8; PROXY_READ];
    loop {
        let left = remaining(deadline).map_err(|e| e.at_proxy(proxy))?;
        tcp.set_read_timeout(left).map_err(io_fail)?;
        tcp.set_write_timeout(left).map_err(io_fail)?;
        if let Some(request) = handshake.poll_transmit() {
            tcp.write_all(&request).map_err(io_fail)?;
        }
        let n = match tcp.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_fail(e)),
        };
        if n == 0 {
            return Err(fail(handshake.handle_eof()));
        }
        match handshake.handle_data(&buf[..n]).map_err(fail)? {
            Progress::NeedMore => {}
            Progress::Open { leftover } if leftover.is_empty() => return Ok(tcp),
            Progress::Open { leftover } => {
                return Err(fail(ProxyError::UnexpectedData {
                    len: leftover.len(),
                }))
            }
        }
    }
}

/// What the proxy is asked to connect to: the URL's host as a name, or
/// (for `socks5://`) the first address it resolves to here.
fn target(proxy: &ProxyUrl, url: &WsUrl) -> Result<Target, Error> {
    let target = Target::new(&url.host, url.port);
    if !proxy.scheme.resolves_locally() || matches!(target, Target::Addr(_)) {
        return Ok(target);
    }
    let resolve_error = |source| Error::Resolve {
        host: url.host.clone(),
        source,
    };
    let mut addrs = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(resolve_error)?;
    match addrs.next() {
        Some(addr) => Ok(Target::Addr(addr)),
        None => Err(resolve_error(io::Error::new(
            io::ErrorKind::NotFound,
            "the name has no address",
        ))),
    }
}
