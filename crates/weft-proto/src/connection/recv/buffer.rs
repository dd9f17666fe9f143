//! The receive buffer: bytes handed to `handle_data`, kept until parsed.
//!
//! Its invariants:
//! - `bytes` starts at a frame boundary, or inside the payload of the
//!   frame whose header the parser has taken (`Recv::frame`).
//! - `next`, when present, starts at a frame boundary right after the
//!   frame in progress, and becomes `bytes` once `bytes` is parsed.
//! - A server unmasks payloads as it copies them in (`premask` says which);
//!   headers are copied as they are and judged only by the parser.
//! - Bytes lent by `poll_event_ref` stay at the front until `release_lent`.
//! - It holds at most a frame plus one read, and never more than about
//!   twice what has arrived; once everything is parsed, an empty buffer is
//!   let go so that a quiet connection holds no receive buffer.

use bytes::{Buf, BytesMut};

use super::InFrame;
use crate::frame::{extend_frame_unmasked, extend_unmasked, FrameHeader};

/// The most room reserved beyond one read.
const MAX_READ_AHEAD: usize = 256 * 1024;

/// The payload size from which a server unmasks a frame as it copies it in.
pub(super) const WALK_MIN: u64 = 4096;

/// What [`Input::caught_up`] found once the parser waits for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Everything received is parsed.
    All,
    /// Bytes put aside behind a large frame follow, to be parsed now.
    MoreBuffered,
}

#[derive(Debug, Default)]
pub(crate) struct Input {
    bytes: BytesMut,
    /// What follows a large frame that a read completed in `bytes` without
    /// room for the rest of the read: it starts at a frame boundary and
    /// becomes `bytes` once `bytes` is parsed.
    next: Option<BytesMut>,
    /// Bytes arrived that `poll_event` has not yet parsed as far as it can.
    unparsed: bool,
    /// Bytes removed from the front of `bytes` since the connection began:
    /// positions in the stream, for `premask`.
    consumed: u64,
    /// Stream positions: every frame whose header starts at or after
    /// `premask.start` has its payload bytes before `premask.end` unmasked
    /// already.
    premask: std::ops::Range<u64>,
    /// Bytes at the front of `bytes` that `poll_event_ref` lent, removed at
    /// the next call that reads or parses.
    lent: usize,
}

impl Input {
    /// Appends bytes read. A server (`walk`) unmasks payloads as it copies
    /// them in, while they are in cache, instead of in a second pass: the
    /// rest of the frame in progress (`frame`), then every frame whose
    /// header starts in `data` at a known frame boundary. Headers are only
    /// read here, never judged: the parser checks them again in order and
    /// applies every rule; [`premasked`](Self::premasked) tells it what is
    /// unmasked.
    ///
    /// A large frame is not moved once its first bytes are in, unless it is
    /// more than about twice as long as they are: a fresh buffer gets room
    /// for the end of the last of the large frames at the front of the read
    /// (within the bound below), and a read that completes a large frame in
    /// progress without fitting whole puts what follows the frame in a
    /// second buffer, which becomes the buffer once the frame is parsed.
    pub(super) fn push(&mut self, mut data: &[u8], walk: bool, frame: Option<&mut InFrame>) {
        self.release_lent();
        self.unparsed |= !data.is_empty();
        if self.bytes.is_empty() {
            if let Some(next) = self.next.take() {
                self.bytes = next;
            }
        }
        // Where the next frame header starts in `data`, if that is known.
        let mut boundary = frame.is_none() && self.bytes.is_empty() && self.next.is_none();
        let mut divert = false;
        if let (Some(frame), None) = (frame, &self.next) {
            // The buffer holds nothing but the start of this frame's payload.
            if self.bytes.len() < frame.remaining {
                let take = (frame.remaining - self.bytes.len()).min(data.len());
                let spare = self.bytes.capacity() - self.bytes.len();
                divert = take < data.len()
                    && spare >= take
                    && spare < data.len()
                    && self.bytes.len() >= WALK_MIN as usize;
                if spare < take {
                    // As below: an empty buffer gets room for the read and
                    // for the frame's rest beyond it; one that holds part of
                    // the frame, for one more read besides.
                    let more = if self.bytes.is_empty() {
                        frame.remaining - take
                    } else {
                        data.len()
                    };
                    self.bytes
                        .reserve(data.len() + more.min(data.len()).min(MAX_READ_AHEAD));
                }
                match frame.mask {
                    Some(key) if frame.unmasked == self.bytes.len() => {
                        extend_unmasked(
                            &mut self.bytes,
                            &data[..take],
                            key,
                            frame.offset + frame.unmasked,
                        );
                        frame.unmasked += take;
                    }
                    _ => self.bytes.extend_from_slice(&data[..take]),
                }
                data = &data[take..];
                boundary = self.bytes.len() == frame.remaining;
            }
        }
        if data.is_empty() {
            return;
        }
        let start = self.consumed
            + self.bytes.len() as u64
            + self.next.as_ref().map_or(0, |next| next.len() as u64);
        let tail = if divert || self.next.is_some() {
            self.next.get_or_insert_with(BytesMut::new)
        } else {
            &mut self.bytes
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
    #[inline]
    pub(super) fn premasked(&self, header_len: usize, len: usize) -> usize {
        let payload = self.consumed + header_len as u64;
        if self.consumed < self.premask.start || payload >= self.premask.end {
            return 0;
        }
        usize::try_from(self.premask.end - payload).map_or(len, |n| n.min(len))
    }

    /// The bytes received and not yet taken.
    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The same, to unmask in place.
    #[inline]
    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Whether bytes arrived that the parser has not yet gone through.
    #[inline]
    pub(crate) fn unparsed(&self) -> bool {
        self.unparsed
    }

    /// Removes what `poll_event_ref` lent from the buffer.
    #[inline]
    pub(super) fn release_lent(&mut self) {
        if self.lent > 0 {
            self.consumed += self.lent as u64;
            self.bytes.advance(self.lent);
            self.lent = 0;
        }
    }

    /// Lends the first `n` bytes: they stay until the next `release_lent`.
    #[inline]
    pub(super) fn lend(&mut self, n: usize) -> &[u8] {
        self.lent = n;
        &self.bytes[..n]
    }

    /// Removes and returns the first `n` bytes.
    #[inline]
    pub(super) fn take_front(&mut self, n: usize) -> BytesMut {
        self.consumed += n as u64;
        self.bytes.split_to(n)
    }

    /// Drops the first `n` bytes (a frame header).
    #[inline]
    pub(super) fn skip(&mut self, n: usize) {
        self.consumed += n as u64;
        self.bytes.advance(n);
    }

    /// The parser has caught up with the buffer and waits for more: says
    /// whether bytes put aside behind a large frame follow (they become the
    /// buffer), or everything received is parsed. Then an empty buffer is
    /// let go (its memory is freed once the application drops the payloads
    /// split off it), so a connection that has gone quiet holds no receive
    /// buffer, whatever its last read was. With `keep_room` (a text frame
    /// in pieces is being collected) the empty buffer keeps the room it has
    /// for the rest of that frame, so the next piece lands right after the
    /// last and the two join without a copy (while that room lasts, about
    /// one read; later pieces are copied into the text buffer, which then
    /// grows towards the frame's length).
    pub(crate) fn caught_up(&mut self, keep_room: bool) -> Parsed {
        if let Some(next) = self.next.take() {
            // The second buffer starts at the end of a frame, and the parser
            // only waits for more once it has taken every whole frame.
            debug_assert!(
                self.bytes.is_empty(),
                "a second buffer behind a partial frame"
            );
            if self.bytes.is_empty() {
                self.bytes = next;
            } else {
                // Joined, the bytes stay in order.
                self.bytes.extend_from_slice(&next);
            }
            return Parsed::MoreBuffered;
        }
        self.unparsed = false;
        if self.bytes.is_empty() && !keep_room {
            // Even with no capacity left: a buffer split or advanced to its
            // end may still hold its allocation.
            self.bytes = BytesMut::new();
        }
        Parsed::All
    }

    /// Bytes held and not yet delivered.
    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.lent + self.next.as_ref().map_or(0, BytesMut::len)
    }

    /// Drops everything received: after a close frame or a failure.
    pub(super) fn clear(&mut self) {
        self.bytes = BytesMut::new();
        self.lent = 0;
        self.next = None;
        self.premask = 0..0;
        self.unparsed = false;
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
