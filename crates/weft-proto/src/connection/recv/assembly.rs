//! Messages in several frames (RFC 6455 5.4): assembled into one buffer,
//! delivered as fragments once they grow past the stream threshold, or
//! inflated frame by frame when compressed (RFC 7692).
//!
//! A message in one frame, the common case, never gets here: it has no
//! message state at all (see [`super::whole`] and the single-frame arm of
//! the parsing step).

use bytes::{Buf, Bytes, BytesMut};

use super::{message_event, InFrame, Step};
use crate::connection::Connection;
#[cfg(feature = "deflate")]
use crate::deflate::TAIL;
use crate::error::ProtocolError;
use crate::frame::OpCode;
use crate::message::{Event, Fragment, MessageKind};
#[cfg(not(feature = "deflate"))]
use crate::no_deflate::TAIL;

/// A data message whose first frame has arrived and which takes more.
#[derive(Debug)]
pub(super) struct InMessage {
    kind: MessageKind,
    body: Body,
}

/// What is kept of a message's payload, by how it is delivered.
#[derive(Debug)]
enum Body {
    /// Delivered whole: the payload of the frames received so far.
    Buffered(BytesMut),
    /// Delivered as fragments as its bytes arrive: it grew past the stream
    /// threshold. `size` counts every payload byte so far, against the
    /// message size limit.
    Streamed { size: usize, started: bool },
    /// Sent compressed (RSV1 on its first frame, RFC 7692 6): each frame is
    /// inflated as it completes.
    Compressed(Inflating),
}

/// A compressed message being inflated.
#[derive(Debug, Default)]
struct Inflating {
    /// What its frames inflated to so far and has not been delivered.
    inflated: Vec<u8>,
    /// Compressed bytes received and not yet inflated (with the restored
    /// tail once the last frame is in): inflating stops at the stream
    /// threshold and resumes from here.
    pending: BytesMut,
    /// The last frame's bytes are in `pending`.
    last: bool,
    /// Inflated bytes already delivered as fragments.
    streamed: usize,
    /// A fragment of it has been delivered.
    started: bool,
}

impl InMessage {
    /// Payload bytes held for it.
    pub(super) fn buffered(&self) -> usize {
        match &self.body {
            Body::Buffered(data) => data.len(),
            Body::Streamed { .. } => 0,
            Body::Compressed(i) => i.inflated.len() + i.pending.len(),
        }
    }

    pub(super) fn is_streamed(&self) -> bool {
        matches!(self.body, Body::Streamed { .. })
    }

    /// Whether compressed bytes wait to be inflated.
    pub(super) fn has_pending(&self) -> bool {
        matches!(&self.body, Body::Compressed(i) if !i.pending.is_empty())
    }
}

impl Connection {
    /// Checks a data frame against the fragment sequence and the message
    /// limit, and decides how its payload is handled. A message in a single
    /// frame, the common case, gets no message state at all. Returns what
    /// a message that switches to streaming had buffered, as its first
    /// fragment.
    pub(super) fn start_data_frame(
        &mut self,
        frame: &mut InFrame,
        header_len: usize,
        compressed: bool,
    ) -> Result<Option<Event>, ProtocolError> {
        let len = frame.remaining;
        let max_message = self.config.max_message_size;
        let threshold = self.config.stream_threshold;
        let recv = &mut self.recv;
        let too_large = |size: u64| ProtocolError::MessageTooLarge {
            len: size,
            max: max_message,
        };
        let message = match (frame.opcode, recv.message.as_deref_mut()) {
            // RFC 6455 5.4: "The fragments of one message MUST NOT be
            // interleaved between the fragments of another message".
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            (OpCode::Continuation, Some(message)) => message,
            // Text or binary: the parsing step passes no control frames.
            (opcode, _) => {
                debug_assert!(!opcode.is_control(), "a control frame as a data frame");
                let kind = if opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                recv.utf8.reset();
                if frame.fin && !compressed && threshold.is_none_or(|t| len <= t) {
                    if len > max_message {
                        return Err(too_large(len as u64));
                    }
                    // Its text is validated once, as it becomes `Utf8Bytes`,
                    // unless it arrives in pieces: then each piece is checked
                    // as it comes, to fail fast, and collected.
                    let whole_now = recv.input.bytes().len() - header_len >= len;
                    frame.collect_text = kind == MessageKind::Text && !whole_now;
                    return Ok(None);
                }
                let body = if compressed {
                    Body::Compressed(Inflating::default())
                } else {
                    Body::Buffered(BytesMut::new())
                };
                recv.message.insert(Box::new(InMessage { kind, body }))
            }
        };
        let mut flushed = None;
        match &mut message.body {
            // A compressed message is held to the limit by what it inflates to.
            Body::Compressed(_) => {}
            Body::Streamed { size, .. } => {
                let total = *size as u64 + len as u64;
                if total > max_message as u64 {
                    return Err(too_large(total));
                }
                *size += len;
            }
            Body::Buffered(data) => {
                // Every earlier frame is whole in `data`: a frame's header
                // is read only once the frame before it is taken.
                let total = data.len() as u64 + len as u64;
                if total > max_message as u64 {
                    return Err(too_large(total));
                }
                if threshold.is_some_and(|t| total > t as u64) {
                    let started = !data.is_empty();
                    if started {
                        flushed = Some(Event::Fragment(Fragment {
                            kind: message.kind,
                            data: data.split().freeze(),
                            is_first: true,
                            is_last: false,
                        }));
                    }
                    message.body = Body::Streamed {
                        size: total as usize,
                        started,
                    };
                }
            }
        }
        // Fragmented or streamed text is validated as it arrives (compressed
        // text as it inflates).
        frame.check_utf8 =
            message.kind == MessageKind::Text && !matches!(message.body, Body::Compressed(_));
        Ok(flushed)
    }

    /// Delivers what has arrived of a streamed message's frame.
    pub(super) fn stream(
        &mut self,
        mut frame: InFrame,
        avail: usize,
    ) -> Result<Step, ProtocolError> {
        let recv = &mut self.recv;
        let data = recv.input.take_front(avail).freeze();
        frame.remaining -= avail;
        frame.offset += avail;
        frame.ready = 0;
        frame.unmasked = 0;
        let frame_done = frame.remaining == 0;
        recv.frame = (!frame_done).then_some(frame);
        let is_last = frame_done && frame.fin;
        if is_last && !recv.utf8.is_complete() {
            return Err(ProtocolError::InvalidUtf8);
        }
        if data.is_empty() && !is_last {
            return Ok(if frame_done {
                Step::Continue
            } else {
                Step::NeedMore
            });
        }
        let Some(InMessage {
            kind,
            body: Body::Streamed { started, .. },
        }) = recv.message.as_deref_mut()
        else {
            // Not reached: the parsing step streams only a streamed message.
            debug_assert!(false, "a frame streamed with no streamed message");
            return Ok(Step::Continue);
        };
        let fragment = Fragment {
            kind: *kind,
            data,
            is_first: !*started,
            is_last,
        };
        *started = true;
        if is_last {
            recv.message = None;
        }
        Ok(Step::Event(Event::Fragment(fragment)))
    }

    /// A whole frame of a message in several frames, not streamed.
    pub(super) fn on_data(&mut self, payload: BytesMut, fin: bool) -> Result<Step, ProtocolError> {
        let Some(message) = self.recv.message.as_deref_mut() else {
            // Not reached: a first frame without a message is taken whole by
            // the parsing step, and a continuation without one is refused.
            debug_assert!(false, "a data frame with no message state");
            return Ok(Step::Continue);
        };
        let data = match &mut message.body {
            Body::Compressed(inflating) => {
                // Queued for inflating, with the restored tail after the
                // last frame (RFC 7692 7.2.2).
                if inflating.pending.is_empty() {
                    inflating.pending = payload;
                } else {
                    inflating.pending.extend_from_slice(&payload);
                }
                if fin {
                    inflating.pending.extend_from_slice(&TAIL);
                    inflating.last = true;
                }
                return self.inflate_pending();
            }
            Body::Buffered(data) => {
                if data.is_empty() {
                    *data = payload;
                } else {
                    data.extend_from_slice(&payload);
                }
                if !fin {
                    return Ok(Step::Continue);
                }
                std::mem::take(data).freeze()
            }
            Body::Streamed { .. } => {
                // Not reached: the parsing step delivers a streamed
                // message's bytes as they arrive.
                debug_assert!(false, "a whole frame of a streamed message");
                return Ok(Step::Continue);
            }
        };
        let kind = message.kind;
        self.recv.message = None;
        message_event(kind, data)
            .map(Step::Event)
            .ok_or(ProtocolError::InvalidUtf8)
    }

    /// Inflates what is pending of a compressed message: all of it, never
    /// past the message size limit, or with a stream threshold, about a
    /// threshold's worth per step, each step a fragment. Memory stays
    /// within the limit, or about twice the threshold, whatever the ratio.
    pub(super) fn inflate_pending(&mut self) -> Result<Step, ProtocolError> {
        let max = self.config.max_message_size;
        let threshold = self.config.stream_threshold;
        let recv = &mut self.recv;
        let (
            Some(InMessage {
                kind,
                body: Body::Compressed(message),
            }),
            Some(deflate),
        ) = (recv.message.as_deref_mut(), self.deflate.as_mut())
        else {
            // Not reached: a compressed message exists only with deflate on.
            debug_assert!(false, "inflating with no compressed message or codec");
            return Ok(Step::Continue);
        };
        let kind = *kind;
        let room = max.saturating_sub(message.streamed).saturating_add(1);
        let cap = match threshold {
            Some(t) => room.min(message.inflated.len().saturating_add(t.max(1))),
            None => room,
        };
        let before = message.inflated.len();
        let used = deflate
            .inflate(&message.pending, &mut message.inflated, cap)
            .map_err(|_| ProtocolError::InvalidCompressedData)?;
        message.pending.advance(used);
        if message.streamed + message.inflated.len() > max {
            return Err(ProtocolError::MessageTooLarge {
                len: max as u64 + 1,
                max,
            });
        }
        if kind == MessageKind::Text {
            // Fail fast on what has inflated so far (RFC 6455 8.1).
            recv.utf8
                .feed(&message.inflated[before..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let done = message.last && message.pending.is_empty();
        if done {
            deflate.end_message();
            if kind == MessageKind::Text && !recv.utf8.is_complete() {
                return Err(ProtocolError::InvalidUtf8);
            }
        }
        let total = message.streamed + message.inflated.len();
        if message.started || threshold.is_some_and(|t| total > t) {
            if message.inflated.is_empty() && !done {
                return Ok(Step::Continue);
            }
            let data = Bytes::from(std::mem::take(&mut message.inflated));
            message.streamed += data.len();
            let is_first = !message.started;
            message.started = true;
            if done {
                recv.message = None;
            }
            return Ok(Step::Event(Event::Fragment(Fragment {
                kind,
                data,
                is_first,
                is_last: done,
            })));
        }
        if !done {
            return Ok(Step::Continue);
        }
        let data = Bytes::from(std::mem::take(&mut message.inflated));
        recv.message = None;
        message_event(kind, data)
            .map(Step::Event)
            .ok_or(ProtocolError::InvalidUtf8)
    }
}
