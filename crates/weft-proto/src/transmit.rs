//! Outgoing bytes: the queue of encoded frames and the [`Transmit`] handed
//! to the adapter.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::logging;

/// Payloads at most this long are copied next to their header, so a batch of
/// small frames goes out as one contiguous chunk; longer ones are queued as
/// their own chunk and never copied (servers only: clients must mask, which
/// means writing a masked copy).
const COPY_THRESHOLD: usize = 512;

/// The least room the packing buffer grows by: small frames queued one at a
/// time then grow it once every few dozen frames, not at every frame.
const PACK_GROWTH: usize = 1024;

/// Bytes to write to the transport, in order: a [`bytes::Buf`] over a few
/// chunks (frame headers and small payloads packed together, large payloads
/// shared with the application without a copy).
///
/// Write it with vectored I/O: fill `IoSlice`s with
/// [`chunks_vectored`](Buf::chunks_vectored), write, then
/// [`advance`](Buf::advance) by what was written. It owns its bytes, so it
/// can be written without holding any lock on the connection.
#[derive(Debug, Default)]
pub struct Transmit {
    /// The first chunk, empty only when everything has been written.
    front: Bytes,
    /// The chunk after it, empty if there is none. The first two chunks are
    /// held apart so that the common transmits, packed frames alone or a
    /// header and the large payload after it, need no allocation of their
    /// own.
    second: Bytes,
    /// The chunks after `second`, in order, none empty, from `rest[next]`
    /// on (those before it are written and left empty); there are some
    /// only when `second` is not empty.
    rest: Vec<Bytes>,
    next: usize,
    remaining: usize,
}

impl Transmit {
    /// Whether everything has been written.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// Copies the remaining bytes into one vector (handy in tests and for
    /// transports without vectored writes).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.remaining);
        for chunk in self.chunks() {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// The chunks not yet written, in order.
    fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        [&self.front, &self.second]
            .into_iter()
            .filter(|c| !c.is_empty())
            .chain(self.rest.get(self.next..).unwrap_or_default())
    }

    fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.remaining += chunk.len();
        if self.front.is_empty() {
            self.front = chunk;
        } else if self.second.is_empty() {
            self.second = chunk;
        } else {
            self.rest.push(chunk);
        }
    }
}

impl Buf for Transmit {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        &self.front
    }

    fn advance(&mut self, cnt: usize) {
        // Advancing past the end empties the buffer rather than panicking.
        if cnt >= self.remaining {
            // All written, the common case: the chunks are let go at once
            // (those in `rest` when the transmit is dropped).
            self.remaining = 0;
            self.front = Bytes::new();
            self.second = Bytes::new();
            self.next = self.rest.len();
            return;
        }
        let mut cnt = cnt;
        self.remaining -= cnt;
        while cnt > 0 && !self.front.is_empty() {
            if cnt < self.front.len() {
                self.front.advance(cnt);
                return;
            }
            cnt -= self.front.len();
            let after = match self.rest.get_mut(self.next) {
                Some(chunk) => {
                    self.next += 1;
                    std::mem::take(chunk)
                }
                None => Bytes::new(),
            };
            self.front = std::mem::replace(&mut self.second, after);
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.chunks()) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }
}

/// Frames encoded and waiting for `poll_transmit`, or written from where
/// they are through a [`TransmitRef`](crate::TransmitRef).
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    /// Chunks complete and in order, all before `packing`.
    /// Most connections never queue a chunk here: a `VecDeque` allocates
    /// nothing until the first.
    ready: VecDeque<Bytes>,
    /// The chunk being packed: headers and small payloads.
    packing: BytesMut,
    /// Bytes in `ready`.
    ready_len: usize,
    /// Whether some of what is queued now has been written in place, so
    /// the front of the queue may be inside a frame.
    started: bool,
    /// Bytes to be written in place before the pong placed last is out
    /// (0: none placed is waiting). One placed pong at a time: a peer that
    /// pings and does not read cannot grow the queue with pongs.
    pong_left: usize,
}

impl OutQueue {
    pub(crate) fn len(&self) -> usize {
        self.ready_len + self.packing.len()
    }

    /// Encodes one frame (`rsv`: the RSV bits, RSV1 as `0b100`). With a
    /// mask key the payload is copied masked;
    /// without, a large payload is queued as is. Every frame sent passes
    /// here, so this is where frames sent are logged.
    #[inline]
    pub(crate) fn push_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv: u8,
        payload: Bytes,
        mask: Option<[u8; 4]>,
    ) {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        logging::frame_sent(&head[..head_len], &payload);
        // A masked payload is always copied; a plain one only when small.
        let copied = match mask {
            Some(_) => payload.len(),
            None => payload.len().min(COPY_THRESHOLD),
        };
        // The header goes in as all 14 bytes of `head`, cut back to its
        // length: a copy of known size, which compiles to two stores, where
        // copying `head_len` bytes is a call to memcpy.
        let need = MAX_HEADER_LEN + copied;
        if self.packing.capacity() - self.packing.len() < need {
            self.packing.reserve(need.max(PACK_GROWTH));
        }
        let end = self.packing.len() + head_len;
        self.packing.extend_from_slice(&head);
        self.packing.truncate(end);
        match mask {
            Some(key) => {
                let start = self.packing.len();
                self.packing.extend_from_slice(&payload);
                apply_mask(&mut self.packing[start..], key, 0);
            }
            None if payload.len() <= COPY_THRESHOLD => self.packing.extend_from_slice(&payload),
            None => {
                let packed = self.packing.split().freeze();
                self.ready_len += packed.len() + payload.len();
                if !packed.is_empty() {
                    self.ready.push_back(packed);
                }
                self.ready.push_back(payload);
            }
        }
    }

    /// Queues a whole unmasked frame built elsewhere, as its own chunk,
    /// never copied.
    pub(crate) fn push_shared(&mut self, frame: Bytes) {
        let header_len = match frame.get(1).map(|b| b & 0x7f) {
            Some(126) => 4,
            Some(127) => 10,
            _ => 2,
        }
        .min(frame.len());
        logging::frame_sent(&frame[..header_len], &frame[header_len..]);
        if !self.packing.is_empty() {
            let packed = self.packing.split().freeze();
            self.ready_len += packed.len();
            self.ready.push_back(packed);
        }
        self.ready_len += frame.len();
        self.ready.push_back(frame);
    }

    /// Queues a pong for `payload` where it may go (RFC 6455 5.5.3): first,
    /// when nothing queued has been written yet, else after everything
    /// queued (the front may be inside a frame). Only when
    /// [`may_place_pong`](Self::may_place_pong).
    pub(crate) fn place_pong(&mut self, payload: Bytes, mask: Option<[u8; 4]>) {
        if self.started || self.len() == 0 {
            self.push_frame(OpCode::Pong, true, 0, payload, mask);
            self.pong_left = self.len();
        } else {
            let mut pong = OutQueue::default();
            pong.push_frame(OpCode::Pong, true, 0, payload, mask);
            let frame = pong.packing.freeze();
            self.pong_left = frame.len();
            self.ready_len += frame.len();
            self.ready.push_front(frame);
        }
    }

    /// Whether a pong may be placed now: none placed before is waiting.
    pub(crate) fn may_place_pong(&self) -> bool {
        self.pong_left == 0
    }

    /// The first chunk not yet written (empty when nothing is queued).
    #[inline]
    pub(crate) fn front(&self) -> &[u8] {
        match self.ready.front() {
            Some(chunk) => chunk,
            None => &self.packing,
        }
    }

    /// Fills `dst` with the chunks not yet written, in order; returns how
    /// many it filled.
    pub(crate) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let packing = Some(&self.packing[..]).filter(|p| !p.is_empty());
        let chunks = self.ready.iter().map(|c| &c[..]).chain(packing);
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(chunks) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Drops the first `n` bytes, written in place. Past the end it
    /// empties the queue.
    #[inline]
    pub(crate) fn consume(&mut self, mut n: usize) {
        if n == 0 {
            return;
        }
        self.pong_left = self.pong_left.saturating_sub(n);
        while n > 0 {
            let Some(front) = self.ready.front_mut() else {
                if n < self.packing.len() {
                    self.packing.advance(n);
                    self.started = true;
                } else {
                    // All written, the common case: the buffer is kept,
                    // so the next frames are packed without allocating.
                    self.packing.clear();
                    self.started = false;
                }
                return;
            };
            if n < front.len() {
                front.advance(n);
                self.ready_len -= n;
                self.started = true;
                return;
            }
            n -= front.len();
            self.ready_len -= front.len();
            self.ready.pop_front();
        }
        self.started = self.len() > 0;
    }

    /// Everything queued, in order; the queue is left empty.
    #[inline]
    pub(crate) fn take(&mut self) -> Transmit {
        self.started = false;
        self.pong_left = 0;
        let packed = self.packing.split().freeze();
        if self.ready.is_empty() {
            // Only packed frames, the common case: one chunk.
            return Transmit {
                remaining: packed.len(),
                front: packed,
                second: Bytes::new(),
                rest: Vec::new(),
                next: 0,
            };
        }
        let mut transmit = Transmit::default();
        for chunk in self.ready.drain(..) {
            transmit.push(chunk);
        }
        transmit.push(packed);
        self.ready_len = 0;
        transmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_chunks() -> Transmit {
        let mut t = Transmit::default();
        for chunk in [&b"head"[..], b"", b"payload", b"tail"] {
            t.push(Bytes::copy_from_slice(chunk));
        }
        t
    }

    #[test]
    fn chunks_come_out_in_order_across_partial_writes() {
        let mut t = three_chunks();
        assert_eq!(t.remaining(), 15);
        assert_eq!(t.chunk(), b"head");
        {
            let mut slices = [IoSlice::new(&[]); 8];
            assert_eq!(t.chunks_vectored(&mut slices), 3);
        }
        t.advance(2);
        assert_eq!(t.chunk(), b"ad");
        // Ends exactly at a chunk boundary: the next chunk is up.
        t.advance(2);
        assert_eq!(t.chunk(), b"payload");
        // Across a boundary.
        t.advance(9);
        assert_eq!(t.chunk(), b"il");
        assert_eq!(t.to_vec(), b"il");
        {
            let mut slices = [IoSlice::new(&[]); 8];
            assert_eq!(t.chunks_vectored(&mut slices), 1);
            assert_eq!(&*slices[0], b"il");
        }
        t.advance(100);
        assert!(t.is_empty());
        assert_eq!(t.chunk(), b"");
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(t.chunks_vectored(&mut slices), 0);
    }

    #[test]
    fn any_number_of_chunks_comes_out_in_order_at_any_write_size() {
        for chunks in 0..7usize {
            let parts: Vec<Vec<u8>> = (0..chunks)
                .map(|i| (0..(i * 5 + 1) as u8).map(|b| b ^ i as u8).collect())
                .collect();
            let whole: Vec<u8> = parts.concat();
            for step in 1..=whole.len().max(1) {
                let mut appended = Transmit::default();
                appended.push(Bytes::from_static(b"<"));
                for part in &parts {
                    appended.push(Bytes::copy_from_slice(part));
                }
                assert_eq!(appended.to_vec()[1..], whole[..]);
                appended.advance(1);
                let mut out = Vec::new();
                while appended.has_remaining() {
                    let mut slices = [IoSlice::new(&[]); 3];
                    let n = appended.chunks_vectored(&mut slices);
                    assert!(n > 0);
                    assert_eq!(&*slices[0], appended.chunk());
                    let take = step.min(appended.chunk().len());
                    out.extend_from_slice(&appended.chunk()[..take]);
                    appended.advance(take);
                }
                assert_eq!(out, whole, "{chunks} chunks, writes of {step}");
                assert!(appended.is_empty());
            }
        }
    }
}
