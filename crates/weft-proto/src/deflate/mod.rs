//! permessage-deflate (RFC 7692): the policy, what was agreed, and
//! per-message compression.
//!
//! [`DeflateConfig`] in [`Config`](crate::Config) is the policy: what a
//! client offers, what a server accepts. The handshakes negotiate from it
//! and hand the agreed [`DeflateParams`] to the connection, which then
//! compresses messages it sends (RSV1) and inflates those it receives,
//! never past the message size limit, whatever the compression ratio. A
//! server's answer that the client's offer does not allow fails the
//! handshake with a [`NegotiationError`].
//!
//! zlib cannot compress with an 8-bit window. When a peer requires that of
//! us, the extension is accepted and our messages simply go out
//! uncompressed, which RFC 7692 allows; inflating with a 9-bit window reads
//! a peer's 8-bit stream.

mod codec;
mod negotiation;

pub(crate) use codec::{compress_alone, Deflate, TAIL};
pub use negotiation::NegotiationError;

use std::fmt;

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION: &str = "permessage-deflate";

/// The permessage-deflate policy of an endpoint.
///
/// As a client it is the offer; as a server, what it accepts and asks for.
/// A server's limit on the client's window applies only if the client's
/// offer says it supports `client_max_window_bits` (RFC 7692 7.1.2.2);
/// otherwise the client may use 2^15.
/// Memory per connection is about 390 KB with a 2^9 window and 650 KB with
/// 2^15 once both directions have been used, and nothing between messages
/// without context takeover (docs/deflate.md has the measured table); the
/// state is allocated only when first needed.
///
/// Numbers out of range are never refused: window bits are used as 9–15
/// and the level as 0–9, whether they were set with the builder methods or
/// assigned to the fields.
///
/// ```
/// use weft_proto::deflate::DeflateConfig;
/// let config = DeflateConfig::default()
///     .client_no_context_takeover(true)
///     .client_max_window_bits(10);
/// assert_eq!(
///     config.offer(),
///     "permessage-deflate; client_no_context_takeover; client_max_window_bits=10"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server resets its compressor after each message (it then keeps
    /// no compressor window between messages). Default: `false`.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message. Default: `false`.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, 9–15. Default: 15.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, 9–15. Default: 15.
    pub client_max_window_bits: u8,
    /// The compression level, 0–9. Default: 6.
    pub level: u32,
    /// Messages shorter than this many bytes go out uncompressed. Default: 64.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            threshold: 64,
        }
    }
}

impl DeflateConfig {
    /// See [`server_no_context_takeover`](Self::server_no_context_takeover).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// See [`client_no_context_takeover`](Self::client_no_context_takeover).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// See [`server_max_window_bits`](Self::server_max_window_bits); used
    /// clamped to 9–15.
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// See [`client_max_window_bits`](Self::client_max_window_bits); used
    /// clamped to 9–15.
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// See [`level`](Self::level); used clamped to 0–9.
    pub fn level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// See [`threshold`](Self::threshold).
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The settings as negotiation and the codec use them. The fields are
    /// public and may hold anything, so this is the one place their ranges
    /// are enforced; nothing reads the fields but through it.
    fn settings(&self) -> Settings {
        Settings {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits.clamp(9, 15),
            client_max_window_bits: self.client_max_window_bits.clamp(9, 15),
            level: self.level.min(9),
            threshold: self.threshold,
        }
    }
}

/// A [`DeflateConfig`] with its numbers in range, from
/// [`DeflateConfig::settings`].
#[derive(Clone, Copy, Debug)]
struct Settings {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// 9–15: zlib has no 8-bit window to compress with.
    server_max_window_bits: u8,
    /// 9–15.
    client_max_window_bits: u8,
    /// 0–9.
    level: u32,
    threshold: usize,
}

/// What both ends agreed to in the handshake (RFC 7692 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, 8–15.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, 8–15.
    pub client_max_window_bits: u8,
}

impl fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permessage-deflate (server window 2^{}{}, client window 2^{}{})",
            self.server_max_window_bits,
            if self.server_no_context_takeover {
                ", no context takeover"
            } else {
                ""
            },
            self.client_max_window_bits,
            if self.client_no_context_takeover {
                ", no context takeover"
            } else {
                ""
            },
        )
    }
}
