//! The server's 101 response as the client checks it: [`Acceptance`], and
//! the checks of RFC 6455 4.1 (and RFC 7692 for permessage-deflate) that
//! make one.

use super::outgoing::OutgoingRequest;
use super::{accept_key, extension_name, HandshakeError, Headers};
use crate::config::Config;

/// The server's 101 response, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    headers: Headers,
    subprotocol: Option<String>,
    extensions: Vec<String>,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateParams>,
}

impl Acceptance {
    /// Every header field of the response.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol the server chose, one of those offered.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, each as sent.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The permessage-deflate parameters agreed, if the server accepted it.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::deflate::DeflateParams> {
        self.deflate.as_ref()
    }
}

/// RFC 6455 4.1: "The client MUST validate the server's response as
/// follows", for a 101 response to `request`, sent with `key` and `config`.
#[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
pub(super) fn validate(
    headers: Headers,
    key: &str,
    request: &OutgoingRequest,
    config: &Config,
) -> Result<Acceptance, HandshakeError> {
    // RFC 6455 4.1: "If the response lacks an |Upgrade| header field or the
    // |Upgrade| header field contains a value that is not an ASCII
    // case-insensitive match for the value "websocket", the client MUST
    // _Fail the WebSocket Connection_", and the same of a |Connection|
    // header field without the token "Upgrade".
    headers.check_upgrade()?;
    // RFC 6455 4.1: "If the response lacks a |Sec-WebSocket-Accept| header
    // field or the |Sec-WebSocket-Accept| contains a value other than the
    // base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key|
    // (as a string, not base64-decoded) with the string
    // "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" [...] the client MUST _Fail the
    // WebSocket Connection_." 11.3.3: "The |Sec-WebSocket-Accept| header
    // MUST NOT appear more than once in an HTTP response."
    match headers.single("Sec-WebSocket-Accept")? {
        Some(accept) if accept == accept_key(key.as_bytes()).as_bytes() => {}
        Some(_) => return Err(HandshakeError::WrongAccept),
        None => return Err(HandshakeError::MissingHeader("Sec-WebSocket-Accept")),
    }
    validate_agreement(headers, request, config)
}

/// The checks both versions of HTTP share on a successful response: the
/// subprotocol and extensions chosen must be among those offered (RFC 6455
/// 4.1, kept by RFC 8441 5).
#[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
pub(super) fn validate_agreement(
    headers: Headers,
    request: &OutgoingRequest,
    config: &Config,
) -> Result<Acceptance, HandshakeError> {
    // RFC 6455 11.3.4: "the |Sec-WebSocket-Protocol| header field MUST NOT
    // appear more than once in an HTTP response", and 4.2.2 makes its value
    // "a single value representing the subprotocol the server is ready to
    // use".
    let protocols: Vec<&str> = headers.list("sec-websocket-protocol").collect();
    if protocols.len() > 1 {
        return Err(HandshakeError::InvalidHeader {
            name: "Sec-WebSocket-Protocol",
            problem: "names more than one subprotocol",
        });
    }
    // RFC 6455 4.1: "If the response includes a |Sec-WebSocket-Protocol|
    // header field and this header field indicates the use of a subprotocol
    // that was not present in the client's handshake [...], the client MUST
    // _Fail the WebSocket Connection_."
    let subprotocol = protocols.first().map(|p| (*p).to_owned());
    if let Some(p) = &subprotocol {
        if !request.subprotocols.contains(p) {
            return Err(HandshakeError::UnexpectedSubprotocol(p.clone()));
        }
    }
    let mut extensions = Vec::new();
    #[cfg(feature = "deflate")]
    let mut deflate = None;
    for item in headers.list("sec-websocket-extensions") {
        // RFC 6455 4.1: "If the response includes a
        // |Sec-WebSocket-Extensions| header field and this header field
        // indicates the use of an extension that was not present in the
        // client's handshake [...], the client MUST _Fail the WebSocket
        // Connection_."
        let name = extension_name(item);
        let offered = request
            .extensions
            .iter()
            .any(|offer| extension_name(offer).eq_ignore_ascii_case(name));
        if !offered {
            return Err(HandshakeError::UnexpectedExtension(item.to_owned()));
        }
        #[cfg(feature = "deflate")]
        if name.eq_ignore_ascii_case(crate::deflate::EXTENSION) {
            deflate = Some(accept_deflate(item, deflate.is_some(), config)?);
        }
        extensions.push(item.to_owned());
    }
    Ok(Acceptance {
        headers,
        subprotocol,
        extensions,
        #[cfg(feature = "deflate")]
        deflate,
    })
}

/// The parameters a permessage-deflate response `item` agrees to, checked
/// against the offer `config` made; `again` if one was accepted already.
#[cfg(feature = "deflate")]
fn accept_deflate(
    item: &str,
    again: bool,
    config: &Config,
) -> Result<crate::deflate::DeflateParams, HandshakeError> {
    use crate::deflate::NegotiationError;
    // RFC 7692 5: "A client that received a response accepting a PMCE
    // extension negotiation offer together with such an extension MUST
    // _Fail the WebSocket Connection_": such an extension is one that also
    // uses RSV1, as a second permessage-deflate would.
    if again {
        return Err(NegotiationError::new(item, "accepted twice").into());
    }
    // The offer must be the one Config::deflate made: a hand-made one would
    // leave the connection compressing with settings it never agreed to.
    let Some(config) = &config.deflate else {
        return Err(NegotiationError::new(
            item,
            "the offer was made by hand; enable permessage-deflate with Config::deflate",
        )
        .into());
    };
    Ok(config.accept_response(item)?)
}
