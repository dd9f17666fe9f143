//! Masking (RFC 6455 section 5.3): every payload byte is XORed with the
//! 4-byte key, byte `i` with key byte `i % 4`; unmasking is the same XOR.
//!
//! With the `simd` feature (the default) the three functions below run
//! weft-simd's kernels: AVX2 or SSE2 chosen at run time, copies written
//! straight into the buffer's spare capacity. Without it, they are the safe
//! code below, which the compiler vectorises:
//! - [`apply_mask`]: in place, 32 bytes at a time over a key pattern
//!   rotated to the offset; 8 at a time below 32 bytes. Used for payloads
//!   already in the receive buffer and for a client's outgoing copies.
//! - [`extend_unmasked`]: appends while unmasking, for the rest of a frame
//!   in progress as it arrives, in one pass instead of a copy and a pass.
//! - [`extend_frame_unmasked`]: appends a whole frame, header unchanged and
//!   payload unmasked, in one pass, for a server's large frames.
//!
//! Without `simd`, the two appending kernels share one lane copy ([`extend_xored`]): 16 key
//! bytes in a `u128`, 128 bytes at a time through registers.
//! [`apply_mask_naive`] is the definition every kernel is tested against.

use bytes::BytesMut;

/// Masks or unmasks `buf` in place with `key`, as if `buf` began `offset`
/// bytes into the payload (so a payload can be unmasked in pieces as it
/// arrives). Masking twice with the same key and offset restores the input.
///
/// With the `simd` feature, weft-simd's fastest kernel for this CPU (AVX2
/// or SSE2); without, 32 bytes at a time over a key pattern rotated to the
/// offset, a fixed-size loop the compiler turns into vector XORs. No
/// alignment is required.
///
/// ```
/// use weft_proto::frame::apply_mask;
/// let mut data = *b"Hello";
/// apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    #[cfg(feature = "simd")]
    weft_simd::mask(buf, key, offset);
    #[cfg(not(feature = "simd"))]
    apply_mask_safe(buf, key, offset);
}

/// [`apply_mask`] in safe code.
#[cfg(not(feature = "simd"))]
#[inline]
fn apply_mask_safe(buf: &mut [u8], key: [u8; 4], offset: usize) {
    const WIDE: usize = 32;
    // The key as it lines up with buf[0].
    let shift = offset % 4;
    let key = [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ];
    if buf.len() < WIDE {
        // Eight bytes at a time, then the rest.
        let key8 = u64::from_ne_bytes([
            key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
        ]);
        let mut words = buf.chunks_exact_mut(8);
        for word in &mut words {
            let masked = u64::from_ne_bytes(word.try_into().unwrap_or([0; 8])) ^ key8;
            word.copy_from_slice(&masked.to_ne_bytes());
        }
        for (i, byte) in words.into_remainder().iter_mut().enumerate() {
            *byte ^= key[i & 3];
        }
        return;
    }
    let mut pattern = [0u8; WIDE];
    for quad in pattern.chunks_exact_mut(4) {
        quad.copy_from_slice(&key);
    }
    let mut chunks = buf.chunks_exact_mut(WIDE);
    for chunk in &mut chunks {
        for (byte, k) in chunk.iter_mut().zip(pattern.iter()) {
            *byte ^= k;
        }
    }
    // The tail is shorter than WIDE and starts at a multiple of 4 from the
    // beginning, so the same pattern lines up with it.
    for (byte, k) in chunks.into_remainder().iter_mut().zip(pattern.iter()) {
        *byte ^= k;
    }
}

/// The byte-at-a-time definition of [`apply_mask`], kept as the reference
/// the fast path is tested against.
pub fn apply_mask_naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset % 4 + i) % 4];
    }
}

/// Appends `src` to `buf` unmasked with `key` (as if `src` began `offset`
/// bytes into the payload), in one pass over the bytes rather than a copy
/// followed by a pass over the copy.
pub(crate) fn extend_unmasked(buf: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    #[cfg(feature = "simd")]
    weft_simd::extend_masked(buf, src, key, offset);
    #[cfg(not(feature = "simd"))]
    extend_xored(buf, src, key_lane(key, offset), key_lane(key, offset));
}

/// Appends a masked frame, `header_len` bytes of header and then payload
/// from its start (all of it or the part that has arrived), to `buf` with
/// the payload unmasked: header and payload in one pass.
#[cfg(feature = "simd")]
pub(crate) fn extend_frame_unmasked(
    buf: &mut BytesMut,
    frame: &[u8],
    header_len: usize,
    key: [u8; 4],
) {
    let (header, payload) = frame.split_at(header_len.min(frame.len()));
    buf.reserve(frame.len());
    buf.extend_from_slice(header);
    weft_simd::extend_masked(buf, payload, key, 0);
}

/// [`extend_frame_unmasked`] in safe code.
#[cfg(not(feature = "simd"))]
pub(crate) fn extend_frame_unmasked(
    buf: &mut BytesMut,
    frame: &[u8],
    header_len: usize,
    key: [u8; 4],
) {
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
#[cfg(not(feature = "simd"))]
const LANE: usize = 16;

/// The key as 16 bytes, lined up with a byte `offset` bytes into the
/// payload.
#[cfg(not(feature = "simd"))]
fn key_lane(key: [u8; 4], offset: usize) -> u128 {
    let s = offset % 4;
    let quad = u32::from_le_bytes([key[s], key[(s + 1) % 4], key[(s + 2) % 4], key[(s + 3) % 4]]);
    u128::from(quad) * 0x0000_0001_0000_0001_0000_0001_0000_0001
}

/// Appends `src` to `buf`, its first 16 bytes XORed with `first` and each
/// 16 after them with `lane`: 128 bytes at a time through registers, then
/// 16 at a time, then the few left.
///
/// Never inlined: inlined into the receive buffer's `push`, it made the
/// plain copy there slower (a client's 64 KiB frames decoded at 0.6 times
/// the rate).
#[cfg(not(feature = "simd"))]
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
#[cfg(not(feature = "simd"))]
fn extend_xored_short(buf: &mut BytesMut, src: &[u8], lane: u128) {
    let n = src.len().min(LANE);
    let mut word = [0u8; LANE];
    word[..n].copy_from_slice(&src[..n]);
    buf.extend_from_slice(&(u128::from_le_bytes(word) ^ lane).to_le_bytes()[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 37 + 11) as u8).collect()
    }

    #[test]
    fn apply_mask_matches_the_naive_mask_at_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in (0..300).chain([1023, 1024, 1025]) {
            for offset in 0..8 {
                let mut fast = bytes(len);
                let mut naive = fast.clone();
                apply_mask(&mut fast, key, offset);
                apply_mask_naive(&mut naive, key, offset);
                assert_eq!(fast, naive, "len {len}, offset {offset}");
            }
        }
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
