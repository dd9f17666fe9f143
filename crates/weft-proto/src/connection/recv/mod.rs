//! The receive path: frame headers checked against the connection's rules
//! and limits, payloads unmasked in place, messages reassembled.
//!
//! - [`buffer`]: the receive buffer and its invariants.
//! - this file: one parsing step, frame by frame, and the header's checks.
//! - [`whole`]: the short path for a whole message in one frame, owned or lent.
//! - [`assembly`]: messages in several frames: buffered, streamed, compressed.
//! - [`control`]: ping, pong and close frames.
//!
//! Payloads are never copied on the way from the receive buffer to a whole
//! single-frame message: the frame is unmasked where it lies and split off
//! as `Bytes`, or lent where it lies (`poll_event_ref`). Only fragmented
//! messages are copied, into one buffer.

mod assembly;
mod buffer;
mod control;
mod whole;

use bytes::Bytes;

use super::send::RSV1;
use super::Connection;
use crate::close::CloseReason;
use crate::error::ProtocolError;
use crate::frame::{apply_mask, FrameHeader, OpCode};
use crate::logging;
use crate::message::{Event, MessageKind, Utf8Bytes};
use crate::role::Role;
use crate::text_buf::TextBuf;
use crate::utf8::Utf8Validator;

use assembly::InMessage;
pub(super) use buffer::{Input, Parsed};

/// What one step of parsing produced.
pub(super) enum Step {
    Event(Event),
    /// Progress without an event (a non-final fragment); step again.
    Continue,
    /// The input holds no more whole frames (or stream-able bytes).
    NeedMore,
}

/// What reading the next frame header gave.
enum HeaderStep {
    /// A frame whose payload follows.
    Frame(InFrame),
    /// The header made a buffered message switch to streaming: what it had
    /// buffered is an event, delivered before the frame's own bytes.
    Flushed(Event),
    /// The header has not wholly arrived.
    Incomplete,
}

/// Everything received and what the parser has made of it so far.
#[derive(Debug, Default)]
pub(super) struct Recv {
    pub(super) input: Input,
    /// The frame whose header has been taken and whose payload is arriving.
    frame: Option<InFrame>,
    /// The message whose first frame has arrived, when it has more frames.
    /// Boxed: a connection holds one only while such a message arrives.
    message: Option<Box<InMessage>>,
    /// Checks the text of a message in several frames, or streamed, as it
    /// comes (RFC 6455 8.1).
    utf8: Utf8Validator,
    /// The text of a message in one frame that arrives in pieces: each
    /// piece is moved here and checked as it arrives, and the whole is not
    /// checked again.
    text: TextBuf,
    /// The transport's read side ended.
    pub(super) eof: bool,
    /// Everything received is to be dropped at the next call: the
    /// connection failed while a lent borrow of the buffer was held.
    discard: bool,
}

/// A frame whose header has been consumed.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFrame {
    opcode: OpCode,
    fin: bool,
    pub(super) mask: Option<[u8; 4]>,
    /// Payload bytes not yet split off the buffer.
    pub(super) remaining: usize,
    /// How many bytes at the front of the buffer are already unmasked and
    /// validated (for text).
    ready: usize,
    /// How many bytes at the front of the buffer are already unmasked (at
    /// least `ready`: bytes are unmasked as they are copied in).
    pub(super) unmasked: usize,
    /// The payload offset of the buffer's first byte (the masking phase).
    pub(super) offset: usize,
    /// Feed payload bytes to the UTF-8 validator as they arrive.
    check_utf8: bool,
    /// A text message in this one frame, arriving in pieces: move each
    /// piece to `Recv::text` as it arrives.
    collect_text: bool,
}

impl Recv {
    /// Appends bytes read; see [`Input::push`].
    pub(super) fn push(&mut self, data: &[u8], walk: bool) {
        self.settle();
        self.input.push(data, walk, self.frame.as_mut());
    }

    /// Lets go of what the last lent event borrowed, or of everything when
    /// the connection failed while it was lent.
    #[inline]
    pub(super) fn settle(&mut self) {
        self.input.release_lent();
        if self.discard {
            self.clear();
        }
    }

    /// The bytes received and not yet parsed, from the next frame's header on.
    pub(super) fn unparsed(&self) -> &[u8] {
        self.input.bytes()
    }

    pub(super) fn buffered(&self) -> usize {
        if self.discard {
            return 0;
        }
        self.input.len() + self.text.len() + self.message.as_deref().map_or(0, InMessage::buffered)
    }

    /// Drops everything received: after a close frame or a failure.
    pub(super) fn clear(&mut self) {
        self.input.clear();
        self.discard = false;
        self.frame = None;
        self.message = None;
        self.text.clear();
    }

    /// Whether a text frame in pieces is being moved to `text`: the
    /// receive buffer keeps the room it has for the rest of the frame while
    /// it waits, so the pieces that land there join without a copy.
    pub(super) fn collecting_text(&self) -> bool {
        self.frame.is_some_and(|f| f.collect_text)
    }
}

/// The event of a whole message, or `None` for text that is not UTF-8:
/// text is checked here, once (RFC 6455 8.1), as it becomes `Utf8Bytes`.
/// An `Option`, not a `Result`: the short path returns it as it is, and the
/// smaller type is moved for free (a `Result` cost 18 instructions a
/// message on the short path, counted with callgrind).
#[inline(always)]
fn message_event(kind: MessageKind, data: Bytes) -> Option<Event> {
    match kind {
        MessageKind::Binary => Some(Event::Binary(data)),
        MessageKind::Text => Utf8Bytes::try_from(data).ok().map(Event::Text),
    }
}

impl Connection {
    /// Parses as far as the next event.
    pub(super) fn step(&mut self) -> Step {
        match self.try_step() {
            Ok(step) => step,
            Err(error) => {
                self.fail_protocol(error);
                // The next turn of the polling loop delivers `Closed`.
                Step::Continue
            }
        }
    }

    /// Fails the connection for the peer's protocol violation, with the
    /// close code that violation calls for.
    fn fail_protocol(&mut self, error: ProtocolError) {
        let text = error.to_string();
        self.fail(error.close_code(), &text, CloseReason::Protocol(error));
    }

    fn try_step(&mut self) -> Result<Step, ProtocolError> {
        // A compressed message that stopped inflating at the stream
        // threshold resumes before anything else is read.
        if self
            .recv
            .message
            .as_deref()
            .is_some_and(InMessage::has_pending)
        {
            return self.inflate_pending();
        }
        let mut frame = match self.recv.frame {
            Some(frame) => frame,
            None => match self.read_header()? {
                HeaderStep::Frame(frame) => frame,
                HeaderStep::Flushed(event) => return Ok(Step::Event(event)),
                HeaderStep::Incomplete => return Ok(Step::NeedMore),
            },
        };
        let recv = &mut self.recv;
        let avail = recv.input.bytes().len().min(frame.remaining);
        if avail > frame.ready {
            if let Some(key) = frame.mask {
                let from = frame.unmasked.max(frame.ready);
                if avail > from {
                    let offset = frame.offset + from;
                    apply_mask(&mut recv.input.bytes_mut()[from..avail], key, offset);
                }
            }
            frame.unmasked = frame.unmasked.max(avail);
            if frame.check_utf8 {
                // RFC 6455 8.1, fail fast: "When an endpoint is to interpret
                // a byte stream as UTF-8 but finds that the byte stream is
                // not, in fact, a valid UTF-8 stream, that endpoint MUST
                // _Fail the WebSocket Connection_".
                let fresh = &recv.input.bytes()[frame.ready..avail];
                recv.utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            frame.ready = avail;
        }
        if frame.collect_text {
            return self.collect_text(frame, avail);
        }
        let streamed = !frame.opcode.is_control()
            && recv.message.as_deref().is_some_and(InMessage::is_streamed);
        if streamed {
            return self.stream(frame, avail);
        }
        if avail < frame.remaining {
            recv.frame = Some(frame);
            return Ok(Step::NeedMore);
        }
        recv.frame = None;
        let payload = recv.input.take_front(frame.remaining);
        match frame.opcode {
            OpCode::Ping => Ok(Step::Event(self.on_ping(payload.freeze()))),
            OpCode::Pong => Ok(Step::Event(self.on_pong(payload.freeze()))),
            OpCode::Close => self.on_close(&payload),
            // No message state: the whole message is this frame.
            OpCode::Text if recv.message.is_none() => {
                message_event(MessageKind::Text, payload.freeze())
                    .map(Step::Event)
                    .ok_or(ProtocolError::InvalidUtf8)
            }
            OpCode::Binary if recv.message.is_none() => {
                Ok(Step::Event(Event::Binary(payload.freeze())))
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.on_data(payload, frame.fin)
            }
        }
    }

    /// Moves what has arrived of a text frame in pieces to `Recv::text`,
    /// checking it, and delivers the text once the frame is complete.
    fn collect_text(&mut self, mut frame: InFrame, avail: usize) -> Result<Step, ProtocolError> {
        let recv = &mut self.recv;
        if avail > 0 {
            let piece = recv.input.take_front(avail);
            frame.remaining -= avail;
            frame.offset += avail;
            frame.ready = 0;
            frame.unmasked = 0;
            recv.text
                .push(piece, frame.remaining)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if frame.remaining > 0 {
            recv.frame = Some(frame);
            return Ok(Step::NeedMore);
        }
        recv.frame = None;
        let text = recv.text.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        Ok(Step::Event(Event::Text(Utf8Bytes::from_validated(text))))
    }

    /// Reads and checks the next frame header.
    fn read_header(&mut self) -> Result<HeaderStep, ProtocolError> {
        let Some((header, header_len)) = FrameHeader::parse(self.recv.input.bytes())? else {
            return Ok(HeaderStep::Incomplete);
        };
        // Logged before the connection's own checks, so that a trace shows
        // the frame that broke a rule before the failure it caused.
        logging::frame_received(|| {
            let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
            let unmasked = self.recv.input.premasked(header_len, len);
            (self.recv.unparsed(), unmasked)
        });
        // RFC 6455 5.2: "MUST be 0 unless an extension is negotiated that
        // defines meanings for non-zero values". permessage-deflate defines
        // RSV1, on the first frame of a data message only (RFC 7692 6, 6.1).
        let rsv1_allowed =
            self.deflate.is_some() && matches!(header.opcode, OpCode::Text | OpCode::Binary);
        let allowed = if rsv1_allowed { RSV1 } else { 0 };
        if header.rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv));
        }
        let compressed = header.rsv & RSV1 != 0;
        // RFC 6455 5.1: "a client MUST mask all frames that it sends to the
        // server"; "A server MUST NOT mask any frames that it sends".
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let max_frame = self.config.max_frame_size;
        if header.payload_len > max_frame as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len: header.payload_len,
                max: max_frame,
            });
        }
        let len = header.payload_len as usize;
        let mut frame = InFrame {
            opcode: header.opcode,
            fin: header.fin,
            mask: header.mask,
            remaining: len,
            ready: 0,
            unmasked: 0,
            offset: 0,
            check_utf8: false,
            collect_text: false,
        };
        let mut flushed = None;
        if !header.opcode.is_control() {
            flushed = self.start_data_frame(&mut frame, header_len, compressed)?;
        }
        frame.unmasked = self.recv.input.premasked(header_len, len);
        self.recv.input.skip(header_len);
        self.recv.frame = Some(frame);
        Ok(match flushed {
            Some(event) => HeaderStep::Flushed(event),
            None => HeaderStep::Frame(frame),
        })
    }
}
