//! `ws://` and `wss://` URLs (RFC 6455 3).

use std::fmt;

use crate::Error;

/// A parsed WebSocket URL.
///
/// ```
/// use weft_io::WsUrl;
/// let url = WsUrl::parse("wss://example.com/chat?room=1").unwrap();
/// assert!(url.secure);
/// assert_eq!((url.host.as_str(), url.port), ("example.com", 443));
/// assert_eq!(url.target, "/chat?room=1");
/// assert_eq!(url.host_header(), "example.com");
///
/// let url = WsUrl::parse("ws://[::1]:9001").unwrap();
/// assert_eq!((url.host.as_str(), url.port, url.target.as_str()), ("::1", 9001, "/"));
/// assert_eq!(url.host_header(), "[::1]:9001");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`: the connection runs over TLS.
    pub secure: bool,
    /// The host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The port: the one given, or 80 for `ws://` and 443 for `wss://`.
    pub port: u16,
    /// The resource name: path and query, starting with `/`.
    pub target: String,
}

impl WsUrl {
    /// Parses `ws://host[:port][/path][?query]` or the `wss://` form. Also
    /// accepts `http://` and `https://` as their WebSocket equivalents. A
    /// fragment (`#...`) is refused (RFC 6455 3).
    pub fn parse(url: &str) -> Result<WsUrl, Error> {
        let bad = |why: &str| Error::Url(format!("{url:?}: {why}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            _ => return Err(bad("the scheme must be ws or wss")),
        };
        if rest.contains('#') {
            return Err(bad("a WebSocket URL has no fragment"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
            None if secure => 443,
            None => 80,
        };
        Ok(WsUrl {
            secure,
            host: host.to_owned(),
            port,
            target,
        })
    }

    /// The `Host` header: the host, with the port if it is not the default,
    /// an IPv6 address in brackets.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The `host:port` to connect to (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.target)
    }
}
