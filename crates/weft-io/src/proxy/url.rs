//! [`ProxyUrl`]: where a proxy is, what it speaks, and the credentials it
//! wants.

use std::fmt;

use super::ProxyError;

/// The protocol a proxy speaks, from its URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyScheme {
    /// `http://`: an HTTP proxy, asked with `CONNECT host:port`
    /// (RFC 9110 9.3.6); the proxy resolves the host name.
    Http,
    /// `socks5://`: SOCKS version 5 (RFC 1928); the client resolves the
    /// host name and sends the address.
    Socks5,
    /// `socks5h://`: SOCKS version 5 with the host name sent as it is, for
    /// the proxy to resolve (names only the proxy's network knows).
    Socks5h,
}

impl ProxyScheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    /// The port when the URL gives none: 80 for `http://` (RFC 9110 4.2.1;
    /// most proxies listen elsewhere, so give the port), 1080 for SOCKS
    /// (RFC 1928 3).
    pub fn default_port(self) -> u16 {
        match self {
            ProxyScheme::Http => 80,
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => 1080,
        }
    }

    /// Whether the client resolves the destination's name itself before
    /// asking the proxy (`socks5://`).
    pub fn resolves_locally(self) -> bool {
        self == ProxyScheme::Socks5
    }
}

/// A user name and password for the proxy, from the URL's userinfo.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyCredentials {
    /// The user name, percent-decoded.
    pub username: String,
    /// The password, percent-decoded (empty when the URL has none).
    pub password: String,
}

/// The password stays out of logs.
impl fmt::Debug for ProxyCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyCredentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A parsed proxy URL: `http://`, `socks5://` or `socks5h://`, with
/// optional credentials.
///
/// ```
/// use weft_io::proxy::{ProxyScheme, ProxyUrl};
///
/// let proxy = ProxyUrl::parse("http://alice:p%40ss@proxy.corp:3128").unwrap();
/// assert_eq!(proxy.scheme, ProxyScheme::Http);
/// assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.corp", 3128));
/// let credentials = proxy.credentials.as_ref().unwrap();
/// assert_eq!((credentials.username.as_str(), credentials.password.as_str()), ("alice", "p@ss"));
/// // The password never shows.
/// assert_eq!(proxy.to_string(), "http://alice:***@proxy.corp:3128");
///
/// let proxy = ProxyUrl::parse("socks5h://[::1]").unwrap();
/// assert_eq!((proxy.host.as_str(), proxy.port), ("::1", 1080));
/// assert!(ProxyUrl::parse("https://proxy.corp").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProxyUrl {
    /// What the proxy speaks.
    pub scheme: ProxyScheme,
    /// The proxy's host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The proxy's port: the one given, or the scheme's default.
    pub port: u16,
    /// The user name and password, if the URL has them.
    pub credentials: Option<ProxyCredentials>,
}

impl ProxyUrl {
    /// Parses `scheme://[user[:password]@]host[:port][/]`. The scheme is
    /// `http`, `socks5` or `socks5h`; a URL without one (`proxy.corp:3128`,
    /// as environment variables often hold) is `http`. `https://` (TLS to
    /// the proxy) and other schemes are refused with an error that says
    /// so. The userinfo is percent-decoded.
    pub fn parse(raw: &str) -> Result<ProxyUrl, ProxyError> {
        let bad = |problem: String| ProxyError::InvalidUrl {
            variable: None,
            problem,
        };
        let raw = raw.trim();
        // Messages show the URL with its password masked, whatever broke.
        let shown = redacted(raw);
        let url = shown.as_str();
        let (scheme, rest) = match raw.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), raw),
        };
        let scheme = match scheme.as_str() {
            "http" => ProxyScheme::Http,
            "socks5" => ProxyScheme::Socks5,
            "socks5h" => ProxyScheme::Socks5h,
            "https" => {
                return Err(bad(format!(
                    "{url:?}: HTTPS proxies (TLS to the proxy) are not supported; \
                     an http:// proxy still carries wss:// encrypted end to end"
                )))
            }
            other => {
                return Err(bad(format!(
                    "{url:?}: the scheme {other:?} is not supported (http, socks5, socks5h)"
                )))
            }
        };
        // A trailing "/" (as in "http://proxy:3128/") is common and harmless;
        // a path or query is not something a proxy URL has.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(bad(format!("{url:?}: a proxy URL has no path")));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let credentials = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s: &str| {
                    percent_decode(s).ok_or_else(|| {
                        bad(format!("{url:?}: bad percent-encoding in the userinfo"))
                    })
                };
                Some(ProxyCredentials {
                    username: decode(user)?,
                    password: decode(password)?,
                })
            }
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad(format!("{url:?}: unclosed [")))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad(format!("{url:?}: junk after ]")))?,
                    ),
                ),
            }
        } else {
            match hostport.rsplit_once(':') {
                // An IPv6 address must be in brackets: "::1" would read
                // as host "::" and port 1.
                Some((host, _)) if host.contains(':') => {
                    return Err(bad(format!("{url:?}: an IPv6 address goes in brackets")))
                }
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad(format!("{url:?}: no host")));
        }
        let port = match port {
            Some(p) => Some(p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|&p| p != 0)
                .ok_or_else(|| bad(format!("{url:?}: invalid port")))?,
            None => scheme.default_port(),
        };
        Ok(ProxyUrl {
            scheme,
            host: host.to_owned(),
            port,
            credentials,
        })
    }

    /// The `host:port` to connect to (IPv6 in brackets).
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `host:port`, an IPv6 address in brackets.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The URL with the password replaced by `***`, for messages and logs.
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if let Some(credentials) = &self.credentials {
            write!(f, "{}:***@", credentials.username)?;
        }
        f.write_str(&self.authority())
    }
}

/// `url` with the password of its userinfo (what follows the first `:`
/// before the last `@`) replaced by `***`, for error messages.
fn redacted(url: &str) -> String {
    let (prefix, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (&url[..scheme.len() + 3], rest),
        None => ("", url),
    };
    match rest.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{prefix}{user}:***@{hostport}")
        }
        None => url.to_owned(),
    }
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_shows_the_password() {
        for url in [
            "http://alice:s3cret@proxy:x",
            "http://alice:s3/cret@proxy:3128",
            "http://alice:s3cret@proxy:3128/path",
            "https://alice:s3cret@proxy:3128",
            "ftp://alice:s3cret@proxy",
            "http://alice:s3cr%zzet@proxy",
            "socks5://alice:s3cret@::1",
            "http://alice:s3cret@:80",
            "http://alice:s3cret@proxy:+80",
        ] {
            let error = ProxyUrl::parse(url).expect_err(url).to_string();
            assert!(!error.contains("s3"), "{url}: {error}");
            assert!(error.contains("alice:***@"), "{url}: {error}");
        }
    }

    #[test]
    fn signs_and_unbracketed_ipv6_are_refused() {
        assert!(ProxyUrl::parse("socks5://::1").is_err());
        assert!(ProxyUrl::parse("socks5://[::1]").is_ok());
        assert!(ProxyUrl::parse("http://proxy:+80").is_err());
        assert!(ProxyUrl::parse("http://a%+f@proxy").is_err());
        // No scheme: http, credentials and all.
        let bare = ProxyUrl::parse("alice:s3cret@proxy.corp:3128").unwrap();
        assert_eq!(bare.credentials.unwrap().password, "s3cret");
    }

    #[test]
    fn each_scheme_parses_with_its_default_port() {
        let p = ProxyUrl::parse("http://proxy").unwrap();
        assert_eq!(
            (p.scheme, p.port, p.credentials),
            (ProxyScheme::Http, 80, None)
        );
        let p = ProxyUrl::parse("SOCKS5://10.0.0.1").unwrap();
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port),
            (ProxyScheme::Socks5, "10.0.0.1", 1080)
        );
        let p = ProxyUrl::parse("socks5h://proxy:9050/").unwrap();
        assert_eq!((p.scheme, p.port), (ProxyScheme::Socks5h, 9050));
        assert!(!p.scheme.resolves_locally() && ProxyScheme::Socks5.resolves_locally());
    }

    #[test]
    fn a_url_without_a_scheme_is_an_http_proxy() {
        let p = ProxyUrl::parse("proxy.corp:3128").unwrap();
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port),
            (ProxyScheme::Http, "proxy.corp", 3128)
        );
    }

    #[test]
    fn userinfo_is_percent_decoded_and_the_password_hidden() {
        let p = ProxyUrl::parse("socks5://us%65r:p%3Ass%40word@[2001:db8::1]:1081").unwrap();
        let c = p.credentials.as_ref().unwrap();
        assert_eq!(c.username, "user");
        assert_eq!(c.password, "p:ss@word");
        assert_eq!(p.host, "2001:db8::1");
        assert_eq!(p.to_string(), "socks5://user:***@[2001:db8::1]:1081");
        assert!(!format!("{p:?}").contains("p:ss"));
        let p = ProxyUrl::parse("http://user@proxy:1").unwrap();
        assert_eq!(p.credentials.unwrap().password, "");
    }

    #[test]
    fn unusable_urls_are_refused_with_the_reason() {
        for (url, why) in [
            ("https://proxy:3128", "HTTPS proxies"),
            ("socks4://proxy", "not supported"),
            ("http://", "no host"),
            ("http://proxy:99999", "invalid port"),
            ("http://proxy:0", "invalid port"),
            ("http://proxy:x", "invalid port"),
            ("http://proxy/path", "no path"),
            ("http://[::1", "unclosed"),
            ("http://[::1]x", "junk"),
            ("http://a%zz@proxy", "percent-encoding"),
            ("http://a%ff@proxy", "percent-encoding"),
            ("http://a%f@proxy", "percent-encoding"),
        ] {
            let e = ProxyUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }
}
