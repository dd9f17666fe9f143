//! What Weft's I/O adapters share: `ws://` and `wss://` URLs, masking keys
//! and nonces from the operating system, rustls configuration, the
//! [`Message`] type and the [`Error`] type, the [`proxy`] handshakes
//! (HTTP `CONNECT`, SOCKS5) and their selection, and the pieces of an adapter's
//! loop that do not depend on how it does I/O: what an event is to a reader
//! ([`Incoming`]), the command a message stands for ([`Message::send_on`]),
//! which transport errors are the peer going away ([`is_abrupt_close`]).
//! [`reconnect`] holds the runtime-free core of the reconnecting clients:
//! backoff, the retry decision, and the send queue that outlives each
//! connection.
//!
//! Applications use these through `weft-std` or `weft-tokio`, which
//! re-export them; nothing here does I/O on a connection. The protocol
//! itself lives in `weft-proto`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
#[cfg(feature = "http")]
mod http_request;
mod incoming;
mod keys;
mod message;
mod options;
pub mod proxy;
pub mod reconnect;
mod retry_after;
pub mod span;
#[cfg(feature = "tls")]
pub mod tls;
mod tls_error;
mod transport_errors;
mod url;

pub use error::Error;
pub use incoming::Incoming;
pub use keys::OsRandom;
pub use message::Message;
pub use options::ClientOptions;
pub use proxy::{Proxy, ProxyError, ProxyUrl};
pub use tls_error::{TlsError, TlsErrorKind};
pub use transport_errors::is_abrupt_close;
pub use url::WsUrl;

pub use weft_proto;

/// How long a connection may be silent before a keepalive ping, and how
/// long that ping's pong may take, in the adapters' defaults: 20 s each, as
/// python-websockets has them. A peer that has died without closing (a
/// laptop gone to sleep, a cut cable, a proxy dropping the connection) is
/// found within 40 s and the connection fails with 1011.
pub const DEFAULT_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(20);

/// The settings the adapters start from: [`weft_proto::Config`]'s defaults,
/// with a keepalive ping after [`DEFAULT_KEEPALIVE`] of silence and as long
/// for its pong, and permessage-deflate offered and accepted (feature
/// `deflate`, on by default) using
/// [`DeflateConfig`](weft_proto::deflate::DeflateConfig)'s defaults.
/// `accept` and `ClientOptions::default()` use it; pass it to `accept_with`
/// to keep these when changing other settings.
///
/// ```
/// let config = weft_io::default_config();
/// assert_eq!(config.keepalive_interval, Some(weft_io::DEFAULT_KEEPALIVE));
/// assert_eq!(config.pong_timeout, weft_io::DEFAULT_KEEPALIVE);
/// ```
pub fn default_config() -> weft_proto::Config {
    let config =
        weft_proto::Config::default().keepalive(Some(DEFAULT_KEEPALIVE), DEFAULT_KEEPALIVE);
    #[cfg(feature = "deflate")]
    let config = config.deflate(Some(weft_proto::deflate::DeflateConfig::default()));
    config
}
