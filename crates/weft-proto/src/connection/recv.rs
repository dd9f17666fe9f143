//! The receive path: frame headers checked against the connection's rules
//! and limits, payloads unmasked in place, messages reassembled.
//!
//! Payloads are never copied on the way from the input buffer to a whole
//! single-frame message: the frame is unmasked where it lies and split off
//! as `Bytes`, or lent where it lies (`poll_event_ref`). Only fragmented
//! messages are copied, into one buffer.

use bytes::{Buf, Bytes, BytesMut};

use super::{queue_close_in, Connection, Phase, RSV1};

use crate::close::{CloseCode, CloseFrame, CloseReason};
use crate::config::Role;
#[cfg(feature = "deflate")]
use crate::deflate::TAIL;
use crate::error::ProtocolError;
use crate::frame::{apply_mask, FrameHeader, OpCode};
use crate::message::{Event, EventRef, Fragment, MessageKind, Utf8Bytes};
#[cfg(not(feature = "deflate"))]
use crate::no_deflate::TAIL;
use crate::utf8::Utf8Validator;

/// The most room reserved beyond one read.
const MAX_READ_AHEAD: usize = 256 * 1024;

/// The payload size from which a server unmasks a frame as it copies it in.
const WALK_MIN: u64 = 4096;

/// What one step of parsing produced.
pub(super) enum Step {
    Event(Event),
    /// Progress without an event (a non-final fragment); step again.
    Continue,
    /// The input holds no more whole frames (or stream-able bytes).
    NeedMore,
}

#[derive(Debug, Default)]
pub(super) struct Recv {
    buf: BytesMut,
    /// What follows a large frame that a read completed in `buf` without
    /// room for the rest of the read: it starts at a frame boundary and
    /// becomes `buf` once `buf` is parsed.
    next: Option<BytesMut>,
    frame: Option<InFrame>,
    message: Option<InMessage>,
    utf8: Utf8Validator,
    pub(super) eof: bool,
    /// Bytes arrived that `poll_event` has not yet parsed as far as it can.
    /// Deadlines that judge the peer's silence wait while this is set: the
    /// answer may be among those bytes.
    pub(super) unparsed: bool,
    /// Bytes removed from the front of `buf` since the connection began:
    /// positions in the stream, for `premask`.
    consumed: u64,
    /// Stream positions: every frame whose header starts at or after
    /// `premask.start` has its payload bytes before `premask.end` unmasked
    /// already.
    premask: std::ops::Range<u64>,
    /// Bytes at the front of `buf` that `poll_event_ref` lent, removed at
    /// the next call that reads or parses.
    lent: usize,
    /// Everything received is to be dropped at that call: the connection
    /// failed while a borrow of `buf` was held.
    discard: bool,
}

/// A frame whose header has been consumed.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet split off the buffer.
    remaining: usize,
    /// How many bytes at the front of the buffer are already unmasked and
    /// validated (for text).
    ready: usize,
    /// How many bytes at the front of the buffer are already unmasked (at
    /// least `ready`: bytes are unmasked as they are copied in).
    unmasked: usize,
    /// The payload offset of the buffer's first byte (the masking phase).
    offset: usize,
    /// Feed payload bytes to the UTF-8 validator as they arrive.
    check_utf8: bool,
}

/// A whole message in one frame at the front of the buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct WholeFrame {
    header_len: usize,
    len: usize,
    text: bool,
}

/// A data message whose first frame has arrived.
#[derive(Debug)]
struct InMessage {
    kind: MessageKind,
    /// Payload of the frames received so far (whole-message mode).
    data: BytesMut,
    /// Payload size so far, including frames already streamed out.
    size: usize,
    /// Delivered as fragments (it grew past the stream threshold).
    streaming: bool,
    /// A fragment of it has been delivered.
    started: bool,
    /// Sent compressed (RSV1 on its first frame, RFC 7692 6): each frame
    /// is inflated onto `inflated` as it completes.
    compressed: bool,
    /// What the frames of a compressed message inflated to so far.
    inflated: Vec<u8>,
    /// Compressed bytes received and not yet inflated (with the restored
    /// tail once the last frame is in): inflating stops at the stream
    /// threshold and resumes from here.
    pending: BytesMut,
    /// The last frame's bytes are in `pending`.
    last: bool,
    /// Inflated bytes already delivered as fragments.
    streamed: usize,
}

impl Recv {
    /// Appends bytes read. A server (`walk`) unmasks payloads as it copies
    /// them in, while they are in cache, instead of in a second pass: the
    /// rest of a frame in progress, then every frame whose header starts in
    /// `data` at a known frame boundary. Headers are only read here, never
    /// judged: the parser checks them again in order and applies every
    /// rule; [`premasked`](Self::premasked) tells it what is unmasked.
    ///
    /// A large frame is not moved once its first bytes are in, unless it is
    /// more than about twice as long as they are: a fresh buffer gets room
    /// for the end of the last of the large frames at the front of the read
    /// (within the bound below), and a read that completes a large frame in
    /// progress without fitting whole puts what follows the frame in a
    /// second buffer, which becomes the buffer once the frame is parsed.
    pub(super) fn push(&mut self, mut data: &[u8], walk: bool) {
        self.settle();
        self.unparsed |= !data.is_empty();
        if self.buf.is_empty() {
            if let Some(next) = self.next.take() {
                self.buf = next;
            }
        }
        // Where the next frame header starts in `data`, if that is known.
        let mut boundary = self.frame.is_none() && self.buf.is_empty() && self.next.is_none();
        let mut divert = false;
        if let (Some(frame), None) = (self.frame.as_mut(), &self.next) {
            // The buffer holds nothing but the start of this frame's payload.
            if self.buf.len() < frame.remaining {
                let take = (frame.remaining - self.buf.len()).min(data.len());
                let spare = self.buf.capacity() - self.buf.len();
                divert = take < data.len()
                    && spare >= take
                    && spare < data.len()
                    && self.buf.len() >= WALK_MIN as usize;
                if spare < take {
                    // As below: an empty buffer gets room for the read and
                    // for the frame's rest beyond it; one that holds part of
                    // the frame, for one more read besides.
                    let more = if self.buf.is_empty() {
                        frame.remaining - take
                    } else {
                        data.len()
                    };
                    self.buf
                        .reserve(data.len() + more.min(data.len()).min(MAX_READ_AHEAD));
                }
                match frame.mask {
                    Some(key) if frame.unmasked == self.buf.len() => {
                        extend_unmasked(
                            &mut self.buf,
                            &data[..take],
                            key,
                            frame.offset + frame.unmasked,
                        );
                        frame.unmasked += take;
                    }
                    _ => self.buf.extend_from_slice(&data[..take]),
                }
                data = &data[take..];
                boundary = self.buf.len() == frame.remaining;
            }
        }
        if data.is_empty() {
            return;
        }
        let start = self.consumed
            + self.buf.len() as u64
            + self.next.as_ref().map_or(0, |next| next.len() as u64);
        let tail = if divert || self.next.is_some() {
            self.next.get_or_insert_with(BytesMut::new)
        } else {
            &mut self.buf
        };
        if tail.capacity() - tail.len() < data.len() {
            // An empty buffer gets room for what arrives, and at a frame
            // boundary for the rest of the large frame that `data` ends in
            // when only large frames come before it in `data`.
            // One that holds the start of a frame gets room for one more
            // read besides, so a partial frame left at its end after the
            // whole ones are split off moves every other read rather than at
            // every read. Either way it holds at most a frame plus one read
            // (as `Config::max_frame_size` and the read size bound), and
            // never more than twice what has arrived.
            let more = if !tail.is_empty() {
                data.len().min(MAX_READ_AHEAD)
            } else if boundary {
                large_frame_rest(data).min(data.len()).min(MAX_READ_AHEAD)
            } else {
                0
            };
            tail.reserve(data.len() + more);
        }
        if walk && boundary {
            self.premask = start..start;
            while let Ok(Some((header, header_len))) = FrameHeader::parse(data) {
                // Short frames are copied with the rest and unmasked as they
                // are parsed: for them one copy of the whole read beats
                // copying frame by frame.
                let (Some(key), true) = (header.mask, header.payload_len >= WALK_MIN) else {
                    break;
                };
                let here = (data.len() - header_len)
                    .min(usize::try_from(header.payload_len).unwrap_or(usize::MAX));
                extend_frame_unmasked(tail, &data[..header_len + here], header_len, key);
                data = &data[header_len + here..];
                self.premask.end += (header_len + here) as u64;
                if (here as u64) < header.payload_len {
                    break;
                }
            }
        }
        tail.extend_from_slice(data);
    }

    /// How many bytes at the start of the payload of the frame whose header
    /// is at the front of the buffer, `header_len` long, `len` bytes of
    /// payload, [`push`](Self::push) has already unmasked.
    fn premasked(&self, header_len: usize, len: usize) -> usize {
        let payload = self.consumed + header_len as u64;
        if self.consumed < self.premask.start || payload >= self.premask.end {
            return 0;
        }
        usize::try_from(self.premask.end - payload).map_or(len, |n| n.min(len))
    }

    /// Removes what `poll_event_ref` lent from the buffer.
    #[inline]
    pub(super) fn settle(&mut self) {
        if self.lent > 0 {
            self.consumed += self.lent as u64;
            self.buf.advance(self.lent);
            self.lent = 0;
        }
        if self.discard {
            self.clear();
        }
    }

    /// Removes and returns the first `n` bytes of the buffer.
    fn take_front(&mut self, n: usize) -> BytesMut {
        self.consumed += n as u64;
        self.buf.split_to(n)
    }

    /// Called once everything received is parsed: an empty buffer is let go
    /// (its memory is freed once the application drops the payloads split
    /// off it), so a connection that has gone quiet holds no receive
    /// buffer, whatever its last read was.
    ///
    /// Returns `true` when bytes put aside in the second buffer (see
    /// [`push`](Self::push)) follow, to be parsed now.
    pub(super) fn parsed_all(&mut self) -> bool {
        if let Some(next) = self.next.take() {
            if self.buf.is_empty() {
                self.buf = next;
            } else {
                // Not reached: the second buffer starts at the end of a
                // frame, and the parser only waits for more once it has
                // taken every whole frame. Joined, the bytes stay in order.
                debug_assert!(false, "a second buffer behind a partial frame");
                self.buf.extend_from_slice(&next);
            }
            return true;
        }
        self.unparsed = false;
        if self.buf.is_empty() {
            // Even with no capacity left: a buffer split or advanced to its
            // end may still hold its allocation.
            self.buf = BytesMut::new();
        }
        false
    }

    pub(super) fn buffered(&self) -> usize {
        if self.discard {
            return 0;
        }
        self.buf.len() - self.lent
            + self.next.as_ref().map_or(0, BytesMut::len)
            + self
                .message
                .as_ref()
                .map_or(0, |m| m.data.len() + m.inflated.len() + m.pending.len())
    }

    /// Drops everything received: after a close frame or a failure.
    pub(super) fn clear(&mut self) {
        self.buf = BytesMut::new();
        self.lent = 0;
        self.discard = false;
        self.next = None;
        self.premask = 0..0;
        self.frame = None;
        self.message = None;
        self.unparsed = false;
    }
}

impl Connection {
    /// Parses as far as the next event.
    pub(super) fn step(&mut self) -> Step {
        match self.try_step() {
            Ok(step) => step,
            Err(e) => Step::Event(self.fail(e)),
        }
    }

    fn try_step(&mut self) -> Result<Step, ProtocolError> {
        // A compressed message that stopped inflating at the stream
        // threshold resumes before anything else is read.
        if self
            .recv
            .message
            .as_ref()
            .is_some_and(|m| !m.pending.is_empty())
        {
            return self.inflate_pending();
        }
        let mut frame = match self.recv.frame {
            Some(frame) => frame,
            None => match self.read_header()? {
                Some(Ok(frame)) => frame,
                // Switching to streaming flushed what was buffered.
                Some(Err(event)) => return Ok(Step::Event(event)),
                None => return Ok(Step::NeedMore),
            },
        };
        let recv = &mut self.recv;
        let avail = recv.buf.len().min(frame.remaining);
        if avail > frame.ready {
            if let Some(key) = frame.mask {
                let from = frame.unmasked.max(frame.ready);
                if avail > from {
                    apply_mask(&mut recv.buf[from..avail], key, frame.offset + from);
                }
            }
            frame.unmasked = frame.unmasked.max(avail);
            let fresh = &recv.buf[frame.ready..avail];
            if frame.check_utf8 {
                // RFC 6455 8.1, fail fast: as soon as the bytes seen cannot be UTF-8.
                recv.utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            frame.ready = avail;
        }
        let streaming =
            !frame.opcode.is_control() && recv.message.as_ref().is_some_and(|m| m.streaming);
        if streaming {
            return self.stream(frame, avail);
        }
        if avail < frame.remaining {
            recv.frame = Some(frame);
            return Ok(Step::NeedMore);
        }
        recv.frame = None;
        let payload = recv.take_front(frame.remaining);
        match frame.opcode {
            OpCode::Ping => Ok(Step::Event(self.on_ping(payload.freeze()))),
            OpCode::Pong => Ok(Step::Event(self.on_pong(payload.freeze()))),
            OpCode::Close => self.on_close(&payload),
            // No message state: the whole message is this frame.
            OpCode::Text if recv.message.is_none() => Ok(Step::Event(Event::Text(
                Utf8Bytes::try_from(payload.freeze()).map_err(|_| ProtocolError::InvalidUtf8)?,
            ))),
            OpCode::Binary if recv.message.is_none() => {
                Ok(Step::Event(Event::Binary(payload.freeze())))
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.on_data(payload, frame.fin)
            }
        }
    }

    /// The common case on a short path of its own: a whole message in one
    /// frame waiting in the buffer, with no frame or message in progress.
    /// Anything else returns `None` and takes the general path, which reads
    /// the same header again and applies every rule. The event is built
    /// once, where it is returned: no layers of `Result` and `Step` to copy
    /// it through.
    #[inline]
    pub(super) fn whole_message(&mut self) -> Option<Event> {
        let frame = self.whole_message_in_place()?;
        // One split for header and payload; dropping the header from the
        // frozen frame is then two field updates.
        let mut payload = self.recv.take_front(frame.header_len + frame.len).freeze();
        payload.advance(frame.header_len);
        if !frame.text {
            return Some(Event::Binary(payload));
        }
        Some(match Utf8Bytes::try_from(payload) {
            Ok(text) => Event::Text(text),
            Err(_) => self.fail(ProtocolError::InvalidUtf8),
        })
    }

    /// Finds the frame [`whole_message`](Self::whole_message) takes and
    /// unmasks its payload where it is, in the buffer.
    #[inline]
    pub(super) fn whole_message_in_place(&mut self) -> Option<WholeFrame> {
        let recv = &mut self.recv;
        if recv.frame.is_some() || recv.message.is_some() {
            return None;
        }
        // The header of a final, uncompressed text or binary frame, with a
        // 7- or 16-bit length, masked as the role requires; any other (a
        // 64-bit length means at least 64 KiB of payload, where the header
        // costs nothing) goes the general way.
        let head = &recv.buf[..];
        let [b0 @ (0x81 | 0x82), b1, ..] = *head else {
            return None;
        };
        let masked = b1 & 0x80 != 0;
        if masked != (self.role == Role::Server) {
            return None;
        }
        let (len, mut header_len) = match b1 & 0x7F {
            126 => match *head {
                [_, _, hi, lo, ..] if u16::from_be_bytes([hi, lo]) >= 126 => {
                    (usize::from(u16::from_be_bytes([hi, lo])), 4)
                }
                _ => return None,
            },
            127 => return None,
            n => (usize::from(n), 2),
        };
        let mut key = None;
        if masked {
            let [k0, k1, k2, k3] = *head.get(header_len..header_len + 4)? else {
                return None;
            };
            key = Some([k0, k1, k2, k3]);
            header_len += 4;
        }
        let config = &self.config;
        if len > config.max_frame_size.min(config.max_message_size)
            || config.stream_threshold.is_some_and(|t| len > t)
            || len > head.len() - header_len
        {
            return None;
        }
        // The payload is unmasked where it lies (what `push` has not
        // unmasked already as it copied it in).
        let done = recv.premasked(header_len, len);
        if let Some(key) = key {
            apply_mask(
                &mut recv.buf[header_len + done..header_len + len],
                key,
                done,
            );
        }
        Some(WholeFrame {
            header_len,
            len,
            text: b0 == 0x81,
        })
    }

    /// Lends the payload of the frame that
    /// [`whole_message_in_place`](Self::whole_message_in_place) found,
    /// which stays in the buffer until the next call that reads or parses.
    pub(super) fn lend(&mut self, frame: WholeFrame) -> EventRef<'_> {
        let end = frame.header_len + frame.len;
        self.recv.lent = end;
        let payload = &self.recv.buf[frame.header_len..end];
        if !frame.text {
            return EventRef::Binary(payload);
        }
        // Below 64 bytes, std's check is the faster of the two (measured in
        // benches/compare.rs: 16-byte text lent 1.2 times as fast).
        let text = if payload.len() < 64 {
            std::str::from_utf8(payload).ok()
        } else {
            simdutf8::basic::from_utf8(payload).ok()
        };
        if let Some(text) = text {
            return EventRef::Text(text);
        }
        // The connection fails as `fail` has it, field by field: `payload`
        // is borrowed for as long as the `Ok` path returns it, which keeps
        // the receive buffer, and so `self` as a whole, out of reach here.
        // What was received is dropped at the next call instead.
        let error = ProtocolError::InvalidUtf8;
        if !self.close_sent {
            queue_close_in(
                &mut self.out,
                &mut self.mask_keys,
                &mut self.pending_pong,
                Some(error.close_code()),
                &error.to_string(),
            );
            self.close_sent = true;
            self.sending = None;
        }
        self.phase = Phase::Done;
        self.shutdown = true;
        self.pending_pong = None;
        self.recv.discard = true;
        self.recv.next = None;
        self.held
            .insert(Event::Closed(CloseReason::Protocol(error)))
            .as_event_ref()
    }

    /// Reads and checks the next frame header. `Some(Err(event))` when the
    /// message switched to streaming and its buffered start is an event.
    fn read_header(&mut self) -> Result<Option<Result<InFrame, Event>>, ProtocolError> {
        let Some((header, header_len)) = FrameHeader::parse(&self.recv.buf)? else {
            return Ok(None);
        };
        // RFC 6455 5.2: RSV bits only with an extension that defines them.
        // permessage-deflate defines RSV1, on the first frame of a data
        // message only (RFC 7692 6, 6.1).
        let rsv1_allowed =
            self.deflate.is_some() && matches!(header.opcode, OpCode::Text | OpCode::Binary);
        let allowed = if rsv1_allowed { RSV1 } else { 0 };
        if header.rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv));
        }
        let compressed = header.rsv & RSV1 != 0;
        // RFC 6455 5.1: clients mask every frame, servers none.
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
        };
        let mut flushed = None;
        if !header.opcode.is_control() {
            flushed = self.start_data_frame(&mut frame, header_len, compressed)?;
        }
        frame.unmasked = self.recv.premasked(header_len, len);
        self.recv.consumed += header_len as u64;
        self.recv.buf.advance(header_len);
        self.recv.frame = Some(frame);
        Ok(Some(match flushed {
            Some(event) => Err(event),
            None => Ok(frame),
        }))
    }

    /// Checks a data frame against the fragment sequence and the message
    /// limit, and decides how its payload is handled. A message in a single
    /// frame, the common case, gets no message state at all.
    fn start_data_frame(
        &mut self,
        frame: &mut InFrame,
        header_len: usize,
        compressed: bool,
    ) -> Result<Option<Event>, ProtocolError> {
        let len = frame.remaining;
        let max_message = self.config.max_message_size;
        let threshold = self.config.stream_threshold;
        let recv = &mut self.recv;
        let message = match (frame.opcode, recv.message.as_mut()) {
            // RFC 6455 5.4: fragments of one message are not interleaved.
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            (OpCode::Continuation, Some(message)) => message,
            // Text or binary (the caller passes no control frames).
            (opcode, _) => {
                let kind = if opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                if frame.fin && !compressed && threshold.is_none_or(|t| len <= t) {
                    if len > max_message {
                        return Err(ProtocolError::MessageTooLarge {
                            len: len as u64,
                            max: max_message,
                        });
                    }
                    // Its text is validated once, as it becomes `Utf8Bytes`,
                    // unless it arrives in pieces: then each piece is checked
                    // as it comes, to fail fast.
                    let whole_now = recv.buf.len() - header_len >= len;
                    frame.check_utf8 = kind == MessageKind::Text && !whole_now;
                    recv.utf8.reset();
                    return Ok(None);
                }
                recv.utf8.reset();
                recv.message.insert(InMessage {
                    kind,
                    data: BytesMut::new(),
                    size: 0,
                    streaming: false,
                    started: false,
                    compressed,
                    inflated: Vec::new(),
                    pending: BytesMut::new(),
                    last: false,
                    streamed: 0,
                })
            }
        };
        let size = message.size as u64 + len as u64;
        // A compressed message is held to the limit by what it inflates to.
        if !message.compressed && size > max_message as u64 {
            return Err(ProtocolError::MessageTooLarge {
                len: size,
                max: max_message,
            });
        }
        message.size += len;
        let mut flushed = None;
        // A compressed message streams what it inflates to, not its frames.
        if !message.compressed && !message.streaming && threshold.is_some_and(|t| size > t as u64) {
            message.streaming = true;
            if !message.data.is_empty() {
                message.started = true;
                flushed = Some(Event::Fragment(Fragment {
                    kind: message.kind,
                    data: message.data.split().freeze(),
                    is_first: true,
                    is_last: false,
                }));
            }
        }
        // Fragmented or streamed text is validated as it arrives (compressed
        // text as it inflates).
        frame.check_utf8 = message.kind == MessageKind::Text && !message.compressed;
        Ok(flushed)
    }

    /// Delivers what has arrived of a streamed message's frame.
    fn stream(&mut self, mut frame: InFrame, avail: usize) -> Result<Step, ProtocolError> {
        let recv = &mut self.recv;
        let data = recv.take_front(avail).freeze();
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
        let Some(message) = recv.message.as_mut() else {
            return Ok(Step::Continue);
        };
        let fragment = Fragment {
            kind: message.kind,
            data,
            is_first: !message.started,
            is_last,
        };
        message.started = true;
        if is_last {
            recv.message = None;
        }
        Ok(Step::Event(Event::Fragment(fragment)))
    }

    /// A whole frame of a fragmented message (whole-message mode).
    fn on_data(&mut self, payload: BytesMut, fin: bool) -> Result<Step, ProtocolError> {
        if self.recv.message.as_ref().is_some_and(|m| m.compressed) {
            return self.on_compressed(payload, fin);
        }
        let recv = &mut self.recv;
        let Some(message) = recv.message.as_mut() else {
            return Ok(Step::Continue);
        };
        if message.data.is_empty() {
            message.data = payload;
        } else {
            message.data.extend_from_slice(&payload);
        }
        if !fin {
            return Ok(Step::Continue);
        }
        let kind = message.kind;
        let data = std::mem::take(&mut message.data).freeze();
        recv.message = None;
        Ok(Step::Event(match kind {
            MessageKind::Binary => Event::Binary(data),
            MessageKind::Text => {
                Event::Text(Utf8Bytes::try_from(data).map_err(|_| ProtocolError::InvalidUtf8)?)
            }
        }))
    }

    /// A whole frame of a compressed message: queued for inflating, with
    /// the restored tail after the last one (RFC 7692 7.2.2).
    fn on_compressed(&mut self, payload: BytesMut, fin: bool) -> Result<Step, ProtocolError> {
        let Some(message) = self.recv.message.as_mut() else {
            return Ok(Step::Continue);
        };
        if message.pending.is_empty() {
            message.pending = payload;
        } else {
            message.pending.extend_from_slice(&payload);
        }
        if fin {
            message.pending.extend_from_slice(&TAIL);
            message.last = true;
        }
        self.inflate_pending()
    }

    /// Inflates what is pending of a compressed message: all of it, never
    /// past the message size limit, or with a stream threshold, about a
    /// threshold's worth per step, each step a fragment. Memory stays
    /// within the limit, or about twice the threshold, whatever the ratio.
    fn inflate_pending(&mut self) -> Result<Step, ProtocolError> {
        let max = self.config.max_message_size;
        let threshold = self.config.stream_threshold;
        let recv = &mut self.recv;
        let (Some(message), Some(deflate)) = (recv.message.as_mut(), self.deflate.as_mut()) else {
            return Ok(Step::Continue);
        };
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
        let kind = message.kind;
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
        Ok(Step::Event(match kind {
            MessageKind::Binary => Event::Binary(data),
            MessageKind::Text => {
                Event::Text(Utf8Bytes::try_from(data).map_err(|_| ProtocolError::InvalidUtf8)?)
            }
        }))
    }

    fn on_ping(&mut self, payload: Bytes) -> Event {
        // RFC 6455 5.5.2: answer with a pong carrying the same payload. One
        // pending pong at most: a newer ping replaces its payload (5.5.3).
        // Once our close is queued nothing may follow it, pongs included.
        if self.config.auto_pong && !self.close_sent {
            self.pending_pong = Some(payload.clone());
        }
        Event::Ping(payload)
    }

    fn on_pong(&mut self, payload: Bytes) -> Event {
        self.timers.pong_received(&payload);
        Event::Pong(payload)
    }

    fn on_close(&mut self, payload: &[u8]) -> Result<Step, ProtocolError> {
        let frame = CloseFrame::parse(payload)?;
        // RFC 6455 5.5.1: after a close frame, nothing more is read.
        self.recv.clear();
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Open => {
                if self.config.auto_close {
                    // Echo the code (an empty close gets an empty one).
                    let code = (frame.code != CloseCode::NO_STATUS).then_some(frame.code);
                    self.queue_close(code, "");
                    self.finish_closing_handshake(frame.clone());
                } else {
                    // The application owes the reply, within the close timeout.
                    self.phase = Phase::CloseReceived {
                        frame: frame.clone(),
                        deadline: self.close_deadline(),
                    };
                }
                Ok(Step::Event(Event::CloseReceived(frame)))
            }
            // The peer's answer to our close.
            Phase::CloseSent { .. } => {
                self.finish_closing_handshake(frame);
                Ok(Step::Continue)
            }
            other => {
                self.phase = other;
                Ok(Step::Continue)
            }
        }
    }

    /// Fails the connection for a protocol violation (RFC 6455 7.1.7): the
    /// close frame with the violation's code is queued, nothing more is
    /// read, and the transport is to be closed.
    fn fail(&mut self, error: ProtocolError) -> Event {
        if !self.close_sent {
            let reason = error.to_string();
            self.queue_close(Some(error.close_code()), &reason);
        }
        self.end(CloseReason::Protocol(error));
        self.follow_up
            .take()
            .unwrap_or(Event::Closed(CloseReason::Abnormal))
    }
}

/// How many bytes beyond `data` the last of the run of large frames at its
/// front runs on: 0 if the run ends inside `data` (at its end, or where a
/// short frame or an incomplete header follows).
fn large_frame_rest(data: &[u8]) -> usize {
    let mut at = 0;
    while let Ok(Some((header, header_len))) = FrameHeader::parse(&data[at..]) {
        if header.payload_len < WALK_MIN {
            break;
        }
        let end = usize::try_from(header.payload_len)
            .ok()
            .and_then(|len| (at + header_len).checked_add(len))
            .unwrap_or(usize::MAX);
        if end >= data.len() {
            return end - data.len();
        }
        at = end;
    }
    0
}

/// Appends `src` to `buf` unmasked with `key` (as if `src` began `offset`
/// bytes into the payload), in one pass over the bytes rather than a copy
/// followed by a pass over the copy.
fn extend_unmasked(buf: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    let lane = key_lane(key, offset);
    extend_xored(buf, src, lane, lane);
}

/// Appends a masked frame, `header_len` bytes of header and then payload
/// from its start (all of it or the part that has arrived), to `buf` with
/// the payload unmasked: header and payload in one pass.
fn extend_frame_unmasked(buf: &mut BytesMut, frame: &[u8], header_len: usize, key: [u8; 4]) {
    // Byte `j` of the frame is payload byte `j - header_len`: the key lines
    // up with the frame's start rotated back by the header's length.
    debug_assert!(header_len < LANE, "a header is at most 14 bytes");
    let lane = key_lane(key, 4 - header_len % 4);
    // The header's bytes pass through unchanged (at most 14 of the first
    // 16). The rest starts 16 bytes in, a multiple of 4: the same lane.
    let head_lane = lane & (u128::MAX << (8 * header_len.min(LANE - 1)));
    extend_xored(buf, frame, head_lane, lane);
}

/// The bytes of a lane.
const LANE: usize = 16;

/// The key as 16 bytes, lined up with a byte `offset` bytes into the
/// payload.
fn key_lane(key: [u8; 4], offset: usize) -> u128 {
    let s = offset % 4;
    let quad = u32::from_le_bytes([key[s], key[(s + 1) % 4], key[(s + 2) % 4], key[(s + 3) % 4]]);
    u128::from(quad) * 0x0000_0001_0000_0001_0000_0001_0000_0001
}

/// Appends `src` to `buf`, its first 16 bytes XORed with `first` and each
/// 16 after them with `lane`: 128 bytes at a time through registers, then
/// 16 at a time, then the few left.
///
/// Never inlined: inlined into `push`, it made the plain copy there slower
/// (a client's 64 KiB frames decoded at 0.6 times the rate).
#[inline(never)]
fn extend_xored(buf: &mut BytesMut, src: &[u8], first: u128, lane: u128) {
    const WIDE: usize = 8 * LANE;
    let Some((head, src)) = src.split_first_chunk::<LANE>() else {
        return extend_xored_short(buf, src, first);
    };
    buf.extend_from_slice(&(u128::from_le_bytes(*head) ^ first).to_le_bytes());
    let mut pattern = [0u8; WIDE];
    for bytes in pattern.chunks_exact_mut(LANE) {
        bytes.copy_from_slice(&lane.to_le_bytes());
    }
    let mut chunks = src.chunks_exact(WIDE);
    for chunk in &mut chunks {
        let mut out = [0u8; WIDE];
        for ((o, s), k) in out.iter_mut().zip(chunk).zip(&pattern) {
            *o = s ^ k;
        }
        buf.extend_from_slice(&out);
    }
    let mut lanes = chunks.remainder().chunks_exact(LANE);
    for bytes in &mut lanes {
        let mut word = [0u8; LANE];
        word.copy_from_slice(bytes);
        buf.extend_from_slice(&(u128::from_le_bytes(word) ^ lane).to_le_bytes());
    }
    extend_xored_short(buf, lanes.remainder(), lane);
}

/// [`extend_xored`] for fewer than 16 bytes.
fn extend_xored_short(buf: &mut BytesMut, src: &[u8], lane: u128) {
    let n = src.len().min(LANE);
    let mut word = [0u8; LANE];
    word[..n].copy_from_slice(&src[..n]);
    buf.extend_from_slice(&(u128::from_le_bytes(word) ^ lane).to_le_bytes()[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::apply_mask_naive;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 37 + 11) as u8).collect()
    }

    #[test]
    fn extend_unmasked_matches_the_naive_unmask() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in (0..300).chain([1023, 1024, 1025, 4097]) {
            for offset in 0..4 {
                let src = bytes(len);
                let mut buf = BytesMut::from(&b"before"[..]);
                extend_unmasked(&mut buf, &src, key, offset);
                let mut expected = src.clone();
                apply_mask_naive(&mut expected, key, offset);
                assert_eq!(&buf[..6], b"before");
                assert_eq!(&buf[6..], &expected[..], "len {len}, offset {offset}");
            }
        }
    }

    #[test]
    fn extend_frame_unmasked_keeps_the_header() {
        let key = [0x01, 0x80, 0xfe, 0x7f];
        for header_len in [6, 8, 14] {
            for len in (0..200).chain([4096, 4111]) {
                let frame = bytes(header_len + len);
                let mut buf = BytesMut::new();
                extend_frame_unmasked(&mut buf, &frame, header_len, key);
                let mut expected = frame.clone();
                apply_mask_naive(&mut expected[header_len..], key, 0);
                assert_eq!(
                    &buf[..],
                    &expected[..],
                    "header {header_len}, payload {len}"
                );
            }
        }
    }
}
