//! [`Proxy`]: a client's proxy setting, and the proxy it gives for a
//! destination.

use super::{proxy_from_env, ProxyError, ProxyUrl};
use crate::WsUrl;

/// How a client reaches its server: through the proxy the environment
/// sets (the default), directly, or through a given proxy.
///
/// ```
/// use weft_io::proxy::Proxy;
/// use weft_io::WsUrl;
///
/// let proxy = Proxy::url("socks5h://127.0.0.1:1080").unwrap();
/// let url = WsUrl::parse("wss://example.com/chat").unwrap();
/// assert_eq!(proxy.select(&url).unwrap().unwrap().to_string(), "socks5h://127.0.0.1:1080");
/// assert_eq!(Proxy::None.select(&url).unwrap(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// The proxy the environment sets for the destination
    /// ([`proxy_from_env`]: `wss_proxy`/`ws_proxy`, then
    /// `https_proxy`/`http_proxy`, then `all_proxy`, honouring `no_proxy`;
    /// never for a loopback destination).
    #[default]
    FromEnv,
    /// No proxy, whatever the environment says.
    None,
    /// This proxy, for every destination (loopback included, and
    /// whatever `no_proxy` says).
    Url(ProxyUrl),
}

impl Proxy {
    /// A proxy given by its URL (`http://`, `socks5://`, `socks5h://`).
    pub fn url(url: &str) -> Result<Proxy, ProxyError> {
        ProxyUrl::parse(url).map(Proxy::Url)
    }

    /// The proxy to use for `url`, if any, reading the process's
    /// environment for [`Proxy::FromEnv`].
    pub fn select(&self, url: &WsUrl) -> Result<Option<ProxyUrl>, ProxyError> {
        self.select_with(url, |name| std::env::var(name).ok())
    }

    /// [`select`](Self::select) with the environment read through `lookup`.
    pub fn select_with(
        &self,
        url: &WsUrl,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<ProxyUrl>, ProxyError> {
        match self {
            Proxy::FromEnv => proxy_from_env(url, lookup),
            Proxy::None => Ok(None),
            Proxy::Url(proxy) => Ok(Some(proxy.clone())),
        }
    }
}

impl From<ProxyUrl> for Proxy {
    fn from(url: ProxyUrl) -> Proxy {
        Proxy::Url(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_selects_as_it_says() {
        let env = |name: &str| (name == "http_proxy").then(|| "http://env:1".to_owned());
        let remote = WsUrl::parse("ws://example.com").unwrap();
        let local = WsUrl::parse("ws://127.0.0.1:9001").unwrap();
        let from_env = Proxy::default();
        assert_eq!(from_env, Proxy::FromEnv);
        assert_eq!(
            from_env.select_with(&remote, env).unwrap().unwrap().host,
            "env"
        );
        assert_eq!(from_env.select_with(&local, env).unwrap(), None);
        assert_eq!(Proxy::None.select_with(&remote, env).unwrap(), None);
        // An explicit proxy is used even for loopback.
        let explicit = Proxy::url("socks5://p:2").unwrap();
        assert_eq!(
            explicit.select_with(&local, env).unwrap().unwrap().host,
            "p"
        );
    }
}
