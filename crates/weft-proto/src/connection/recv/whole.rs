//! The short path: a whole message in one frame, waiting in the buffer with
//! no frame or message in progress, taken in one go. `poll_event` splits it
//! off as `Bytes`; `poll_event_ref` lends it where it lies.
//!
//! Only a final, uncompressed text or binary frame of under 64 KiB, masked
//! as the role requires and within every limit, is taken here
//! ([`ShortHeader`]); anything else goes the general way, which reads the
//! same header again and applies every rule.

use bytes::Buf;

use super::message_event;
use crate::close::CloseReason;
use crate::connection::Connection;
use crate::error::ProtocolError;
use crate::frame::{apply_mask, OpCode, ShortHeader};
use crate::logging;
use crate::message::{Event, EventRef, MessageKind};
use crate::role::Role;

/// A whole message in one frame at the front of the buffer, unmasked.
#[derive(Debug, Clone, Copy)]
pub(in crate::connection) struct WholeFrame {
    header_len: usize,
    len: usize,
    kind: MessageKind,
}

impl Connection {
    /// The event of the whole message at the front of the buffer, if there
    /// is one, built once where it is returned. On invalid UTF-8 the
    /// connection fails and this returns `None`: the general path then
    /// delivers `Closed`.
    #[inline]
    pub(in crate::connection) fn whole_message(&mut self) -> Option<Event> {
        let frame = self.whole_message_in_place()?;
        // The frame is taken here, and its header not read again; its
        // bytes are still at the front of the buffer.
        logging::frame_received(|| (self.recv.unparsed(), usize::MAX));
        // One split for header and payload; dropping the header from the
        // frozen frame is then two field updates.
        let mut payload = self
            .recv
            .input
            .take_front(frame.header_len + frame.len)
            .freeze();
        payload.advance(frame.header_len);
        if let Some(event) = message_event(frame.kind, payload) {
            return Some(event);
        }
        self.fail_protocol(ProtocolError::InvalidUtf8);
        None
    }

    /// Finds the frame [`whole_message`](Self::whole_message) takes and
    /// unmasks its payload where it is, in the buffer. The callers log the
    /// frame as they take it (the log's test costs less there).
    #[inline]
    pub(in crate::connection) fn whole_message_in_place(&mut self) -> Option<WholeFrame> {
        let recv = &mut self.recv;
        if recv.frame.is_some() || recv.message.is_some() {
            return None;
        }
        let bytes = recv.input.bytes();
        let header = ShortHeader::parse(bytes, self.role == Role::Server)?;
        let (header_len, len) = (header.header_len, header.payload_len);
        if len > self.whole_max || len > bytes.len() - header_len {
            return None;
        }
        // The payload is unmasked where it lies (what `push` has not
        // unmasked already as it copied it in).
        let done = recv.input.premasked(header_len, len);
        if let Some(key) = header.mask {
            let payload = &mut recv.input.bytes_mut()[header_len + done..header_len + len];
            apply_mask(payload, key, done);
        }
        let kind = if header.opcode == OpCode::Text {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        Some(WholeFrame {
            header_len,
            len,
            kind,
        })
    }

    /// Lends the payload of the frame that
    /// [`whole_message_in_place`](Self::whole_message_in_place) found,
    /// which stays in the buffer until the next call that reads or parses.
    pub(in crate::connection) fn lend(&mut self, frame: WholeFrame) -> Option<EventRef<'_>> {
        let end = frame.header_len + frame.len;
        let payload = &self.recv.input.lend(end)[frame.header_len..];
        if frame.kind == MessageKind::Binary {
            return Some(EventRef::Binary(payload));
        }
        // Below 64 bytes, std's check is the faster of the two (measured in
        // benches/compare.rs: 16-byte text lent 1.2 times as fast).
        let text = if payload.len() < 64 {
            std::str::from_utf8(payload).ok()
        } else {
            simdutf8::basic::from_utf8(payload).ok()
        };
        if let Some(text) = text {
            return Some(EventRef::Text(text));
        }
        // `payload` stays borrowed for as long as the `Ok` path returns it,
        // which keeps the receive buffer out of reach here: the connection
        // fails without it (`Connection::fail` less its first line), and
        // what was received is dropped at the next call instead.
        let error = ProtocolError::InvalidUtf8;
        let (code, text) = (error.close_code(), error.to_string());
        self.recv.discard = true;
        let reason = CloseReason::Protocol(error);
        self.closing.fail(&mut self.send, code, &text, reason);
        self.lent_event = self.closing.take_closed_event().map(Box::new);
        self.lent_event.as_deref().map(Event::as_event_ref)
    }
}
