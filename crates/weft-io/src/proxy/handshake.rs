//! [`ProxyHandshake`]: either proxy handshake behind one interface, the
//! one the adapters drive; [`Target`], what the tunnel leads to;
//! [`Progress`], what an answer did.

use std::net::{IpAddr, SocketAddr};

use super::{HttpConnect, ProxyError, ProxyScheme, ProxyUrl, Socks5};

/// Where the tunnel leads: the WebSocket server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A host name (or an IP address written as text) and a port, for the
    /// proxy to resolve: what `http://` and `socks5h://` proxies are sent.
    Name {
        /// The host name, as in the WebSocket URL (IPv6 without brackets).
        host: String,
        /// The port.
        port: u16,
    },
    /// An address the client resolved itself: what a `socks5://` proxy is
    /// sent.
    Addr(SocketAddr),
}

impl Target {
    /// The target `host:port`, with a host that is an IP address written
    /// as text taken as that address.
    pub fn new(host: &str, port: u16) -> Target {
        match host.parse::<IpAddr>() {
            Ok(ip) => Target::Addr(SocketAddr::new(ip, port)),
            Err(_) => Target::Name {
                host: host.to_owned(),
                port,
            },
        }
    }

    /// `host:port` (an IPv6 address in brackets), as in a `CONNECT`
    /// request (RFC 9110 9.3.6: the authority-form).
    pub fn authority(&self) -> String {
        match self {
            Target::Name { host, port } => super::url::authority(host, *port),
            Target::Addr(addr) => addr.to_string(),
        }
    }
}

/// What a handshake made of the bytes it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The answer is not complete yet, or a request went out and its answer
    /// is awaited: send what [`poll_transmit`](ProxyHandshake::poll_transmit)
    /// holds, then read more.
    NeedMore,
    /// The tunnel is open. `leftover` holds the bytes received after the
    /// proxy's answer: they came from the destination through the tunnel.
    Open {
        /// The bytes past the answer (none, from a well-behaved proxy and
        /// a server that waits for the client to speak).
        leftover: Vec<u8>,
    },
}

/// The handshake a proxy URL calls for: [`HttpConnect`] for `http://`,
/// [`Socks5`] for `socks5://` and `socks5h://`.
///
/// Driving it: write what [`poll_transmit`](Self::poll_transmit) holds,
/// read, pass what was read to [`handle_data`](Self::handle_data) (and the
/// end of the stream to [`handle_eof`](Self::handle_eof)); repeat until
/// [`Progress::Open`] or an error. It does no I/O and reads no clock: the
/// caller bounds it in time.
///
/// ```
/// use weft_io::proxy::{Progress, ProxyHandshake, ProxyUrl, Target};
///
/// let proxy = ProxyUrl::parse("http://proxy.corp:3128").unwrap();
/// let mut handshake = ProxyHandshake::new(&proxy, Target::new("example.com", 443)).unwrap();
/// let request = handshake.poll_transmit().unwrap();
/// assert!(request.starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
/// assert_eq!(handshake.handle_data(b"HTTP/1.1 200 OK\r\n").unwrap(), Progress::NeedMore);
/// assert_eq!(
///     handshake.handle_data(b"\r\n").unwrap(),
///     Progress::Open { leftover: Vec::new() }
/// );
/// ```
#[derive(Debug)]
pub struct ProxyHandshake {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Http(HttpConnect),
    Socks5(Socks5),
}

impl ProxyHandshake {
    /// The handshake with `proxy` for a tunnel to `target`, with the
    /// credentials of the proxy URL. For `socks5://`, resolve the
    /// destination and pass [`Target::Addr`]; a [`Target::Name`] is sent
    /// as a name, as `socks5h://` does.
    pub fn new(proxy: &ProxyUrl, target: Target) -> Result<ProxyHandshake, ProxyError> {
        let credentials = proxy.credentials.as_ref();
        let inner = match proxy.scheme {
            ProxyScheme::Http => Inner::Http(HttpConnect::new(&target, credentials)?),
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
                Inner::Socks5(Socks5::new(&target, credentials)?)
            }
        };
        Ok(ProxyHandshake { inner })
    }

    /// The bytes to send to the proxy now, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        match &mut self.inner {
            Inner::Http(h) => h.poll_transmit(),
            Inner::Socks5(h) => h.poll_transmit(),
        }
    }

    /// Takes bytes read from the proxy.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Progress, ProxyError> {
        match &mut self.inner {
            Inner::Http(h) => h.handle_data(data),
            Inner::Socks5(h) => h.handle_data(data),
        }
    }

    /// The proxy closed the connection: the error to report.
    pub fn handle_eof(&mut self) -> ProxyError {
        match &mut self.inner {
            Inner::Http(h) => h.handle_eof(),
            Inner::Socks5(h) => h.handle_eof(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_address_host_is_an_address_target() {
        assert_eq!(
            Target::new("::1", 80),
            Target::Addr("[::1]:80".parse().unwrap())
        );
        assert_eq!(Target::new("::1", 80).authority(), "[::1]:80");
        assert_eq!(
            Target::new("example.com", 443).authority(),
            "example.com:443"
        );
    }

    /// Arbitrary answers in arbitrary pieces: every handshake ends in
    /// `NeedMore`, `Open` or an error, never a panic, and once it has ended
    /// it refuses more data.
    #[test]
    fn no_input_makes_a_handshake_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Prefixes that get the machines past their first checks, so that
        // the random bytes reach the later states too.
        let prefixes: [&[u8]; 6] = [
            b"",
            b"HTTP/1.1 ",
            b"HTTP/1.1 200 OK\r\n",
            b"\x05\x00",
            b"\x05\x02\x01\x00",
            b"\x05\x00\x05\x00\x00",
        ];
        let proxies = ["http://p", "http://u:p@p", "socks5h://p", "socks5://u:p@p"];
        for round in 0..20_000 {
            let proxy = ProxyUrl::parse(proxies[round % proxies.len()]).unwrap();
            let mut h = ProxyHandshake::new(&proxy, Target::new("example.com", 443)).unwrap();
            let mut input = prefixes[(next() % 6) as usize].to_vec();
            let len = (next() % 40) as usize;
            input.extend((0..len).map(|_| (next() & 0xff) as u8));
            let mut ended = false;
            for chunk in input.chunks(1 + (next() % 7) as usize) {
                h.poll_transmit();
                match h.handle_data(chunk) {
                    Ok(Progress::NeedMore) => {}
                    Ok(Progress::Open { .. }) | Err(_) => {
                        ended = true;
                        break;
                    }
                }
            }
            if ended {
                assert!(h.handle_data(b"x").is_err());
            } else {
                let _ = h.handle_eof().to_string();
            }
        }
    }

    #[test]
    fn the_scheme_picks_the_handshake() {
        let target = Target::new("example.com", 80);
        let socks = ProxyUrl::parse("socks5h://p").unwrap();
        let mut h = ProxyHandshake::new(&socks, target.clone()).unwrap();
        assert_eq!(h.poll_transmit().unwrap(), [5, 1, 0]);
        let http = ProxyUrl::parse("http://p").unwrap();
        let mut h = ProxyHandshake::new(&http, target).unwrap();
        assert!(h.poll_transmit().unwrap().starts_with(b"CONNECT "));
        assert!(matches!(h.handle_eof(), ProxyError::Closed));
    }
}
