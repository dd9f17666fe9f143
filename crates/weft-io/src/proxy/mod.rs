//! Client-side proxies: HTTP `CONNECT` and SOCKS5 tunnels, chosen
//! explicitly or from the environment.
//!
//! - [`Proxy`] is a client's setting ([`ClientOptions::proxy`](crate::ClientOptions::proxy)):
//!   from the environment (the default), none, or a [`ProxyUrl`].
//! - [`proxy_from_env`] reads `wss_proxy`/`ws_proxy`, then
//!   `https_proxy`/`http_proxy`, then `all_proxy`, honouring `no_proxy`
//!   ([`NoProxy`]); a loopback destination never takes a proxy from the
//!   environment.
//! - [`HttpConnect`] (RFC 9110 9.3.6, Basic credentials) and [`Socks5`]
//!   (RFC 1928, RFC 1929 credentials) are the handshakes, sans-IO like
//!   weft-proto's: bytes in, bytes out, no I/O, no clock.
//!   [`ProxyHandshake`] puts them behind one interface for the adapters.
//! - [`ProxyError`] says what went wrong and what to try.
//!
//! Once the tunnel is open, the adapters run TLS (for `wss://`, with the
//! destination's name) and the WebSocket handshake through it, as over a
//! direct connection; the proxy sees only encrypted bytes for `wss://`.
//! docs/proxies.md has the whole story.

mod env;
mod error;
mod handshake;
mod http_connect;
mod no_proxy;
mod setting;
mod socks5;
mod url;

pub use env::{is_loopback, proxy_from_env, WSS_VARIABLES, WS_VARIABLES};
pub use error::ProxyError;
pub use handshake::{Progress, ProxyHandshake, Target};
pub use http_connect::{HttpConnect, MAX_HEAD, MAX_HEADERS};
pub use no_proxy::NoProxy;
pub use setting::Proxy;
pub use socks5::Socks5;
pub use url::{ProxyCredentials, ProxyScheme, ProxyUrl};
