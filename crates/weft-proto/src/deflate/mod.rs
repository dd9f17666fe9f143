//! permessage-deflate (RFC 7692): negotiation, and per-message compression.
//!
//! [`DeflateConfig`] in [`Config`](crate::Config) is the policy: what a
//! client offers, what a server accepts. The handshakes negotiate from it
//! and hand the agreed [`DeflateParams`] to the connection, which then
//! compresses messages it sends (RSV1) and inflates those it receives,
//! never past the message size limit, whatever the compression ratio.
//!
//! zlib cannot compress with an 8-bit window. When a peer requires that of
//! us, the extension is accepted and our messages simply go out
//! uncompressed, which RFC 7692 allows; inflating with a 9-bit window reads
//! a peer's 8-bit stream.

mod codec;

pub(crate) use codec::{Deflate, TAIL};

use std::fmt;

use crate::handshake::HandshakeError;

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

    /// See [`server_max_window_bits`](Self::server_max_window_bits); clamped to 9–15.
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// See [`client_max_window_bits`](Self::client_max_window_bits); clamped to 9–15.
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// See [`level`](Self::level); clamped to 0–9.
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// See [`threshold`](Self::threshold).
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The client's offer, for `Sec-WebSocket-Extensions`. It always
    /// says `client_max_window_bits` (with our limit if below 15), so a
    /// server may ask for a smaller client window.
    pub fn offer(&self) -> String {
        let config = self.clamped();
        let mut offer = String::from(EXTENSION);
        if config.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        if config.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if config.server_max_window_bits < 15 {
            offer.push_str(&format!(
                "; server_max_window_bits={}",
                config.server_max_window_bits
            ));
        }
        if config.client_max_window_bits < 15 {
            offer.push_str(&format!(
                "; client_max_window_bits={}",
                config.client_max_window_bits
            ));
        } else {
            offer.push_str("; client_max_window_bits");
        }
        offer
    }

    /// A server's choice among a request's extension offers (each item of
    /// `Sec-WebSocket-Extensions`, in the client's order): the first
    /// permessage-deflate offer it can accept, with the response to send.
    /// Offers that are malformed or that it cannot honour are declined
    /// (RFC 7692 5, 7.1).
    pub fn negotiate<'a>(
        &self,
        offers: impl IntoIterator<Item = &'a str>,
    ) -> Option<(DeflateParams, String)> {
        offers
            .into_iter()
            .find_map(|offer| self.accept_offer(offer))
    }

    /// The settings with the public fields brought into range (9–15 bits,
    /// level 0–9), whatever was assigned to them.
    fn clamped(&self) -> DeflateConfig {
        DeflateConfig {
            server_max_window_bits: self.server_max_window_bits.clamp(9, 15),
            client_max_window_bits: self.client_max_window_bits.clamp(9, 15),
            level: self.level.min(9),
            ..self.clone()
        }
    }

    fn accept_offer(&self, offer: &str) -> Option<(DeflateParams, String)> {
        let this = self.clamped();
        let params = parse(offer)?;
        let mut agreed = DeflateParams {
            server_no_context_takeover: this.server_no_context_takeover,
            client_no_context_takeover: this.client_no_context_takeover,
            server_max_window_bits: this.server_max_window_bits,
            client_max_window_bits: 15,
        };
        let mut server_bits_asked = false;
        let mut client_bits_supported = false;
        for (key, value) in params {
            match (key, value) {
                (Key::ServerNoContextTakeover, None) => agreed.server_no_context_takeover = true,
                (Key::ClientNoContextTakeover, None) => agreed.client_no_context_takeover = true,
                (Key::ServerMaxWindowBits, Some(bits)) => {
                    server_bits_asked = true;
                    agreed.server_max_window_bits = agreed.server_max_window_bits.min(bits);
                }
                (Key::ClientMaxWindowBits, bits) => {
                    client_bits_supported = true;
                    agreed.client_max_window_bits = bits.unwrap_or(15);
                }
                // A value where none belongs, or none where one must be.
                _ => return None,
            }
        }
        // RFC 7692 7.1.2.2: the server may limit the client's window only if
        // the client said it supports the parameter.
        let limit_client =
            client_bits_supported && this.client_max_window_bits < agreed.client_max_window_bits;
        if limit_client {
            agreed.client_max_window_bits = this.client_max_window_bits;
        }
        let mut response = String::from(EXTENSION);
        if agreed.server_no_context_takeover {
            response.push_str("; server_no_context_takeover");
        }
        if agreed.client_no_context_takeover {
            response.push_str("; client_no_context_takeover");
        }
        // RFC 7692 7.1.2.1: an offer's server_max_window_bits is accepted by
        // answering with it; we also say it when we use a smaller window.
        if server_bits_asked || agreed.server_max_window_bits < 15 {
            response.push_str(&format!(
                "; server_max_window_bits={}",
                agreed.server_max_window_bits
            ));
        }
        if limit_client {
            response.push_str(&format!(
                "; client_max_window_bits={}",
                agreed.client_max_window_bits
            ));
        }
        Some((agreed, response))
    }

    /// A client's check of the server's response item for the offer this
    /// config made (RFC 7692 7.1): the agreed parameters, or why the
    /// response is not one this offer allows.
    pub fn accept_response(&self, response: &str) -> Result<DeflateParams, HandshakeError> {
        let this = self.clamped();
        let bad = |why: &str| HandshakeError::InvalidExtension(format!("{response:?}: {why}"));
        let params = parse(response).ok_or_else(|| bad("malformed or unknown parameters"))?;
        let mut agreed = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: this.client_no_context_takeover,
            server_max_window_bits: 15,
            client_max_window_bits: this.client_max_window_bits,
        };
        let mut server_bits_answered = false;
        for (key, value) in params {
            match (key, value) {
                (Key::ServerNoContextTakeover, None) => agreed.server_no_context_takeover = true,
                (Key::ClientNoContextTakeover, None) => agreed.client_no_context_takeover = true,
                (Key::ServerMaxWindowBits, Some(bits)) => {
                    if bits > this.server_max_window_bits {
                        return Err(bad("server_max_window_bits above the one offered"));
                    }
                    server_bits_answered = true;
                    agreed.server_max_window_bits = bits;
                }
                (Key::ClientMaxWindowBits, Some(bits)) => {
                    if bits > this.client_max_window_bits {
                        return Err(bad("client_max_window_bits above the one offered"));
                    }
                    agreed.client_max_window_bits = bits;
                }
                _ => return Err(bad("a parameter with a missing or unexpected value")),
            }
        }
        if this.server_no_context_takeover && !agreed.server_no_context_takeover {
            return Err(bad(
                "server_no_context_takeover was offered but not accepted",
            ));
        }
        if this.server_max_window_bits < 15 && !server_bits_answered {
            return Err(bad("server_max_window_bits was offered but not accepted"));
        }
        Ok(agreed)
    }
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    ServerNoContextTakeover,
    ClientNoContextTakeover,
    ServerMaxWindowBits,
    ClientMaxWindowBits,
}

/// Parses `permessage-deflate; key[=value]; ...` (RFC 7692 5, with the
/// token and quoted-string values of RFC 6455 9.1). `None` if the item is
/// another extension, or has an unknown or repeated parameter or a window
/// size outside 8–15.
fn parse(item: &str) -> Option<Vec<(Key, Option<u8>)>> {
    let mut parts = item.split(';').map(|p| p.trim_matches([' ', '\t']));
    if !parts.next()?.eq_ignore_ascii_case(EXTENSION) {
        return None;
    }
    let mut params: Vec<(Key, Option<u8>)> = Vec::new();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (
                n.trim_matches([' ', '\t']),
                Some(v.trim_matches([' ', '\t'])),
            ),
            None => (part, None),
        };
        let key = match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => Key::ServerNoContextTakeover,
            "client_no_context_takeover" => Key::ClientNoContextTakeover,
            "server_max_window_bits" => Key::ServerMaxWindowBits,
            "client_max_window_bits" => Key::ClientMaxWindowBits,
            _ => return None,
        };
        if params.iter().any(|(k, _)| *k == key) {
            return None;
        }
        let value = match value {
            None => None,
            Some(v) => {
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                // RFC 7692 7.1.2: a decimal from 8 to 15, no leading zeros
                // (and no sign).
                if v.len() > 2 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                match v.parse::<u8>() {
                    Ok(bits @ 8..=15) => Some(bits),
                    _ => return None,
                }
            }
        };
        params.push((key, value));
    }
    Some(params)
}
