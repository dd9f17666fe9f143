//! Text that arrives in pieces, validated as each piece arrives and never
//! again: a frame longer than a read, or a message in several frames.

use bytes::BytesMut;
use bytestring::ByteString;

/// The error from [`Utf8Buf`]: the bytes are not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotUtf8;

/// A text message assembled from pieces, each validated as it is pushed
/// (so invalid UTF-8 is found as soon as it arrives, RFC 6455 8.1), and
/// turned into a [`ByteString`] at the end without a second validation.
///
/// The bytes are private: only [`push`](Self::push) adds to them, and it
/// validates what it adds, which is what makes [`finish`](Self::finish)
/// sound. Pieces taken one after another from the front of one buffer are
/// joined without copying (`BytesMut::unsplit`); a piece from elsewhere is
/// copied in, and the buffer then grows towards the length the caller
/// expects rather than by doubling, so it ends about as large as the text.
///
/// ```
/// use bytes::BytesMut;
/// let mut text = weft_simd::Utf8Buf::new();
/// text.push(BytesMut::from(&b"caf\xc3"[..]), 2).unwrap(); // "é" cut in two
/// text.push(BytesMut::from(&b"\xa9!"[..]), 0).unwrap();
/// assert_eq!(&*text.finish().unwrap(), "café!");
///
/// let mut text = weft_simd::Utf8Buf::new();
/// assert!(text.push(BytesMut::from(&b"ok \xf4\x90"[..]), 0).is_err()); // never valid
/// ```
#[derive(Debug, Default)]
pub struct Utf8Buf {
    bytes: BytesMut,
    /// How many bytes at the end begin a code point that has not ended
    /// yet (at most 3). Invariant: `bytes[..len - pending]` is UTF-8 and
    /// `bytes[len - pending..]` is the valid start of one code point.
    pending: usize,
}

impl Utf8Buf {
    /// An empty buffer.
    pub fn new() -> Self {
        Utf8Buf {
            bytes: BytesMut::new(),
            pending: 0,
        }
    }

    /// Appends `piece`, checking that everything so far still begins valid
    /// UTF-8. On an error the buffer is emptied. `to_come` is how many more
    /// bytes the caller expects after this piece: when the piece has to be
    /// copied and there is no room, room is made for them too, but never
    /// for more than is held already (an announced length is not trusted
    /// ahead of the bytes).
    pub fn push(&mut self, piece: BytesMut, to_come: usize) -> Result<(), NotUtf8> {
        // Checked from the start of the unfinished code point: everything
        // before it is valid already.
        let from = self.bytes.len() - self.pending;
        if self.bytes.is_empty() {
            self.bytes = piece;
        } else {
            // Right after the bytes held (in the same buffer, most likely):
            // `unsplit` joins them without a copy. Otherwise it copies.
            let joins = self.bytes.as_ptr().wrapping_add(self.bytes.len()) == piece.as_ptr();
            let room = self.bytes.capacity() - self.bytes.len();
            if !joins && room < piece.len() {
                // Grown to exactly this (`reserve` would at least double).
                let held = self.bytes.len() + piece.len();
                let mut grown = BytesMut::with_capacity(held + to_come.min(held));
                grown.extend_from_slice(&self.bytes);
                self.bytes = grown;
            }
            self.bytes.unsplit(piece);
        }
        let fresh = &self.bytes[from..];
        let checked = if fresh.len() < 64 {
            // std's check is the faster below 64 bytes, and reports the
            // same way.
            std::str::from_utf8(fresh)
                .map(|_| ())
                .map_err(|e| (e.valid_up_to(), e.error_len()))
        } else {
            simdutf8::compat::from_utf8(fresh)
                .map(|_| ())
                .map_err(|e| (e.valid_up_to(), e.error_len()))
        };
        match checked {
            Ok(()) => self.pending = 0,
            // The end is a code point cut short, valid so far.
            Err((valid, None)) => self.pending = fresh.len() - valid,
            Err(_) => {
                self.clear();
                return Err(NotUtf8);
            }
        }
        Ok(())
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The text, if it ends on a code point boundary; the buffer is left
    /// empty either way.
    pub fn finish(&mut self) -> Result<ByteString, NotUtf8> {
        let pending = std::mem::take(&mut self.pending);
        let bytes = std::mem::take(&mut self.bytes).freeze();
        if pending != 0 {
            return Err(NotUtf8);
        }
        // SAFETY: every byte was added by `push`, which checked it (from
        // the start of the code point then unfinished to the end of the
        // piece: the invariant on `pending`), and `pending == 0` means the
        // last code point is complete. The bytes are immutable from here.
        Ok(unsafe { ByteString::from_bytes_unchecked(bytes) })
    }

    /// Drops what is held.
    pub fn clear(&mut self) {
        self.bytes = BytesMut::new();
        self.pending = 0;
    }
}
