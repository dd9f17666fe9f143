//! Negotiating permessage-deflate (RFC 7692 5, 7.1): the client's offer,
//! the server's answer, the client's check of that answer, and
//! [`NegotiationError`], why an answer fails that check.

use std::fmt;

use super::{DeflateConfig, DeflateParams, EXTENSION};

/// Why a server's permessage-deflate response is not one the client's
/// offer allows; the client fails the handshake with it (RFC 7692 7.1).
///
/// The handshake reports it as
/// [`HandshakeError::InvalidExtension`](crate::HandshakeError::InvalidExtension),
/// whose [`source`](std::error::Error::source) it is.
///
/// ```
/// use weft_proto::deflate::DeflateConfig;
///
/// let offer = DeflateConfig::default().server_max_window_bits(10);
/// let err = offer
///     .accept_response("permessage-deflate; server_max_window_bits=12")
///     .unwrap_err();
/// assert_eq!(err.response(), "permessage-deflate; server_max_window_bits=12");
/// assert_eq!(err.problem(), "server_max_window_bits above the one offered");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiationError {
    response: String,
    problem: &'static str,
}

impl NegotiationError {
    pub(crate) fn new(response: &str, problem: &'static str) -> Self {
        NegotiationError {
            response: response.to_owned(),
            problem,
        }
    }

    /// The response item, as the server sent it.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &'static str {
        self.problem
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.response, self.problem)
    }
}

impl std::error::Error for NegotiationError {}

impl DeflateConfig {
    /// The client's offer, for `Sec-WebSocket-Extensions`. It always
    /// says `client_max_window_bits` (with our limit if below 15), so a
    /// server may ask for a smaller client window.
    pub fn offer(&self) -> String {
        let this = self.settings();
        let mut offer = String::from(EXTENSION);
        if this.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        if this.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if this.server_max_window_bits < 15 {
            offer.push_str(&format!(
                "; server_max_window_bits={}",
                this.server_max_window_bits
            ));
        }
        if this.client_max_window_bits < 15 {
            offer.push_str(&format!(
                "; client_max_window_bits={}",
                this.client_max_window_bits
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

    fn accept_offer(&self, offer: &str) -> Option<(DeflateParams, String)> {
        let this = self.settings();
        // RFC 7692 7: "A server MUST decline an extension negotiation offer
        // for this extension if any of the following conditions are met":
        // `parse` and the match below find them; any well-formed offer is
        // one this server can honour.
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
        // RFC 7692 7.1.2.2: "If a received extension negotiation offer
        // doesn't have the "client_max_window_bits" extension parameter, the
        // corresponding extension negotiation response to the offer MUST NOT
        // include the "client_max_window_bits" extension parameter."
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
        // RFC 7692 7.1.2.1: "A server accepts an extension negotiation offer
        // with this parameter by including the "server_max_window_bits"
        // extension parameter in the extension negotiation response to send
        // back to the client with the same or smaller value as the offer."
        // We also say it when we use a smaller window than 15 unasked.
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
    pub fn accept_response(&self, response: &str) -> Result<DeflateParams, NegotiationError> {
        // RFC 7692 7: "A client MUST _Fail the WebSocket Connection_ if the
        // peer server accepted an extension negotiation offer for this
        // extension with an extension negotiation response meeting any of
        // the following conditions", each refused below.
        let this = self.settings();
        let bad = |problem| NegotiationError::new(response, problem);
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
        // These two in the offer constrain the server: a response without
        // them accepts a configuration the client never offered.
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
                // RFC 7692 7.1.2.1, 7.1.2.2: "a decimal integer value without
                // leading zeroes between 8 to 15", inclusive, and no sign.
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
