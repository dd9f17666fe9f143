//! The server's opening handshake: read the request, hand it to the
//! application, write its decision, become a connection.

use std::time::Instant;

use super::answer::Answer;
use super::decision::{Accept, Reject, Responded};
use super::error::reason_phrase;
use super::incoming::IncomingRequest;
use super::{head_len, write_header, HandshakeError, HeadScan, Headers};
use crate::config::Config;
use crate::connection::Connection;
use crate::logging;

#[derive(Debug, PartialEq, Eq)]
enum Stage {
    Reading,
    Requested,
    Accepted,
    Done,
}

/// The server's opening handshake.
///
/// Feed it what the client sends with [`handle_data`](Self::handle_data)
/// until it returns the [`IncomingRequest`]; then [`accept`](Self::accept) or
/// [`reject`](Self::reject), write out the response, and turn an accepted
/// handshake into a [`Connection`] with [`into_connection`](Self::into_connection),
/// which keeps any bytes that followed the request.
///
/// ```
/// use std::time::Instant;
/// use weft_proto::handshake::{Accept, ServerHandshake};
/// use weft_proto::{Config, Event};
///
/// let now = Instant::now();
/// let mut handshake = ServerHandshake::new(Config::default(), now);
/// let request = handshake
///     .handle_data(
///         b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///           Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///           Sec-WebSocket-Version: 13\r\n\r\n",
///     )
///     .unwrap()
///     .expect("the request is complete");
/// assert_eq!(request.path(), "/chat");
///
/// let mut response = Vec::new();
/// handshake.accept(Accept::new(), &mut response).unwrap();
/// assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// let mut connection = handshake.into_connection(now).unwrap();
/// assert_eq!(connection.poll_event(), None);
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    config: Config,
    buf: Vec<u8>,
    scan: HeadScan,
    /// Bytes of `buf` taken by the request head, once parsed.
    head_len: usize,
    deadline: Option<Instant>,
    stage: Stage,
    request: Option<IncomingRequest>,
    /// The accepting answer, once written: it makes the connection.
    answer: Option<Answer>,
}

impl ServerHandshake {
    /// A handshake that starts at `now` (the handshake timeout counts from it)
    /// and applies `config`'s handshake limits; the connection gets `config`.
    pub fn new(config: Config, now: Instant) -> Self {
        ServerHandshake {
            deadline: config.handshake_timeout.and_then(|t| now.checked_add(t)),
            config,
            buf: Vec::new(),
            scan: HeadScan::default(),
            head_len: 0,
            stage: Stage::Reading,
            request: None,
            answer: None,
        }
    }

    /// Bytes from the client. Returns the request once its head is complete
    /// and valid; an error carries the HTTP status to answer with (see
    /// [`HandshakeError::write_response`]). Bytes after the head are kept
    /// for the connection.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Option<IncomingRequest>, HandshakeError> {
        match self.stage {
            Stage::Reading => {}
            Stage::Requested | Stage::Accepted => {
                self.buf.extend_from_slice(data);
                return Ok(None);
            }
            Stage::Done => return Ok(None),
        }
        self.buf.extend_from_slice(data);
        match self.parse() {
            Ok(None) => Ok(None),
            Ok(Some(request)) => {
                self.stage = Stage::Requested;
                self.request = Some(request.clone());
                Ok(Some(request))
            }
            Err(e) => {
                match e.status() {
                    Some(status) => logging::refusing(status, reason_phrase(status), Some(&e)),
                    None => logging::server_handshake_failed(&e),
                }
                self.stage = Stage::Done;
                Err(e)
            }
        }
    }

    fn parse(&mut self) -> Result<Option<IncomingRequest>, HandshakeError> {
        let limit = self.config.max_handshake_size;
        let mut request = None;
        // Several prompts may be due (the first line and the end of the
        // head in one read): each is parsed in turn, as if read apart.
        while let Some(end) = self.scan.ready(&self.buf, limit) {
            request = self.parse_window(end, limit)?;
            if request.is_some() {
                break;
            }
        }
        Ok(request)
    }

    fn parse_window(
        &mut self,
        end: usize,
        limit: usize,
    ) -> Result<Option<IncomingRequest>, HandshakeError> {
        let mut headers = vec![httparse::EMPTY_HEADER; self.config.max_headers];
        let mut req = httparse::Request::new(&mut headers);
        let window = &self.buf[..end];
        let parsed = req.parse(window);
        let Some(head_len) = head_len(parsed, end >= limit, &self.config)? else {
            return Ok(None);
        };
        logging::request_received(
            req.method.unwrap_or(""),
            req.path.unwrap_or(""),
            req.version.unwrap_or(0),
        );
        // RFC 6455 4.1: "The method of the request MUST be GET, and the HTTP
        // version MUST be at least 1.1."
        let method = req.method.unwrap_or("");
        if method != "GET" {
            return Err(HandshakeError::MethodNotAllowed(method.to_owned()));
        }
        if req.version != Some(1) {
            return Err(HandshakeError::HttpVersion);
        }
        let target = req.path.unwrap_or("").to_owned();
        let headers = Headers::from_httparse(req.headers);
        let request = IncomingRequest::http11(method, target, headers)?;
        self.head_len = head_len;
        Ok(Some(request))
    }

    /// Accepts the request: writes the 101 response to `out`.
    ///
    /// Fails with [`HandshakeError::InvalidInput`] if the subprotocol was not
    /// offered or a header would break the response, and with
    /// [`HandshakeError::NotReady`] if no request is pending.
    pub fn accept(&mut self, accept: Accept, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        let (Stage::Requested, Some(request)) = (&self.stage, &self.request) else {
            return Err(HandshakeError::NotReady);
        };
        let answer = Answer::new(request, accept, self.config.clone())?;
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        for (name, value) in answer.headers() {
            write_header(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        self.answer = Some(answer);
        self.stage = Stage::Accepted;
        Ok(())
    }

    /// Rejects the request: writes the response to `out`. The transport
    /// should be closed once it is written.
    pub fn reject(&mut self, reject: Reject, out: &mut Vec<u8>) -> Result<(), HandshakeError> {
        if self.stage != Stage::Requested {
            return Err(HandshakeError::NotReady);
        }
        reject.check()?;
        let status = reject.status;
        out.extend_from_slice(
            format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes(),
        );
        for (name, value) in &reject.headers {
            write_header(out, name, value);
        }
        write_header(out, "Connection", "close");
        write_header(out, "Content-Length", &reject.body.len().to_string());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&reject.body);
        logging::refusing(status, reason_phrase(status), None);
        self.stage = Stage::Done;
        Ok(())
    }

    /// Writes the application's decision on the request to `out`: the 101
    /// of an [`Accept`], or the response of a [`Reject`]. When the decision
    /// cannot be written (a subprotocol the client did not offer, a header
    /// that would break the head, a status outside 200-599), the client is
    /// answered 500 instead, and the outcome says why. Adapters write `out`
    /// whatever the outcome, then go on with
    /// [`into_connection`](Self::into_connection) only after
    /// [`Responded::Accepted`], and close the transport otherwise.
    ///
    /// ```
    /// use std::time::Instant;
    /// use weft_proto::handshake::{Reject, Responded, ServerHandshake};
    /// use weft_proto::Config;
    ///
    /// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    /// handshake
    ///     .handle_data(
    ///         b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ///     )
    ///     .unwrap();
    /// let mut out = Vec::new();
    /// // 99 is no status to refuse with: the client gets a 500.
    /// let outcome = handshake.respond(Err(Reject::new(99)), &mut out);
    /// assert!(matches!(outcome, Responded::Failed(_)));
    /// assert!(out.starts_with(b"HTTP/1.1 500 "));
    /// ```
    pub fn respond(&mut self, decision: Result<Accept, Reject>, out: &mut Vec<u8>) -> Responded {
        let written = match decision {
            Ok(accept) => self.accept(accept, out).map(|()| Responded::Accepted),
            Err(reject) => {
                let status = reject.status;
                self.reject(reject, out)
                    .map(|()| Responded::Rejected(status))
            }
        };
        match written {
            Ok(outcome) => outcome,
            // Not ready: no request was read, so there is nothing to answer.
            Err(HandshakeError::NotReady) => Responded::Failed(HandshakeError::NotReady),
            Err(e) => {
                logging::server_handshake_failed(&e);
                out.clear();
                // Cannot fail: the stage is still `Requested` and 500 has
                // no headers of the application's.
                let _ = self.reject(Reject::new(500), out);
                Responded::Failed(e)
            }
        }
    }

    /// When the handshake times out, while the request is still being read.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.stage {
            Stage::Reading => self.deadline,
            _ => None,
        }
    }

    /// Fails with [`HandshakeError::TimedOut`] (answered with 408) if the
    /// request is still incomplete at the deadline. Spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match self.poll_timeout() {
            Some(deadline) if now >= deadline => {
                self.stage = Stage::Done;
                let error = HandshakeError::TimedOut;
                logging::refusing(408, reason_phrase(408), Some(&error));
                Err(error)
            }
            _ => Ok(()),
        }
    }

    /// The connection, after [`accept`](Self::accept), with the bytes that
    /// followed the request already fed to it.
    pub fn into_connection(self, now: Instant) -> Result<Connection, HandshakeError> {
        let (Stage::Accepted, Some(answer)) = (&self.stage, self.answer) else {
            return Err(HandshakeError::NotReady);
        };
        let mut connection = answer.into_connection(now);
        let leftover = self.buf.get(self.head_len..).unwrap_or(&[]);
        if !leftover.is_empty() {
            connection.handle_data(now, leftover);
        }
        Ok(connection)
    }
}
