//! Options for connecting as a client.

use std::time::Duration;

use weft_proto::handshake::OutgoingRequest;
use weft_proto::Config;

use crate::proxy::Proxy;
use crate::WsUrl;

/// How a client connects: protocol settings, what the handshake asks for,
/// TLS, the connect timeout, and the proxy.
///
/// ```
/// use std::time::Duration;
/// use weft_io::ClientOptions;
/// use weft_proto::Config;
///
/// let options = ClientOptions::new()
///     .config(Config::default().max_message_size(1 << 20))
///     .subprotocol("chat.v1")
///     .header("Authorization", "Bearer t0ken")
///     .connect_timeout(Some(Duration::from_secs(5)))
///     .proxy(weft_io::Proxy::url("http://proxy.corp:3128")?);
/// # let _ = options;
/// # Ok::<(), weft_io::ProxyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Limits, timers and compression for the handshake and the connection
    /// (the handshake timeout bounds the whole opening: TCP, TLS and HTTP).
    /// Default: [`default_config`](crate::default_config), which offers
    /// permessage-deflate.
    pub config: Config,
    /// Subprotocols to offer, most preferred first.
    pub subprotocols: Vec<String>,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// How long establishing the TCP connection may take (to the proxy,
    /// with one). Default: 10 s.
    pub connect_timeout: Option<Duration>,
    /// The proxy to go through. Default: [`Proxy::FromEnv`], the one the
    /// environment sets (`wss_proxy`, `https_proxy`, ... and `no_proxy`;
    /// never for a loopback destination).
    pub proxy: Proxy,
    /// The rustls configuration for `wss://`; default:
    /// [`tls::client_config`](crate::tls::client_config).
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            config: crate::default_config(),
            subprotocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            connect_timeout: Some(Duration::from_secs(10)),
            proxy: Proxy::FromEnv,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientOptions {
    /// Default options.
    pub fn new() -> Self {
        ClientOptions::default()
    }

    /// Sets the protocol settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Offers a subprotocol; call again to offer more.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the TCP connect timeout (`None`: the system's).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Goes through this proxy ([`Proxy::url`] parses one; `Proxy::None`
    /// goes direct, as [`no_proxy`](Self::no_proxy) does).
    pub fn proxy(mut self, proxy: impl Into<Proxy>) -> Self {
        self.proxy = proxy.into();
        self
    }

    /// Connects directly, whatever the environment's proxy variables say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = Proxy::None;
        self
    }

    /// Uses this rustls configuration for `wss://`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The handshake request for `url` with these options.
    pub fn request(&self, url: &WsUrl) -> OutgoingRequest {
        let mut request = OutgoingRequest::new(url.host_header(), url.target.clone());
        if let Some(origin) = &self.origin {
            request = request.origin(origin.clone());
        }
        for protocol in &self.subprotocols {
            request = request.subprotocol(protocol.clone());
        }
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        request
    }
}
