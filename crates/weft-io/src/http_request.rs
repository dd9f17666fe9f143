//! A client's connection described as an `http::Request<()>` (feature
//! `http`): the URL and the [`ClientOptions`] it asks for.

use crate::{ClientOptions, Error};

/// Headers the handshake writes itself, left out of an `http::Request`
/// that carries them (as other crates' clients require).
const HANDSHAKE_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
];

impl ClientOptions {
    /// The URL and options an `http::Request<()>` describes, on top of
    /// `self`: its URI (absolute, `ws`, `wss`, `http` or `https`) gives the
    /// URL, `Origin` the origin, `Sec-WebSocket-Protocol` the subprotocols
    /// offered, and every other header is sent as it is. The headers the
    /// handshake writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Key`, `-Version`, `-Extensions`) are left out:
    /// permessage-deflate is offered as [`ClientOptions::config`] says.
    ///
    /// ```
    /// use weft_io::ClientOptions;
    ///
    /// let request = http::Request::get("wss://example.com/chat")
    ///     .header("Sec-WebSocket-Protocol", "chat.v1")
    ///     .header("Authorization", "Bearer t0ken")
    ///     .body(())
    ///     .unwrap();
    /// let (url, options) = ClientOptions::new().with_http_request(&request).unwrap();
    /// assert_eq!(url, "wss://example.com/chat");
    /// assert_eq!(options.subprotocols, ["chat.v1"]);
    /// assert_eq!(options.headers, [("authorization".to_owned(), "Bearer t0ken".to_owned())]);
    /// ```
    pub fn with_http_request(
        mut self,
        request: &http::Request<()>,
    ) -> Result<(String, ClientOptions), Error> {
        let uri = request.uri();
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ws") | Some("http") => "ws",
            Some("wss") | Some("https") => "wss",
            _ => {
                return Err(Error::Url(format!(
                "{uri:?}: the request's URI must be absolute, with a ws, wss, http or https scheme"
            )))
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(Error::Url(format!(
                "{uri:?}: the request's URI has no host"
            )));
        };
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        let url = format!("{scheme}://{authority}{target}");
        for (name, value) in request.headers() {
            let value = value
                .to_str()
                .map_err(|_| Error::Url(format!("header {name} is not visible ASCII")))?;
            match name.as_str() {
                name if HANDSHAKE_HEADERS.contains(&name) => {}
                "origin" => self.origin = Some(value.to_owned()),
                "sec-websocket-protocol" => self.subprotocols.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                ),
                name => self.headers.push((name.to_owned(), value.to_owned())),
            }
        }
        Ok((url, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_headers_are_left_out_and_schemes_mapped() {
        let request = http::Request::get("http://example.com:8080/a?b=1")
            .header("Host", "ignored")
            .header("Sec-WebSocket-Key", "ignored")
            .header("Origin", "https://example.com")
            .header("Sec-WebSocket-Protocol", "a, b")
            .header("Sec-WebSocket-Protocol", "c")
            .header("Cookie", "x=1")
            .body(())
            .unwrap();
        let (url, options) = ClientOptions::new().with_http_request(&request).unwrap();
        assert_eq!(url, "ws://example.com:8080/a?b=1");
        assert_eq!(options.origin.as_deref(), Some("https://example.com"));
        assert_eq!(options.subprotocols, ["a", "b", "c"]);
        assert_eq!(options.headers, [("cookie".to_owned(), "x=1".to_owned())]);
    }

    #[test]
    fn a_relative_uri_is_refused() {
        let request = http::Request::get("/chat").body(()).unwrap();
        let error = ClientOptions::new()
            .with_http_request(&request)
            .unwrap_err();
        assert!(matches!(error, Error::Url(_)), "{error:?}");
        let ftp = http::Request::get("ftp://example.com/").body(()).unwrap();
        assert!(ClientOptions::new().with_http_request(&ftp).is_err());
    }
}
