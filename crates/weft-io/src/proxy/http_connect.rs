//! [`HttpConnect`]: the HTTP `CONNECT` handshake with a proxy (RFC 9110
//! 9.3.6), sans-IO.

use base64::Engine as _;

use super::{Progress, ProxyCredentials, ProxyError, Target};

/// The longest response head accepted from a proxy, in bytes.
pub const MAX_HEAD: usize = 16 * 1024;

/// The most header fields accepted in a proxy's response.
pub const MAX_HEADERS: usize = 64;

/// Asks an HTTP proxy for a tunnel with `CONNECT host:port HTTP/1.1`
/// (RFC 9110 9.3.6) and reads its answer: any 2xx opens the tunnel, any
/// other final status is [`ProxyError::Refused`] with the status, reason
/// and headers; 1xx interim responses are skipped (RFC 9110 15.2).
///
/// The request carries `Host` (the same authority) and, when the proxy URL
/// has credentials, `Proxy-Authorization: Basic` (RFC 7617) with them.
/// The head is read up to [`MAX_HEAD`] bytes and [`MAX_HEADERS`] fields.
/// A 2xx answer's `Content-Length` or `Transfer-Encoding` is ignored, as
/// RFC 9110 9.3.6 requires: the tunnel starts right after the head.
#[derive(Debug)]
pub struct HttpConnect {
    request: Option<Vec<u8>>,
    buf: Vec<u8>,
    /// Bytes of interim (1xx) heads skipped so far.
    interim: usize,
    sent_credentials: bool,
    done: bool,
}

impl HttpConnect {
    /// The handshake for a tunnel to `target`. Fails if the target's host
    /// cannot be written in a request line (spaces, control characters,
    /// non-ASCII: a name must be given in its ASCII, punycode, form).
    pub fn new(
        target: &Target,
        credentials: Option<&ProxyCredentials>,
    ) -> Result<HttpConnect, ProxyError> {
        let authority = target.authority();
        if matches!(target, Target::Name { host, .. } if host.is_empty())
            || !authority
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'@' | b'?' | b'#'))
        {
            return Err(ProxyError::InvalidRequest(format!(
                "{authority:?} cannot be sent in a CONNECT request (an ASCII host name is needed)"
            )));
        }
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(credentials) = credentials {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", credentials.username, credentials.password));
            request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        request.push_str("\r\n");
        Ok(HttpConnect {
            request: Some(request.into_bytes()),
            buf: Vec::new(),
            interim: 0,
            sent_credentials: credentials.is_some(),
            done: false,
        })
    }

    /// The request, the first time it is called; then nothing.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.request.take()
    }

    /// Takes bytes of the proxy's answer.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Progress, ProxyError> {
        if self.done {
            return Err(ProxyError::Protocol(
                "data handed over after the handshake ended".into(),
            ));
        }
        self.buf.extend_from_slice(data);
        let result = self.parse();
        if !matches!(result, Ok(Progress::NeedMore)) {
            self.done = true;
            self.buf = Vec::new();
        }
        result
    }

    /// The proxy closed the connection before answering.
    pub fn handle_eof(&mut self) -> ProxyError {
        self.done = true;
        if self.buf.is_empty() {
            ProxyError::Closed
        } else {
            ProxyError::Protocol(
                "the proxy closed the connection in the middle of its answer".into(),
            )
        }
    }

    /// Parses the heads buffered: skips 1xx heads, then opens the tunnel
    /// or reports the refusal.
    fn parse(&mut self) -> Result<Progress, ProxyError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            let len = match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if self.buf.len() > MAX_HEAD => {
                    return Err(ProxyError::HeadTooLarge { limit: MAX_HEAD })
                }
                Ok(httparse::Status::Partial) => return Ok(Progress::NeedMore),
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(ProxyError::TooManyHeaders { limit: MAX_HEADERS })
                }
                Err(e) => {
                    return Err(ProxyError::Protocol(format!(
                        "not an HTTP response ({e}){}",
                        looks_like_socks(&self.buf)
                    )))
                }
            };
            if len > MAX_HEAD {
                return Err(ProxyError::HeadTooLarge { limit: MAX_HEAD });
            }
            // httparse has the code of any complete head.
            let status = response.code.unwrap_or(0);
            match status {
                // A CONNECT is not upgraded: 101 is no answer to it.
                101 => {
                    return Err(ProxyError::Protocol(
                        "the proxy answered CONNECT with 101 Switching Protocols".into(),
                    ))
                }
                // Interim responses come before the final one (RFC 9110
                // 15.2), all of them within the head limit.
                100..=199 => {
                    self.interim += len;
                    if self.interim > MAX_HEAD {
                        return Err(ProxyError::HeadTooLarge { limit: MAX_HEAD });
                    }
                    self.buf.drain(..len);
                }
                // Any 2xx opens the tunnel; the bytes after the head are
                // the destination's (RFC 9110 9.3.6).
                200..=299 => {
                    return Ok(Progress::Open {
                        leftover: self.buf[len..].to_vec(),
                    })
                }
                _ => {
                    let headers = response
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    return Err(ProxyError::Refused {
                        status,
                        reason: response.reason.unwrap_or("").to_owned(),
                        headers,
                        sent_credentials: self.sent_credentials,
                    });
                }
            }
        }
    }
}

/// A hint when the answer looks like a SOCKS server's (its first byte a
/// small version number rather than `H`).
fn looks_like_socks(buf: &[u8]) -> &'static str {
    match buf.first() {
        Some(4 | 5) => "; it looks like SOCKS: use socks5://",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(credentials: Option<(&str, &str)>) -> HttpConnect {
        let credentials = credentials.map(|(u, p)| ProxyCredentials {
            username: u.into(),
            password: p.into(),
        });
        HttpConnect::new(&Target::new("example.com", 443), credentials.as_ref()).unwrap()
    }

    /// Feeds `answer` split at `split`, returning the first result that is
    /// not `NeedMore` (or `NeedMore` if none).
    fn feed_split(answer: &[u8], split: usize) -> Result<Progress, ProxyError> {
        let mut h = connect(None);
        h.poll_transmit().unwrap();
        let (a, b) = answer.split_at(split);
        match h.handle_data(a)? {
            Progress::NeedMore => h.handle_data(b),
            // What comes after is read from the tunnel.
            Progress::Open { mut leftover } => {
                leftover.extend_from_slice(b);
                Ok(Progress::Open { leftover })
            }
        }
    }

    #[test]
    fn the_request_names_the_target_and_carries_basic_credentials() {
        let mut h = connect(Some(("Aladdin", "open sesame")));
        let request = String::from_utf8(h.poll_transmit().unwrap()).unwrap();
        assert_eq!(
            request,
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        assert_eq!(h.poll_transmit(), None);
        let mut h = HttpConnect::new(&Target::new("::1", 9001), None).unwrap();
        let request = String::from_utf8(h.poll_transmit().unwrap()).unwrap();
        assert_eq!(
            request,
            "CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\r\n"
        );
    }

    #[test]
    fn hosts_a_request_line_cannot_carry_are_refused() {
        for host in ["exa mple.com", "a\r\nX: y", "bücher.example", "a/b", ""] {
            let target = Target::Name {
                host: host.into(),
                port: 80,
            };
            assert!(
                matches!(
                    HttpConnect::new(&target, None),
                    Err(ProxyError::InvalidRequest(_))
                ),
                "{host:?}"
            );
        }
    }

    #[test]
    fn a_2xx_opens_the_tunnel_at_every_split_and_keeps_the_leftover() {
        let answer =
            b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\nHELLO";
        for split in 0..=answer.len() {
            assert_eq!(
                feed_split(answer, split).unwrap(),
                Progress::Open {
                    leftover: b"HELLO".to_vec()
                },
                "split at {split}"
            );
        }
    }

    #[test]
    fn byte_by_byte_the_answer_completes_on_its_last_byte() {
        let answer = b"HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n";
        let mut h = connect(None);
        for (i, byte) in answer.iter().enumerate() {
            let progress = h.handle_data(&[*byte]).unwrap();
            if i + 1 < answer.len() {
                assert_eq!(progress, Progress::NeedMore, "byte {i}");
            } else {
                assert_eq!(progress, Progress::Open { leftover: vec![] });
            }
        }
        assert!(h.handle_data(b"x").is_err());
    }

    #[test]
    fn a_101_or_endless_interim_heads_are_refused() {
        let mut h = connect(None);
        assert!(matches!(
            h.handle_data(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"),
            Err(ProxyError::Protocol(_))
        ));
        let mut h = connect(None);
        let result = loop {
            match h.handle_data(b"HTTP/1.1 100 Continue\r\n\r\n") {
                Ok(Progress::NeedMore) => continue,
                other => break other,
            }
        };
        assert!(
            matches!(result, Err(ProxyError::HeadTooLarge { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn interim_responses_are_skipped() {
        let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
        for split in 0..=answer.len() {
            assert_eq!(
                feed_split(answer, split).unwrap(),
                Progress::Open { leftover: vec![] }
            );
        }
    }

    #[test]
    fn a_refusal_reports_status_reason_and_headers_at_every_split() {
        let answer = b"HTTP/1.0 407 Proxy Authentication Required\r\nServer: tinyproxy/1.11.1\r\n\
            Proxy-Authenticate: Basic realm=\"Tinyproxy\"\r\n\r\n<html>body</html>";
        for split in 0..=answer.len() {
            let e = feed_split(answer, split).unwrap_err();
            let ProxyError::Refused {
                status,
                reason,
                headers,
                sent_credentials,
            } = &e
            else {
                panic!("{e:?}")
            };
            assert_eq!(
                (*status, reason.as_str()),
                (407, "Proxy Authentication Required")
            );
            assert_eq!(headers.len(), 2);
            assert!(!sent_credentials);
            assert_eq!(
                e.header("PROXY-AUTHENTICATE"),
                Some("Basic realm=\"Tinyproxy\"")
            );
            assert!(!e.is_retryable());
        }
        let e = feed_split(b"HTTP/1.1 407 x\r\nProxy-Authenticate: Basic\r\n\r\n", 0).unwrap_err();
        assert!(e.to_string().contains("it wants credentials"), "{e}");
    }

    #[test]
    fn statuses_from_a_proxy_are_classified() {
        for status in [502, 503, 504, 429, 408] {
            let e = feed_split(format!("HTTP/1.1 {status} x\r\n\r\n").as_bytes(), 3).unwrap_err();
            assert!(e.is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 405, 407, 501, 505, 302] {
            let e = feed_split(format!("HTTP/1.1 {status} x\r\n\r\n").as_bytes(), 3).unwrap_err();
            assert!(!e.is_retryable(), "{status}");
            assert!(matches!(e, ProxyError::Refused { .. }));
        }
    }

    #[test]
    fn garbage_is_not_an_http_response() {
        for garbage in [
            &b"\x05\x00"[..],
            b"SSH-2.0-OpenSSH\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"\0\0\0\0",
        ] {
            let e = feed_split(garbage, 0).unwrap_err();
            assert!(matches!(e, ProxyError::Protocol(_)), "{garbage:?}: {e:?}");
        }
        let e = feed_split(b"\x05\xff", 1).unwrap_err();
        assert!(e.to_string().contains("use socks5://"), "{e}");
    }

    #[test]
    fn a_head_too_large_or_with_too_many_fields_is_refused() {
        let mut h = connect(None);
        assert_eq!(
            h.handle_data(b"HTTP/1.1 200 OK\r\n").unwrap(),
            Progress::NeedMore
        );
        let line = b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let result = loop {
            match h.handle_data(line) {
                Ok(Progress::NeedMore) => continue,
                other => break other,
            }
        };
        assert!(
            matches!(
                result,
                Err(ProxyError::HeadTooLarge { limit: MAX_HEAD })
                    | Err(ProxyError::TooManyHeaders { .. })
            ),
            "{result:?}"
        );
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert!(matches!(
            feed_split(&head, 0),
            Err(ProxyError::TooManyHeaders { limit: MAX_HEADERS })
        ));
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD));
        assert!(matches!(
            feed_split(long.as_bytes(), 0),
            Err(ProxyError::HeadTooLarge { .. })
        ));
    }

    #[test]
    fn an_early_close_is_reported() {
        let mut h = connect(None);
        assert!(matches!(h.handle_eof(), ProxyError::Closed));
        let mut h = connect(None);
        h.handle_data(b"HTTP/1.1 2").unwrap();
        assert!(matches!(h.handle_eof(), ProxyError::Protocol(_)));
    }
}
