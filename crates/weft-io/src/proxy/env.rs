//! Choosing a proxy from the environment: the variables, their order,
//! `no_proxy`, and the loopback rule.

use std::net::IpAddr;

use super::{NoProxy, ProxyError, ProxyUrl};
use crate::WsUrl;

/// The variables read for a `ws://` destination, in order (curl's order,
/// with the WebSocket schemes' own first).
pub const WS_VARIABLES: [&str; 3] = ["ws_proxy", "http_proxy", "all_proxy"];

/// The variables read for a `wss://` destination, in order.
pub const WSS_VARIABLES: [&str; 3] = ["wss_proxy", "https_proxy", "all_proxy"];

/// The proxy the environment sets for `url`, through `lookup` (which reads
/// an environment variable; `std::env::var(name).ok()` in the adapters, a
/// map in tests).
///
/// - A loopback destination (`localhost`, a name under `.localhost`,
///   `127.0.0.0/8`, `::1`) never takes a proxy from the environment, as
///   in Go's `ProxyFromEnvironment`: a proxy elsewhere would reach its own
///   loopback, not this machine's.
/// - `no_proxy` (or `NO_PROXY`) lists destinations reached directly
///   ([`NoProxy`]).
/// - Otherwise the first variable set, of `wss_proxy`, `https_proxy`,
///   `all_proxy` for `wss://` and `ws_proxy`, `http_proxy`, `all_proxy` for
///   `ws://`, each name lowercase first, then uppercase. An empty value
///   counts as unset. Under CGI (`REQUEST_METHOD` set), `HTTP_PROXY` is
///   not read: it may be a request's `Proxy:` header (httpoxy).
///
/// A value that is not a proxy URL the adapters can use is an
/// [`ProxyError::InvalidUrl`] naming the variable, rather than a silent
/// direct connection.
pub fn proxy_from_env(
    url: &WsUrl,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<ProxyUrl>, ProxyError> {
    if is_loopback(&url.host) {
        return Ok(None);
    }
    // Under CGI a request's `Proxy:` header arrives as HTTP_PROXY
    // ("httpoxy", CVE-2016-5385): like Go and Python, ignore that one
    // spelling when REQUEST_METHOD says this is a CGI request.
    let cgi = lookup("REQUEST_METHOD").is_some();
    let get = |name: &str| {
        [name.to_owned(), name.to_ascii_uppercase()]
            .into_iter()
            .filter(|name| !(cgi && name == "HTTP_PROXY"))
            .find_map(|name| {
                lookup(&name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (name, value))
            })
    };
    if let Some((_, list)) = get("no_proxy") {
        if NoProxy::parse(&list).matches(&url.host, url.port) {
            return Ok(None);
        }
    }
    let variables = if url.secure {
        WSS_VARIABLES
    } else {
        WS_VARIABLES
    };
    for variable in variables {
        if let Some((name, value)) = get(variable) {
            return ProxyUrl::parse(&value).map(Some).map_err(|e| match e {
                ProxyError::InvalidUrl { problem, .. } => ProxyError::InvalidUrl {
                    variable: Some(name),
                    problem,
                },
                e => e,
            });
        }
    }
    Ok(None)
}

/// Whether `host` is this machine's loopback: `localhost` and the names
/// under it (RFC 6761 6.3), `127.0.0.0/8`, `::1`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    host.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn http_proxy_is_not_read_under_cgi() {
        let url = WsUrl::parse("ws://example.com/").unwrap();
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let plain = proxy_from_env(&url, env(&[("HTTP_PROXY", "http://p:1")])).unwrap();
        assert_eq!(plain.map(|p| p.port), Some(1));
        let cgi = proxy_from_env(
            &url,
            env(&[
                ("HTTP_PROXY", "http://attacker:1"),
                ("REQUEST_METHOD", "GET"),
            ]),
        )
        .unwrap();
        assert!(cgi.is_none());
        // The lowercase name is the process's own setting, even under CGI.
        let own = proxy_from_env(
            &url,
            env(&[("http_proxy", "http://p:2"), ("REQUEST_METHOD", "GET")]),
        )
        .unwrap();
        assert_eq!(own.map(|p| p.port), Some(2));
    }

    fn select(url: &str, vars: &[(&str, &str)]) -> Result<Option<String>, ProxyError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let url = WsUrl::parse(url).unwrap();
        proxy_from_env(&url, |name| vars.get(name).cloned()).map(|p| p.map(|p| p.to_string()))
    }

    #[test]
    fn the_websocket_variable_comes_first_then_http_then_all() {
        let all = [
            ("wss_proxy", "http://wss:1"),
            ("https_proxy", "http://https:1"),
            ("ws_proxy", "http://ws:1"),
            ("http_proxy", "http://http:1"),
            ("all_proxy", "socks5://all:1"),
        ];
        assert_eq!(
            select("wss://example.com", &all).unwrap().unwrap(),
            "http://wss:1"
        );
        assert_eq!(
            select("ws://example.com", &all).unwrap().unwrap(),
            "http://ws:1"
        );
        assert_eq!(
            select("wss://example.com", &all[1..]).unwrap().unwrap(),
            "http://https:1"
        );
        assert_eq!(
            select("ws://example.com", &all[3..]).unwrap().unwrap(),
            "http://http:1"
        );
        assert_eq!(
            select("ws://example.com", &all[4..]).unwrap().unwrap(),
            "socks5://all:1"
        );
        assert_eq!(
            select("wss://example.com", &all[4..]).unwrap().unwrap(),
            "socks5://all:1"
        );
        // http_proxy is not for wss://, https_proxy not for ws://.
        assert_eq!(
            select("wss://example.com", &[("http_proxy", "http://h:1")]).unwrap(),
            None
        );
        assert_eq!(
            select("ws://example.com", &[("https_proxy", "http://h:1")]).unwrap(),
            None
        );
        assert_eq!(select("ws://example.com", &[]).unwrap(), None);
    }

    #[test]
    fn lowercase_wins_over_uppercase_and_empty_is_unset() {
        let vars = [
            ("HTTP_PROXY", "http://upper:1"),
            ("http_proxy", "http://lower:1"),
        ];
        assert_eq!(
            select("ws://example.com", &vars).unwrap().unwrap(),
            "http://lower:1"
        );
        let vars = [("HTTP_PROXY", "http://upper:1"), ("http_proxy", " ")];
        assert_eq!(
            select("ws://example.com", &vars).unwrap().unwrap(),
            "http://upper:1"
        );
        let vars = [("ws_proxy", ""), ("http_proxy", "http://h:1")];
        assert_eq!(
            select("ws://example.com", &vars).unwrap().unwrap(),
            "http://h:1"
        );
    }

    #[test]
    fn no_proxy_sends_its_destinations_around_the_proxy() {
        let proxy = ("https_proxy", "http://p:1");
        for (list, url, direct) in [
            ("*", "wss://example.com", true),
            ("example.com", "wss://ws.example.com", true),
            (".example.com", "wss://example.com", true),
            ("example.com", "wss://notexample.com", false),
            ("example.com:8443", "wss://example.com", false),
            ("example.com:8443", "wss://example.com:8443", true),
            ("10.0.0.0/8", "wss://10.9.9.9", true),
            ("10.0.0.0/8", "wss://11.0.0.1", false),
        ] {
            let got = select(url, &[proxy, ("no_proxy", list)]).unwrap();
            assert_eq!(got.is_none(), direct, "{list} {url}");
            let got = select(url, &[proxy, ("NO_PROXY", list)]).unwrap();
            assert_eq!(got.is_none(), direct, "NO_PROXY {list} {url}");
        }
        // Lowercase wins here too.
        let got = select(
            url_str(),
            &[proxy, ("no_proxy", "other"), ("NO_PROXY", "*")],
        );
        assert!(got.unwrap().is_some());
    }

    fn url_str() -> &'static str {
        "wss://example.com"
    }

    #[test]
    fn loopback_never_takes_a_proxy_from_the_environment() {
        let vars = [
            ("all_proxy", "http://p:1"),
            ("ws_proxy", "http://p:1"),
            ("wss_proxy", "http://p:1"),
        ];
        for url in [
            "ws://localhost:9001",
            "wss://LOCALHOST.",
            "ws://app.localhost",
            "ws://127.0.0.1",
            "ws://127.8.9.10:80",
            "ws://[::1]:9001",
            "ws://[::ffff:127.0.0.1]",
        ] {
            assert_eq!(select(url, &vars).unwrap(), None, "{url}");
        }
        for host in ["localhost.example.com", "128.0.0.1", "::2", "mylocalhost"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable() {
        let e = select("wss://example.com", &[("HTTPS_PROXY", "https://p:1")]).unwrap_err();
        assert!(
            matches!(&e, ProxyError::InvalidUrl { variable: Some(v), .. } if v == "HTTPS_PROXY"),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("invalid proxy URL in $HTTPS_PROXY: "),
            "{e}"
        );
        assert!(!e.is_retryable());
    }
}
