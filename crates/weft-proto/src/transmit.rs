//! Outgoing bytes: the queue of encoded frames and the [`Transmit`] handed
//! to the adapter.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{apply_mask, first_byte, FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::logging;

/// Payloads at most this long are copied next to their header, so a batch of
/// small frames goes out as one contiguous chunk; longer ones are queued as
/// their own chunk and never copied (servers only: clients must mask, which
/// means writing a masked copy).
const COPY_THRESHOLD: usize = 512;

/// A packing buffer larger than this is let go once everything in it is
/// written, rather than kept for the next frames: a burst larger than an
/// adapter's write high-water mark (weft-tokio's is 64 KiB) does not leave
/// an idle connection holding it. Smaller, it is kept: a batch of 32
/// messages of 512 bytes reallocated it at every batch with 16 KiB.
const KEEP_PACKING: usize = 64 * 1024;

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
///
/// Headers and small payloads are packed into one buffer, `packing`, in
/// order; chunks queued as they are (large payloads, shared frames) sit in
/// `shared`, each marked with the packed bytes that go before it. Written
/// in place, the buffer is never split: a read position moves through it,
/// and once everything is written it is cleared and packed again.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    /// Packed headers and small payloads; `packing[read..]` is not written.
    packing: BytesMut,
    /// Where the unwritten part of `packing` starts.
    read: usize,
    /// Chunks queued as they are, in order. Most connections never queue
    /// one: a `VecDeque` allocates nothing until the first.
    shared: VecDeque<SharedChunk>,
    /// Bytes in `shared`.
    shared_len: usize,
    /// Whether some of what is queued now has been written in place, so
    /// the front of the queue may be inside a frame.
    started: bool,
    /// Bytes to be written in place before the pong placed last is out
    /// (0: none placed is waiting). One placed pong at a time: a peer that
    /// pings and does not read cannot grow the queue with pongs.
    pong_left: usize,
}

/// A chunk queued as it is, after the packed bytes before `at`.
#[derive(Debug)]
struct SharedChunk {
    /// Its place in `packing`: everything packed before this index goes
    /// first.
    at: usize,
    chunk: Bytes,
}

impl OutQueue {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.packing.len() - self.read + self.shared_len
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
        if mask.is_none() && payload.len() <= 125 {
            // A server's short frame, the most common: a two-byte header.
            let head = [first_byte(fin, rsv, opcode), payload.len() as u8];
            logging::frame_sent(&head, &payload);
            if self.packing.capacity() - self.packing.len() < 2 + 125 {
                self.make_room(2 + 125);
            }
            self.packing.extend_from_slice(&head);
            self.packing.extend_from_slice(&payload);
            return;
        }
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
            self.make_room(need);
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
            None => self.push_chunk(payload),
        }
    }

    /// Room for `need` more packed bytes: what is written is dropped from
    /// the front of the buffer first, then the buffer grows.
    #[cold]
    fn make_room(&mut self, need: usize) {
        let read = std::mem::take(&mut self.read);
        if read > 0 {
            let len = self.packing.len();
            self.packing.copy_within(read.., 0);
            self.packing.truncate(len - read);
            for shared in &mut self.shared {
                shared.at -= read;
            }
        }
        if self.packing.capacity() - self.packing.len() < need {
            self.packing.reserve(need.max(PACK_GROWTH));
        }
    }

    /// Queues `chunk` as it is, after everything packed so far.
    fn push_chunk(&mut self, chunk: Bytes) {
        self.shared_len += chunk.len();
        self.shared.push_back(SharedChunk {
            at: self.packing.len(),
            chunk,
        });
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
        self.push_chunk(frame);
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
            // Room for the largest control frame, so that encoding it
            // allocates no more than that.
            let mut pong = OutQueue {
                packing: BytesMut::with_capacity(MAX_HEADER_LEN + 125),
                ..OutQueue::default()
            };
            pong.push_frame(OpCode::Pong, true, 0, payload, mask);
            let frame = pong.packing.freeze();
            self.pong_left = frame.len();
            self.shared_len += frame.len();
            self.shared.push_front(SharedChunk {
                at: self.read,
                chunk: frame,
            });
        }
    }

    /// Whether a pong may be placed now: none placed before is waiting.
    pub(crate) fn may_place_pong(&self) -> bool {
        self.pong_left == 0
    }

    /// The first chunk not yet written (empty when nothing is queued).
    #[inline]
    pub(crate) fn front(&self) -> &[u8] {
        match self.shared.front() {
            Some(shared) if shared.at > self.read => &self.packing[self.read..shared.at],
            Some(shared) => &shared.chunk,
            None => &self.packing[self.read..],
        }
    }

    /// The chunks not yet written, in order, none empty.
    fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        let mut from = self.read;
        let packing = &self.packing;
        self.shared
            .iter()
            .flat_map(move |shared| {
                let packed = &packing[from..shared.at];
                from = shared.at;
                [packed, &shared.chunk[..]]
            })
            .chain(std::iter::once_with(move || {
                &packing[self.last_packed_from()..]
            }))
            .filter(|chunk| !chunk.is_empty())
    }

    /// Where the packed bytes after the last shared chunk start.
    fn last_packed_from(&self) -> usize {
        self.shared.back().map_or(self.read, |shared| shared.at)
    }

    /// Fills `dst` with the chunks not yet written, in order; returns how
    /// many it filled.
    pub(crate) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.chunks()) {
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
        if n >= self.len() {
            // All written, the common case.
            self.pong_left = 0;
            self.shared_len = 0;
            // Popped one by one: `VecDeque::clear` costs more for the one
            // or two chunks there usually are.
            while self.shared.pop_front().is_some() {}
            self.emptied();
            return;
        }
        self.pong_left = self.pong_left.saturating_sub(n);
        while n > 0 {
            match self.shared.front_mut() {
                Some(shared) if shared.at > self.read => {
                    let k = n.min(shared.at - self.read);
                    self.read += k;
                    n -= k;
                }
                Some(shared) if n < shared.chunk.len() => {
                    shared.chunk.advance(n);
                    self.shared_len -= n;
                    n = 0;
                }
                Some(shared) => {
                    n -= shared.chunk.len();
                    self.shared_len -= shared.chunk.len();
                    self.shared.pop_front();
                }
                None => {
                    self.read = self.packing.len().min(self.read + n);
                    n = 0;
                }
            }
        }
        if self.len() > 0 {
            self.started = true;
        } else {
            self.emptied();
        }
    }

    /// Everything is written: the buffer is cleared and kept, so the next
    /// frames are packed without allocating, unless a burst grew it large.
    #[inline]
    fn emptied(&mut self) {
        self.started = false;
        self.read = 0;
        if self.packing.capacity() > KEEP_PACKING {
            self.packing = BytesMut::new();
        } else {
            self.packing.clear();
        }
    }

    /// Everything queued, in order; the queue is left empty.
    #[inline]
    pub(crate) fn take(&mut self) -> Transmit {
        self.started = false;
        self.pong_left = 0;
        let read = std::mem::take(&mut self.read);
        let mut packed = self.packing.split().freeze();
        if self.shared.is_empty() {
            // Only packed frames, the common case: one chunk.
            packed.advance(read);
            return Transmit {
                remaining: packed.len(),
                front: packed,
                second: Bytes::new(),
                rest: Vec::new(),
                next: 0,
            };
        }
        let mut transmit = Transmit::default();
        let mut from = read;
        for shared in self.shared.drain(..) {
            if shared.at > from {
                transmit.push(packed.slice(from..shared.at));
                from = shared.at;
            }
            transmit.push(shared.chunk);
        }
        if packed.len() > from {
            transmit.push(packed.slice(from..));
        }
        self.shared_len = 0;
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
