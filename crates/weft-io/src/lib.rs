//! What Weft's I/O adapters share: `ws://` and `wss://` URLs, masking keys
//! and nonces from the operating system, rustls configuration, the
//! [`Message`] type and the [`Error`] type, and the pieces of an adapter's
//! loop that do not depend on how it does I/O: what an event is to a reader
//! ([`Incoming`]), the command a message stands for ([`Message::send_on`]),
//! which transport errors are the peer going away ([`is_abrupt_close`]).
//!
//! Applications use these through `weft-std` or `weft-tokio`, which
//! re-export them; nothing here does I/O on a connection. The protocol
//! itself lives in `weft-proto`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod incoming;
mod keys;
mod message;
mod options;
#[cfg(feature = "tls")]
pub mod tls;
mod transport_errors;
mod url;

pub use error::Error;
pub use incoming::Incoming;
pub use keys::OsRandom;
pub use message::Message;
pub use options::ClientOptions;
pub use transport_errors::is_abrupt_close;
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
