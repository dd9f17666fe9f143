//! [`Socks5`]: the SOCKS version 5 handshake (RFC 1928) with
//! username/password authentication (RFC 1929), sans-IO.

use std::net::IpAddr;

use super::{Progress, ProxyCredentials, ProxyError, Target};

/// The protocol version, first byte of every message (RFC 1928 3).
const VERSION: u8 = 5;
/// Method `X'00'`: no authentication required (RFC 1928 3).
const NO_AUTH: u8 = 0x00;
/// Method `X'02'`: username/password (RFC 1928 3, RFC 1929).
const USER_PASS: u8 = 0x02;
/// `X'FF'`: no acceptable methods (RFC 1928 3).
const NO_ACCEPTABLE: u8 = 0xFF;
/// The username/password sub-negotiation's version (RFC 1929 2).
const AUTH_VERSION: u8 = 0x01;
/// The CONNECT command (RFC 1928 4).
const CONNECT: u8 = 0x01;
/// Address types (RFC 1928 5).
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// What a SOCKS5 reply code means (RFC 1928 6).
pub(crate) fn reply_meaning(code: u8) -> &'static str {
    match code {
        0x00 => "succeeded",
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// Where the handshake is: the answer it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The method selection message (RFC 1928 3).
    Method,
    /// The username/password status (RFC 1929 2).
    Auth,
    /// The reply to CONNECT (RFC 1928 6).
    Reply,
    /// Open, or failed.
    Done,
}

/// Asks a SOCKS5 proxy for a tunnel: the greeting offering "no
/// authentication" (and "username/password" when the proxy URL has
/// credentials), the RFC 1929 sub-negotiation if the proxy chooses it,
/// then `CONNECT` to the target, by name (`ATYP` 3, for `socks5h://`) or
/// by address (`ATYP` 1 or 4). Each request is sent only after the answer
/// to the one before; an answer followed by bytes the proxy could not
/// have been asked for yet is a protocol error.
#[derive(Debug)]
pub struct Socks5 {
    state: State,
    out: Option<Vec<u8>>,
    buf: Vec<u8>,
    auth: Option<Vec<u8>>,
    connect: Vec<u8>,
}

impl Socks5 {
    /// The handshake for a tunnel to `target`. Fails if a name, user name
    /// or password is longer than the 255 bytes the protocol can carry,
    /// or empty where it may not be.
    pub fn new(
        target: &Target,
        credentials: Option<&ProxyCredentials>,
    ) -> Result<Socks5, ProxyError> {
        let mut connect = vec![VERSION, CONNECT, 0x00];
        let port = match target {
            Target::Name { host, port } => {
                match host.parse::<IpAddr>() {
                    Ok(ip) => push_ip(&mut connect, ip),
                    Err(_) => {
                        let len = u8::try_from(host.len())
                            .ok()
                            .filter(|&len| len > 0)
                            .ok_or_else(|| {
                                ProxyError::InvalidRequest(format!(
                                    "a SOCKS5 host name has 1 to 255 bytes, not {}",
                                    host.len()
                                ))
                            })?;
                        connect.push(ATYP_DOMAIN);
                        connect.push(len);
                        connect.extend_from_slice(host.as_bytes());
                    }
                }
                *port
            }
            Target::Addr(addr) => {
                push_ip(&mut connect, addr.ip());
                addr.port()
            }
        };
        connect.extend_from_slice(&port.to_be_bytes());
        let auth = credentials.map(auth_request).transpose()?;
        let greeting = match auth {
            Some(_) => vec![VERSION, 2, NO_AUTH, USER_PASS],
            None => vec![VERSION, 1, NO_AUTH],
        };
        Ok(Socks5 {
            state: State::Method,
            out: Some(greeting),
            buf: Vec::new(),
            auth,
            connect,
        })
    }

    /// The next request to send, once: the greeting at first, then the
    /// authentication or the CONNECT as the answers call for them.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.take()
    }

    /// Takes bytes of the proxy's answers.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Progress, ProxyError> {
        if self.state == State::Done {
            return Err(ProxyError::Protocol(
                "data handed over after the handshake ended".into(),
            ));
        }
        self.buf.extend_from_slice(data);
        let result = self.advance();
        if !matches!(result, Ok(Progress::NeedMore)) {
            self.state = State::Done;
            self.buf = Vec::new();
            self.out = None;
        }
        result
    }

    /// The proxy closed the connection before the tunnel was open.
    pub fn handle_eof(&mut self) -> ProxyError {
        let partial = !self.buf.is_empty();
        self.state = State::Done;
        match partial {
            true => ProxyError::Protocol(
                "the proxy closed the connection in the middle of its answer".into(),
            ),
            false => ProxyError::Closed,
        }
    }

    fn advance(&mut self) -> Result<Progress, ProxyError> {
        match self.state {
            State::Method => {
                let Some(&[version, method]) = self.buf.get(..2) else {
                    return Ok(Progress::NeedMore);
                };
                if version != VERSION {
                    return Err(ProxyError::WrongVersion { got: version });
                }
                self.expect_no_more(2, "its method choice")?;
                match (method, self.auth.take()) {
                    (NO_AUTH, _) => self.send_connect(),
                    (USER_PASS, Some(auth)) => {
                        self.out = Some(auth);
                        self.state = State::Auth;
                        Ok(Progress::NeedMore)
                    }
                    (NO_ACCEPTABLE, auth) => Err(ProxyError::NoAcceptableMethod {
                        offered_credentials: auth.is_some(),
                    }),
                    (method, _) => Err(ProxyError::Protocol(format!(
                        "the SOCKS5 proxy chose authentication method {method:#04x}, which was not offered"
                    ))),
                }
            }
            State::Auth => {
                let Some(&[version, status]) = self.buf.get(..2) else {
                    return Ok(Progress::NeedMore);
                };
                // RFC 1929 2 says version 1; some servers answer with the
                // SOCKS version instead, which carries the same meaning.
                if version != AUTH_VERSION && version != VERSION {
                    return Err(ProxyError::Protocol(format!(
                        "the username/password answer has version {version:#04x}, not 1"
                    )));
                }
                if status != 0 {
                    return Err(ProxyError::AuthFailed { status });
                }
                self.expect_no_more(2, "its authentication status")?;
                self.send_connect()
            }
            State::Reply => {
                let Some(&[version, reply]) = self.buf.get(..2) else {
                    return Ok(Progress::NeedMore);
                };
                if version != VERSION {
                    return Err(ProxyError::WrongVersion { got: version });
                }
                // A failure is reported at once: a server may close
                // without the rest of the reply.
                if reply != 0 {
                    return Err(ProxyError::SocksReply { code: reply });
                }
                let Some(&atyp) = self.buf.get(3) else {
                    return Ok(Progress::NeedMore);
                };
                // VER, REP, RSV, ATYP, BND.ADDR, BND.PORT (RFC 1928 6).
                let len = match atyp {
                    ATYP_IPV4 => 4 + 4 + 2,
                    ATYP_IPV6 => 4 + 16 + 2,
                    ATYP_DOMAIN => match self.buf.get(4) {
                        Some(&n) => 4 + 1 + usize::from(n) + 2,
                        None => return Ok(Progress::NeedMore),
                    },
                    other => {
                        return Err(ProxyError::Protocol(format!(
                            "the SOCKS5 reply has address type {other:#04x} (1, 3 or 4 expected)"
                        )))
                    }
                };
                if self.buf.len() < len {
                    return Ok(Progress::NeedMore);
                }
                Ok(Progress::Open {
                    leftover: self.buf[len..].to_vec(),
                })
            }
            State::Done => Err(ProxyError::Protocol(
                "data handed over after the handshake ended".into(),
            )),
        }
    }

    /// Bytes past an answer the next request has not been sent for: the
    /// proxy is not speaking SOCKS5 (RFC 1928 has it answer each request).
    fn expect_no_more(&mut self, len: usize, what: &str) -> Result<(), ProxyError> {
        if self.buf.len() > len {
            return Err(ProxyError::Protocol(format!(
                "the SOCKS5 proxy sent {} bytes after {what}, before being asked",
                self.buf.len() - len
            )));
        }
        self.buf.clear();
        Ok(())
    }

    fn send_connect(&mut self) -> Result<Progress, ProxyError> {
        self.out = Some(std::mem::take(&mut self.connect));
        self.state = State::Reply;
        Ok(Progress::NeedMore)
    }
}

/// `ATYP` and the address.
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// The RFC 1929 request: version 1, the user name and the password, each
/// with a length byte. The user name may not be empty (ULEN is 1 to 255);
/// the password may (some servers accept a user name alone).
fn auth_request(credentials: &ProxyCredentials) -> Result<Vec<u8>, ProxyError> {
    let user = credentials.username.as_bytes();
    let password = credentials.password.as_bytes();
    let too_long = |what: &str, len: usize| {
        ProxyError::InvalidRequest(format!(
            "a SOCKS5 {what} has at most 255 bytes (RFC 1929), not {len}"
        ))
    };
    let ulen = u8::try_from(user.len()).map_err(|_| too_long("user name", user.len()))?;
    let plen = u8::try_from(password.len()).map_err(|_| too_long("password", password.len()))?;
    if ulen == 0 {
        return Err(ProxyError::InvalidRequest(
            "a SOCKS5 user name may not be empty (RFC 1929)".into(),
        ));
    }
    let mut out = vec![AUTH_VERSION, ulen];
    out.extend_from_slice(user);
    out.push(plen);
    out.extend_from_slice(password);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(user: &str, password: &str) -> ProxyCredentials {
        ProxyCredentials {
            username: user.into(),
            password: password.into(),
        }
    }

    /// Runs a whole exchange: each answer is fed in pieces cut at `cuts`
    /// (offsets within that answer), checking each request sent before
    /// it. Returns the last result.
    fn exchange(
        mut h: Socks5,
        steps: &[(&[u8], &[u8])],
        cut: usize,
    ) -> Result<Progress, ProxyError> {
        let mut last = Ok(Progress::NeedMore);
        for (request, answer) in steps {
            assert_eq!(h.poll_transmit().as_deref(), Some(*request));
            let cut = cut.min(answer.len());
            let (a, b) = answer.split_at(cut);
            last = h.handle_data(a);
            if matches!(last, Ok(Progress::NeedMore)) && !b.is_empty() {
                last = h.handle_data(b);
            }
            if !matches!(last, Ok(Progress::NeedMore)) {
                return last;
            }
        }
        last
    }

    const CONNECT_NAME: &[u8] = b"\x05\x01\x00\x03\x0bexample.com\x01\xbb";
    const REPLY_V4: &[u8] = b"\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90";

    fn by_name(credentials: Option<&ProxyCredentials>) -> Socks5 {
        Socks5::new(&Target::new("example.com", 443), credentials).unwrap()
    }

    #[test]
    fn no_auth_then_connect_by_name_at_every_split() {
        for cut in 0..=REPLY_V4.len() {
            let result = exchange(
                by_name(None),
                &[(b"\x05\x01\x00", b"\x05\x00"), (CONNECT_NAME, REPLY_V4)],
                cut,
            );
            assert_eq!(
                result.unwrap(),
                Progress::Open { leftover: vec![] },
                "cut {cut}"
            );
        }
    }

    #[test]
    fn username_and_password_at_every_split() {
        let c = credentials("bob", "pw");
        for cut in 0..=REPLY_V4.len() {
            let result = exchange(
                by_name(Some(&c)),
                &[
                    (b"\x05\x02\x00\x02", b"\x05\x02"),
                    (b"\x01\x03bob\x02pw", b"\x01\x00"),
                    (CONNECT_NAME, REPLY_V4),
                ],
                cut,
            );
            assert_eq!(
                result.unwrap(),
                Progress::Open { leftover: vec![] },
                "cut {cut}"
            );
        }
        // A proxy that needs none when credentials are offered.
        let result = exchange(
            by_name(Some(&c)),
            &[(b"\x05\x02\x00\x02", b"\x05\x00"), (CONNECT_NAME, REPLY_V4)],
            1,
        );
        assert!(matches!(result, Ok(Progress::Open { .. })));
    }

    #[test]
    fn addresses_are_sent_as_addresses() {
        let mut h = Socks5::new(&Target::Addr("10.1.2.3:80".parse().unwrap()), None).unwrap();
        h.poll_transmit();
        h.handle_data(b"\x05\x00").unwrap();
        assert_eq!(
            h.poll_transmit().unwrap(),
            b"\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x50"
        );
        let mut h = Socks5::new(&Target::new("::1", 443), None).unwrap();
        h.poll_transmit();
        h.handle_data(b"\x05\x00").unwrap();
        let connect = h.poll_transmit().unwrap();
        assert_eq!(&connect[..4], b"\x05\x01\x00\x04");
        assert_eq!(connect.len(), 4 + 16 + 2);
    }

    #[test]
    fn every_reply_address_type_is_read_byte_by_byte_with_the_leftover() {
        let mut domain = b"\x05\x00\x00\x03\x09localhost\x00\x50".to_vec();
        let mut v6 = b"\x05\x00\x00\x04".to_vec();
        v6.extend_from_slice(&[0; 16]);
        v6.extend_from_slice(b"\x00\x50");
        for reply in [REPLY_V4.to_vec(), std::mem::take(&mut domain), v6] {
            let mut h = by_name(None);
            h.poll_transmit();
            h.handle_data(b"\x05\x00").unwrap();
            assert_eq!(h.poll_transmit().unwrap(), CONNECT_NAME);
            let mut with_leftover = reply.clone();
            with_leftover.extend_from_slice(b"ws");
            for (i, byte) in with_leftover.iter().enumerate() {
                let progress = h.handle_data(&[*byte]).unwrap();
                if i + 1 < reply.len() {
                    assert_eq!(progress, Progress::NeedMore, "{reply:?} byte {i}");
                } else {
                    assert_eq!(progress, Progress::Open { leftover: vec![] });
                    break;
                }
            }
            // The same reply in one piece with bytes after it.
            let mut h = by_name(None);
            h.poll_transmit();
            h.handle_data(b"\x05\x00").unwrap();
            assert_eq!(
                h.handle_data(&with_leftover).unwrap(),
                Progress::Open {
                    leftover: b"ws".to_vec()
                }
            );
        }
    }

    #[test]
    fn every_reply_code_is_an_error_with_its_meaning() {
        for code in 1..=255u8 {
            let mut h = by_name(None);
            h.poll_transmit();
            h.handle_data(b"\x05\x00").unwrap();
            let e = h.handle_data(&[5, code]).unwrap_err();
            assert!(matches!(e, ProxyError::SocksReply { code: c } if c == code));
            assert!(e.to_string().contains(reply_meaning(code)), "{e}");
            assert_eq!(e.is_retryable(), matches!(code, 1 | 3..=6), "{code}");
        }
        let e = ProxyError::SocksReply { code: 5 };
        assert_eq!(
            e.to_string(),
            "the SOCKS5 proxy could not connect: connection refused (reply 5)"
        );
    }

    #[test]
    fn bad_method_answers_are_refused() {
        let mut h = by_name(None);
        h.poll_transmit();
        let e = h.handle_data(b"\x05\xff").unwrap_err();
        assert!(matches!(
            e,
            ProxyError::NoAcceptableMethod {
                offered_credentials: false
            }
        ));
        assert!(e.to_string().contains("socks5://user:password@"), "{e}");
        // Username/password chosen though not offered; GSSAPI never offered.
        for method in [USER_PASS, 0x01, 0x80] {
            let mut h = by_name(None);
            h.poll_transmit();
            assert!(matches!(
                h.handle_data(&[5, method]),
                Err(ProxyError::Protocol(_))
            ));
        }
        let c = credentials("bob", "pw");
        let mut h = by_name(Some(&c));
        h.poll_transmit();
        assert!(matches!(
            h.handle_data(b"\x05\xff"),
            Err(ProxyError::NoAcceptableMethod {
                offered_credentials: true
            })
        ));
    }

    #[test]
    fn a_wrong_version_is_refused_and_an_http_answer_named() {
        let mut h = by_name(None);
        h.poll_transmit();
        let e = h
            .handle_data(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .unwrap_err();
        assert!(matches!(e, ProxyError::WrongVersion { got: b'H' }));
        assert!(e.to_string().contains("use http://"), "{e}");
        let mut h = by_name(None);
        h.poll_transmit();
        assert!(matches!(
            h.handle_data(b"\x04\x5a"),
            Err(ProxyError::WrongVersion { got: 4 })
        ));
        let mut h = by_name(None);
        h.poll_transmit();
        h.handle_data(b"\x05\x00").unwrap();
        assert!(matches!(
            h.handle_data(b"\x04\x00"),
            Err(ProxyError::WrongVersion { got: 4 })
        ));
    }

    #[test]
    fn refused_credentials_are_an_auth_failure() {
        let c = credentials("bob", "px");
        let mut h = by_name(Some(&c));
        h.poll_transmit();
        h.handle_data(b"\x05\x02").unwrap();
        assert_eq!(h.poll_transmit().unwrap(), b"\x01\x03bob\x02px");
        let e = h.handle_data(b"\x01\x01").unwrap_err();
        assert!(matches!(e, ProxyError::AuthFailed { status: 1 }));
        assert!(!e.is_retryable());
        let mut h = by_name(Some(&c));
        h.poll_transmit();
        h.handle_data(b"\x05\x02").unwrap();
        assert!(matches!(
            h.handle_data(b"\x07\x00"),
            Err(ProxyError::Protocol(_))
        ));
    }

    #[test]
    fn unexpected_bytes_and_address_types_are_protocol_errors() {
        let mut h = by_name(None);
        h.poll_transmit();
        assert!(matches!(
            h.handle_data(b"\x05\x00\x05"),
            Err(ProxyError::Protocol(_))
        ));
        let mut h = by_name(None);
        h.poll_transmit();
        h.handle_data(b"\x05\x00").unwrap();
        assert!(matches!(
            h.handle_data(b"\x05\x00\x00\x02"),
            Err(ProxyError::Protocol(_))
        ));
        assert!(h.handle_data(b"more").is_err());
    }

    #[test]
    fn names_and_credentials_the_protocol_cannot_carry_are_refused() {
        let long = "a".repeat(256);
        assert!(Socks5::new(&Target::new(&long, 80), None).is_err());
        assert!(Socks5::new(&Target::new(&"a".repeat(255), 80), None).is_ok());
        let target = Target::new("example.com", 80);
        assert!(Socks5::new(&target, Some(&credentials(&long, "p"))).is_err());
        assert!(Socks5::new(&target, Some(&credentials("u", &long))).is_err());
        assert!(Socks5::new(&target, Some(&credentials("", "p"))).is_err());
        assert!(Socks5::new(&target, Some(&credentials("u", ""))).is_ok());
    }

    #[test]
    fn an_early_close_is_reported() {
        let mut h = by_name(None);
        assert!(matches!(h.handle_eof(), ProxyError::Closed));
        let mut h = by_name(None);
        h.poll_transmit();
        h.handle_data(b"\x05").unwrap();
        assert!(matches!(h.handle_eof(), ProxyError::Protocol(_)));
    }
}
