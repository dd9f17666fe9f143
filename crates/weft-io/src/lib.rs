//! What Weft's I/O adapters share: `ws://` and `wss://` URLs, masking keys
//! and nonces from the operating system, rustls configuration, the
//! [`Message`] type and the [`Error`] type.
//!
//! Applications use these through `weft-std` or `weft-tokio`, which
//! re-export them; nothing here does I/O on a connection. The protocol
//! itself lives in `weft-proto`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod keys;
mod message;
mod options;
#[cfg(feature = "tls")]
pub mod tls;
mod url;

pub use error::Error;
pub use keys::OsRandom;
pub use message::Message;
pub use options::ClientOptions;
pub use url::WsUrl;

pub use weft_proto;

/// The settings the adapters start from: [`weft_proto::Config`]'s defaults,
/// with permessage-deflate offered and accepted (feature `deflate`, on by
/// default) using [`DeflateConfig`](weft_proto::deflate::DeflateConfig)'s
/// defaults. `accept` and `ClientOptions::default()` use it; pass it to
/// `accept_with` to keep compression when changing other settings.
pub fn default_config() -> weft_proto::Config {
    let config = weft_proto::Config::default();
    #[cfg(feature = "deflate")]
    let config = config.deflate(Some(weft_proto::deflate::DeflateConfig::default()));
    config
}
