//! Text that arrives in pieces (a text frame longer than what has been
//! read), validated as each piece arrives so that invalid UTF-8 fails the
//! connection at once (RFC 6455 8.1).
//!
//! With the `simd` feature this is weft-simd's `Utf8Buf`, which turns the
//! pieces into text without validating them a second time. Without it,
//! the same interface in safe code, which validates the whole again at the
//! end (building a `ByteString` without that check needs `unsafe`).

#[cfg(feature = "simd")]
pub(crate) use weft_simd::Utf8Buf as TextBuf;

#[cfg(not(feature = "simd"))]
pub(crate) use safe::TextBuf;

#[cfg(not(feature = "simd"))]
mod safe {
    use bytes::BytesMut;
    use bytestring::ByteString;

    use crate::utf8::{InvalidUtf8, Utf8Validator};

    /// Text assembled from pieces, each checked as it is pushed.
    #[derive(Debug, Default)]
    pub(crate) struct TextBuf {
        bytes: BytesMut,
        utf8: Utf8Validator,
    }

    impl TextBuf {
        /// Appends `piece`; on an error the buffer is emptied. `to_come`:
        /// the bytes expected after it, which a copied piece makes room
        /// for (at most as many as are held).
        pub(crate) fn push(&mut self, piece: BytesMut, to_come: usize) -> Result<(), InvalidUtf8> {
            if let Err(e) = self.utf8.feed(&piece) {
                self.clear();
                return Err(e);
            }
            if self.bytes.is_empty() {
                self.bytes = piece;
            } else {
                let joins = self.bytes.as_ptr().wrapping_add(self.bytes.len()) == piece.as_ptr();
                if !joins && self.bytes.capacity() - self.bytes.len() < piece.len() {
                    // Grown to exactly this (`reserve` would at least double).
                    let held = self.bytes.len() + piece.len();
                    let mut grown = BytesMut::with_capacity(held + to_come.min(held));
                    grown.extend_from_slice(&self.bytes);
                    self.bytes = grown;
                }
                self.bytes.unsplit(piece);
            }
            Ok(())
        }

        /// The text, if complete; the buffer is left empty either way.
        pub(crate) fn finish(&mut self) -> Result<ByteString, InvalidUtf8> {
            let complete = self.utf8.is_complete();
            let bytes = std::mem::take(&mut self.bytes).freeze();
            self.utf8.reset();
            if !complete {
                return Err(InvalidUtf8);
            }
            ByteString::try_from(bytes).map_err(|_| InvalidUtf8)
        }

        /// Bytes held.
        pub(crate) fn len(&self) -> usize {
            self.bytes.len()
        }

        /// Drops what is held.
        pub(crate) fn clear(&mut self) {
            self.bytes = BytesMut::new();
            self.utf8.reset();
        }
    }
}
