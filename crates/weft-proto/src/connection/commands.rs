//! The application's commands: messages, fragments, pings, pongs and the
//! close. Each queues frames on the send side or returns a [`SendError`]
//! and changes nothing.

use std::time::Instant;

use bytes::Bytes;

use super::send::{OutFragments, RSV1};
use super::Connection;
use crate::close::{CloseCode, MAX_CLOSE_REASON};
use crate::error::SendError;
use crate::frame::OpCode;
use crate::message::{MessageKind, Utf8Bytes};
use crate::prepared::PreparedMessage;
use crate::role::Role;
use crate::utf8::Utf8Validator;

impl Connection {
    /// Queues a text message.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send_message(OpCode::Text, text.into().into_bytes())
    }

    /// Queues a binary message. A server sends a large payload without
    /// copying it.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_message(OpCode::Binary, data.into())
    }

    fn send_message(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_may_send()?;
        if self.send.fragments().is_some() {
            return Err(SendError::FragmentInProgress);
        }
        // RFC 7692 7.2.1: a compressed message is marked with RSV1.
        match self.deflate.as_deref_mut() {
            Some(deflate) if deflate.wants(payload.len()) => {
                let compressed = deflate.compress(&payload);
                // Compressing each message alone, a message that does not
                // shrink may go as it is: nothing carries to the next.
                if deflate.independent().is_some() && compressed.len() >= payload.len() {
                    self.send.push_frame(opcode, true, 0, payload);
                } else {
                    self.send.push_frame(opcode, true, RSV1, compressed);
                }
            }
            _ => self.send.push_frame(opcode, true, 0, payload),
        }
        Ok(())
    }

    /// Queues a message prepared once for many connections (broadcast). A
    /// server queues the frame the message holds, shared, not copied: the
    /// uncompressed one, or with permessage-deflate and no context
    /// takeover, one compressed once for every connection with the same
    /// settings. A client, or a server compressing with context takeover,
    /// frames (and compresses) the message itself, as
    /// [`send_text`](Self::send_text) and
    /// [`send_binary`](Self::send_binary) do. See [`PreparedMessage`].
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_may_send()?;
        if self.send.fragments().is_some() {
            return Err(SendError::FragmentInProgress);
        }
        let opcode = data_opcode(message.kind());
        let server = self.role == Role::Server;
        match self.deflate.as_deref_mut() {
            Some(deflate) if deflate.wants(message.len()) => {
                #[cfg(feature = "deflate")]
                if let (true, Some((level, bits))) = (server, deflate.independent()) {
                    let frame = message.compressed_frame(level, bits);
                    self.send
                        .push_prepared(frame.unwrap_or_else(|| message.frame().clone()));
                    return Ok(());
                }
                let payload = message.payload();
                let compressed = deflate.compress(payload);
                if deflate.independent().is_some() && compressed.len() >= payload.len() {
                    self.send.push_frame(opcode, true, 0, payload.clone());
                } else {
                    self.send.push_frame(opcode, true, RSV1, compressed);
                }
            }
            _ if server => self.send.push_prepared(message.frame().clone()),
            _ => self
                .send
                .push_frame(opcode, true, 0, message.payload().clone()),
        }
        Ok(())
    }

    /// Queues a whole message that is not compressed even when
    /// permessage-deflate is on (already compressed data, say): the
    /// per-message opt-out. Text must be UTF-8.
    pub fn send_uncompressed(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
    ) -> Result<(), SendError> {
        self.check_may_send()?;
        if self.send.fragments().is_some() {
            return Err(SendError::FragmentInProgress);
        }
        let data = data.into();
        if kind == MessageKind::Text {
            std::str::from_utf8(&data).map_err(|_| SendError::InvalidUtf8)?;
        }
        self.send.push_frame(data_opcode(kind), true, 0, data);
        Ok(())
    }

    /// Queues one fragment of a message sent in pieces (RFC 6455 5.4). The
    /// first call starts a message of `kind`; later calls must give the same
    /// kind; `is_last` ends it. Control frames may be sent in between, other
    /// messages may not. Text fragments are checked to join into valid UTF-8
    /// (a code point may straddle fragments). Messages sent in fragments are
    /// not compressed.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.check_may_send()?;
        let data = data.into();
        let (opcode, mut utf8) = match self.send.fragments() {
            None => (data_opcode(kind), Utf8Validator::new()),
            Some(s) if s.kind == kind => (OpCode::Continuation, s.utf8.clone()),
            Some(_) => return Err(SendError::FragmentInProgress),
        };
        if kind == MessageKind::Text {
            utf8.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if is_last && !utf8.is_complete() {
                return Err(SendError::InvalidUtf8);
            }
        }
        self.send.push_frame(opcode, is_last, 0, data);
        self.send
            .set_fragments((!is_last).then_some(OutFragments { kind, utf8 }));
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload.into())
    }

    /// Queues an unsolicited pong (a unidirectional heartbeat, RFC 6455 5.5.3).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload.into())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_may_send()?;
        // RFC 6455 5.5: "All control frames MUST have a payload length of
        // 125 bytes or less".
        if payload.len() > 125 {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        self.send.push_frame(opcode, true, 0, payload);
        Ok(())
    }

    /// Starts the closing handshake, or answers the peer's close when
    /// auto-close is off. No frame may be sent after it. The peer has the
    /// close timeout, counted from `now`, to answer. Fails with
    /// [`SendError::Closed`] once a close frame was sent or the connection ended.
    ///
    /// `code` must be one an endpoint may send (see
    /// [`CloseCode::is_sendable`]) and `reason` at most 123 bytes.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.check_may_send()?;
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        self.now = now;
        let deadline = self.close_deadline();
        self.closing
            .close(&mut self.send, self.role, code, reason, deadline);
        Ok(())
    }

    fn check_may_send(&self) -> Result<(), SendError> {
        if self.closing.may_send() {
            Ok(())
        } else {
            Err(SendError::Closed)
        }
    }
}

/// The opcode of a message's first frame.
fn data_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
