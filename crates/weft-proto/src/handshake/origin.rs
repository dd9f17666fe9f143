//! Which origins a server lets connect ([`OriginPolicy`]): the defence
//! against cross-site WebSocket hijacking.

use super::decision::Reject;
use super::incoming::IncomingRequest;

/// Which web origins may open a WebSocket on a server.
///
/// Browsers send every WebSocket handshake with the cookies of the server's
/// site and an `Origin` header naming the page that opened it, and they do
/// not apply the same-origin policy to WebSockets. A server that
/// authenticates with cookies and accepts any origin lets any page the
/// user visits act as the user (cross-site WebSocket hijacking). Checking
/// `Origin` stops that (RFC 6455 10.2).
///
/// A request without `Origin` comes from a client that is not a browser,
/// which could send any `Origin` it liked: every policy lets it through.
/// The policy protects browser users; it does not authenticate anyone.
///
/// ```
/// use weft_proto::handshake::{Headers, IncomingRequest, OriginPolicy};
///
/// let request = |origin: &str| {
///     let headers: Headers = [
///         ("Host", "chat.example.com"),
///         ("Origin", origin),
///         ("Upgrade", "websocket"),
///         ("Connection", "Upgrade"),
///         ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
///         ("Sec-WebSocket-Version", "13"),
///     ]
///     .into_iter()
///     .collect();
///     IncomingRequest::http11("GET", "/", headers).unwrap()
/// };
/// let policy = OriginPolicy::SameHost;
/// assert!(policy.check(&request("https://chat.example.com")).is_ok());
/// assert_eq!(policy.check(&request("https://evil.example")).unwrap_err().status(), 403);
///
/// let policy = OriginPolicy::allow(["https://app.example.com"]);
/// assert!(policy.check(&request("https://app.example.com")).is_ok());
/// assert!(policy.check(&request("https://chat.example.com")).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Any origin (and none).
    Any,
    /// An origin whose host and port are the request's `Host` (or, over
    /// HTTP/2, `:authority`), the page's scheme giving the port when
    /// `Origin` names none: the page was served by this server. This is
    /// gorilla/websocket's default, and the default here.
    #[default]
    SameHost,
    /// These origins only, each a serialized origin as browsers send it
    /// (`https://app.example.com`, with `:port` if not the default),
    /// compared ignoring ASCII case.
    Allow(Vec<String>),
}

impl OriginPolicy {
    /// A policy that allows these origins only.
    pub fn allow<I, S>(origins: I) -> OriginPolicy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        OriginPolicy::Allow(origins.into_iter().map(Into::into).collect())
    }

    /// Whether `request`'s origin may connect: `Ok` or a 403 to answer with.
    pub fn check(&self, request: &IncomingRequest) -> Result<(), Reject> {
        let Some(origin) = request.origin() else {
            return Ok(());
        };
        if self.allows(origin, request.host()) {
            Ok(())
        } else {
            Err(Reject::new(403)
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(format!("origin {origin:?} may not open a WebSocket here\n")))
        }
    }

    /// Whether a page of `origin` may connect to a server reached as `host`.
    pub fn allows(&self, origin: &str, host: &str) -> bool {
        match self {
            OriginPolicy::Any => true,
            OriginPolicy::SameHost => same_host(origin, host),
            OriginPolicy::Allow(list) => {
                let origin = origin.trim_end_matches('/');
                list.iter()
                    .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
            }
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the same host and port
/// as `host` (`host[:port]`, a `Host` header or `:authority`).
fn same_host(origin: &str, host: &str) -> bool {
    // "null" (a sandboxed page, a file) and anything else without a scheme
    // names no host.
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "80",
        "https" | "wss" => "443",
        _ => return false,
    };
    let authority = authority.trim_end_matches('/');
    let (origin_host, origin_port) = split_port(authority);
    let (host, port) = split_port(host);
    // A Host without a port is the server's default port, which is the
    // page's default if the page was served by this server over the same
    // scheme; an explicit port must match whatever the scheme.
    let origin_port = origin_port.unwrap_or(default_port);
    let port = port.unwrap_or(default_port);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host) && origin_port == port
}

/// `host[:port]` split into the host and the port, if any; an IPv6
/// literal keeps its brackets.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let after_literal = match authority.strip_prefix('[') {
        Some(rest) => match rest.find(']') {
            Some(end) => end + 2,
            None => return (authority, None),
        },
        None => 0,
    };
    match authority[after_literal..].rfind(':') {
        Some(i) => {
            let i = after_literal + i;
            (&authority[..i], Some(&authority[i + 1..]))
        }
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_compares_host_and_port() {
        let p = OriginPolicy::SameHost;
        assert!(p.allows("https://example.com", "example.com"));
        assert!(p.allows("HTTPS://Example.COM", "example.com"));
        assert!(p.allows("http://example.com:8080", "example.com:8080"));
        assert!(p.allows("https://example.com", "example.com:443"));
        assert!(p.allows("http://[::1]:9001", "[::1]:9001"));
        assert!(!p.allows("http://example.com:8080", "example.com:9090"));
        assert!(!p.allows("http://example.com:8080", "example.com"));
        assert!(!p.allows("https://example.com.evil", "example.com"));
        assert!(!p.allows("https://evil.com", "example.com"));
        assert!(!p.allows("null", "example.com"));
        assert!(!p.allows("file://", "example.com"));
        assert!(!p.allows("https://example.com", ""));
        assert!(!p.allows("http://[::1]:9001", "[::2]:9001"));
    }

    #[test]
    fn allow_list_is_exact() {
        let p = OriginPolicy::allow(["https://a.example", "http://b.example:8080/"]);
        assert!(p.allows("https://A.example", "anything"));
        assert!(p.allows("http://b.example:8080", "anything"));
        assert!(!p.allows("https://b.example:8080", "anything"));
        assert!(!p.allows("https://a.example.evil", "anything"));
        assert!(OriginPolicy::Any.allows("null", "x"));
    }

    #[test]
    fn split_port_handles_literals() {
        assert_eq!(split_port("a:1"), ("a", Some("1")));
        assert_eq!(split_port("a"), ("a", None));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("[::1]:80"), ("[::1]", Some("80")));
        assert_eq!(split_port("[::1"), ("[::1", None));
    }
}
