//! The client's opening handshake: write the request, read the response,
//! and either become a connection or report the refusal with the start of
//! its body.

use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;

use super::acceptance::{self, Acceptance};
use super::outgoing::OutgoingRequest;
use super::{head_len, HandshakeError, HeadScan, Headers, Rejection, MAX_REJECTION_BODY};
use crate::config::Config;
use crate::connection::{Connection, MaskKeys};
use crate::logging;

/// Where the start of a rejection's body ends, so that what is kept does
/// not depend on how the response was split into reads.
#[derive(Debug, Clone, Copy)]
enum BodyEnd {
    /// No body (204, 304).
    None,
    /// This many bytes (the Content-Length, capped).
    Bytes(usize),
    /// A chunked body: up to its last chunk, capped.
    Chunked,
}

#[derive(Debug)]
enum Stage {
    Reading,
    /// A non-101 head arrived; reading the start of its body.
    ReadingRejection {
        response: Rejection,
        head_len: usize,
        want: BodyEnd,
    },
    Succeeded {
        head_len: usize,
        #[cfg(feature = "deflate")]
        deflate: Option<crate::deflate::DeflateParams>,
    },
    Done,
}

/// The client's opening handshake.
///
/// Write the request with [`write_request`](Self::write_request), feed the
/// server's bytes to [`handle_data`](Self::handle_data) until it returns the
/// [`Acceptance`], then make the [`Connection`] with
/// [`into_connection`](Self::into_connection), which keeps any bytes that
/// followed the response.
#[derive(Debug)]
pub struct ClientHandshake {
    config: Config,
    request: OutgoingRequest,
    key: String,
    buf: Vec<u8>,
    scan: HeadScan,
    /// Bytes of interim (1xx) responses skipped so far.
    interim_len: usize,
    deadline: Option<Instant>,
    stage: Stage,
}

impl ClientHandshake {
    /// A handshake for `request`, keyed with `nonce`: 16 bytes which, says
    /// RFC 6455 4.1, "MUST be selected randomly for each connection" (the
    /// caller draws them, adapters from the OS). The handshake timeout
    /// counts from `now`.
    ///
    /// Fails with [`HandshakeError::InvalidInput`] if the request has a
    /// header that would break the head or a target not starting with `/`.
    pub fn new(
        request: OutgoingRequest,
        config: Config,
        nonce: [u8; 16],
        now: Instant,
    ) -> Result<Self, HandshakeError> {
        request.check()?;
        let request = request.offering(&config);
        Ok(ClientHandshake {
            deadline: config.handshake_timeout.and_then(|t| now.checked_add(t)),
            config,
            request,
            key: base64::engine::general_purpose::STANDARD.encode(nonce),
            buf: Vec::new(),
            scan: HeadScan::default(),
            interim_len: 0,
            stage: Stage::Reading,
        })
    }

    /// Writes the request head (RFC 6455 4.1) to `out`.
    pub fn write_request(&self, out: &mut Vec<u8>) {
        self.request.write(&self.key, out);
    }

    /// Bytes from the server, in any chunks. Returns the checked response
    /// once the head is complete; fails if the server refused (with its
    /// status, headers and the start of its body) or answered wrongly.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Option<Acceptance>, HandshakeError> {
        match &self.stage {
            Stage::Reading | Stage::ReadingRejection { .. } | Stage::Succeeded { .. } => {
                self.buf.extend_from_slice(data)
            }
            Stage::Done => return Ok(None),
        }
        let result = match &self.stage {
            Stage::Reading => self.parse(),
            Stage::ReadingRejection { .. } => self.check_rejection_body().map(|()| None),
            Stage::Succeeded { .. } | Stage::Done => Ok(None),
        };
        if let Err(e) = &result {
            logging::client_handshake_failed(e);
            self.stage = Stage::Done;
        }
        result
    }

    /// The transport closed: the error to report. A rejection keeps the
    /// body that arrived.
    pub fn handle_eof(&mut self) -> HandshakeError {
        let error = self.eof_error();
        logging::client_handshake_failed(&error);
        error
    }

    /// The error the end of the transport makes of the handshake.
    fn eof_error(&mut self) -> HandshakeError {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::ReadingRejection {
                mut response,
                head_len,
                ..
            } => {
                let body = self.buf.get(head_len..).unwrap_or(&[]);
                response.body = Bytes::copy_from_slice(&body[..body.len().min(MAX_REJECTION_BODY)]);
                HandshakeError::Rejected(Box::new(response))
            }
            _ => HandshakeError::ConnectionClosed,
        }
    }

    /// When the handshake times out, while the response is awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.stage {
            Stage::Reading | Stage::ReadingRejection { .. } => self.deadline,
            _ => None,
        }
    }

    /// Fails with [`HandshakeError::TimedOut`] if the response is still
    /// incomplete at the deadline, or with the rejection and the body that
    /// arrived if a refusal's body is. Spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match self.poll_timeout() {
            Some(deadline) if now >= deadline => match self.stage {
                Stage::ReadingRejection { .. } => Err(self.handle_eof()),
                _ => {
                    self.stage = Stage::Done;
                    logging::client_handshake_failed(&HandshakeError::TimedOut);
                    Err(HandshakeError::TimedOut)
                }
            },
            _ => Ok(()),
        }
    }

    /// The connection, once [`handle_data`](Self::handle_data) has returned
    /// the response, with the bytes that followed it already fed to it.
    pub fn into_connection(
        self,
        mask_keys: impl MaskKeys + 'static,
        now: Instant,
    ) -> Result<Connection, HandshakeError> {
        let Stage::Succeeded {
            head_len,
            #[cfg(feature = "deflate")]
            deflate,
        } = self.stage
        else {
            return Err(HandshakeError::NotReady);
        };
        let mut connection = Connection::client(self.config, mask_keys, now);
        #[cfg(feature = "deflate")]
        if let Some(params) = deflate {
            connection.enable_deflate(params);
        }
        let leftover = self.buf.get(head_len..).unwrap_or(&[]);
        if !leftover.is_empty() {
            connection.handle_data(now, leftover);
        }
        Ok(connection)
    }

    fn parse(&mut self) -> Result<Option<Acceptance>, HandshakeError> {
        let limit = self.config.max_handshake_size;
        loop {
            // Never look past the limit, counting interim heads already skipped.
            let room = limit.saturating_sub(self.interim_len);
            let Some(end) = self.scan.ready(&self.buf, room) else {
                return Ok(None);
            };
            let mut headers = vec![httparse::EMPTY_HEADER; self.config.max_headers];
            let mut resp = httparse::Response::new(&mut headers);
            let window = &self.buf[..end];
            let parsed = resp.parse(window);
            let Some(head_len) = head_len(parsed, end >= room, &self.config)? else {
                // Asks for more: look for the next prompt.
                continue;
            };
            let status = resp.code.unwrap_or(0);
            logging::response_received(status, resp.reason.unwrap_or(""));
            if (100..200).contains(&status) && status != 101 {
                // An interim response (100 Continue, 103 Early Hints): skip it
                // and read the final one (RFC 9110 15.2).
                self.interim_len += head_len;
                self.buf.drain(..head_len);
                self.scan = HeadScan::default();
                continue;
            }
            let reason = resp.reason.unwrap_or("").to_owned();
            let response_headers = Headers::from_httparse(resp.headers);
            if status != 101 {
                return self.start_rejection(status, reason, response_headers, head_len);
            }
            let response =
                acceptance::validate(response_headers, &self.key, &self.request, &self.config)?;
            logging::accepted_by_server(response.subprotocol(), response.extensions());
            self.stage = Stage::Succeeded {
                head_len,
                #[cfg(feature = "deflate")]
                deflate: response.deflate().copied(),
            };
            return Ok(Some(response));
        }
    }

    /// A refusal: keep reading until the start of its body is here.
    fn start_rejection(
        &mut self,
        status: u16,
        reason: String,
        headers: Headers,
        head_len: usize,
    ) -> Result<Option<Acceptance>, HandshakeError> {
        let chunked = headers.has_token("transfer-encoding", "chunked");
        let length = headers
            .get_str("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok());
        let want = match length {
            // No body, whatever follows (RFC 9110 15.3.5, 15.4.5).
            _ if matches!(status, 204 | 304) => BodyEnd::None,
            _ if chunked => BodyEnd::Chunked,
            Some(n) => BodyEnd::Bytes(n.min(MAX_REJECTION_BODY)),
            // Delimited by the end of the connection.
            None => BodyEnd::Bytes(MAX_REJECTION_BODY),
        };
        self.stage = Stage::ReadingRejection {
            response: Rejection {
                status,
                reason,
                headers,
                body: Bytes::new(),
            },
            head_len,
            want,
        };
        self.check_rejection_body().map(|()| None)
    }

    /// Fails with the rejection once the start of its body is here.
    fn check_rejection_body(&mut self) -> Result<(), HandshakeError> {
        let Stage::ReadingRejection { head_len, want, .. } = self.stage else {
            return Ok(());
        };
        let body = &self.buf[head_len..];
        let keep = match want {
            BodyEnd::None => 0,
            BodyEnd::Bytes(n) if body.len() >= n => n,
            BodyEnd::Bytes(_) => return Ok(()),
            BodyEnd::Chunked => {
                // The last chunk: "0" at a line start, then a blank line.
                let end = (body.starts_with(b"0\r\n\r\n")).then_some(5).or_else(|| {
                    body.windows(7)
                        .position(|w| w == b"\r\n0\r\n\r\n")
                        .map(|p| p + 7)
                });
                match end {
                    Some(end) => end.min(MAX_REJECTION_BODY),
                    None if body.len() >= MAX_REJECTION_BODY => MAX_REJECTION_BODY,
                    None => return Ok(()),
                }
            }
        };
        let Stage::ReadingRejection { mut response, .. } =
            std::mem::replace(&mut self.stage, Stage::Done)
        else {
            return Ok(());
        };
        response.body = Bytes::copy_from_slice(&self.buf[head_len..head_len + keep]);
        Err(HandshakeError::Rejected(Box::new(response)))
    }
}
