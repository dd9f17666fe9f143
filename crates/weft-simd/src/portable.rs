//! Safe word-at-a-time kernels: the path on architectures without a SIMD
//! kernel here, and the tails shorter than a vector on x86-64.

use std::mem::MaybeUninit;

/// `lane` repeated over eight bytes.
#[inline]
fn lane64(lane: u32) -> u64 {
    u64::from(lane) | (u64::from(lane) << 32)
}

/// Masks `buf` in place with a key lane lined up with `buf[0]`.
#[inline]
pub(crate) fn mask(buf: &mut [u8], lane: u32) {
    let wide = lane64(lane);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_le_bytes(*word) ^ wide).to_le_bytes();
    }
    // The tail starts at a multiple of 8 bytes: the same lane lines up.
    for (byte, k) in tail.iter_mut().zip(lane.to_le_bytes().into_iter().cycle()) {
        *byte ^= k;
    }
}

/// Masks at most 16 bytes in place with a key lane lined up with `buf[0]`:
/// two overlapping 8-byte words (or 4-byte ones below 8 bytes), both read
/// before either is written, so no loop and no byte-at-a-time tail. The
/// short messages of chat and games are this size.
#[inline]
pub(crate) fn mask_short(buf: &mut [u8], lane: u32) {
    let len = buf.len();
    debug_assert!(len <= 16);
    if len >= 8 {
        let wide = lane64(lane);
        let tail_lane = lane64(crate::key::advance(lane, len - 8));
        let (Some(head), Some(tail)) = (buf.first_chunk::<8>(), buf.last_chunk::<8>()) else {
            return;
        };
        let head = u64::from_le_bytes(*head) ^ wide;
        let tail = u64::from_le_bytes(*tail) ^ tail_lane;
        if let Some(bytes) = buf.last_chunk_mut::<8>() {
            *bytes = tail.to_le_bytes();
        }
        if let Some(bytes) = buf.first_chunk_mut::<8>() {
            *bytes = head.to_le_bytes();
        }
    } else if len >= 4 {
        let tail_lane = crate::key::advance(lane, len - 4);
        let (Some(head), Some(tail)) = (buf.first_chunk::<4>(), buf.last_chunk::<4>()) else {
            return;
        };
        let head = u32::from_le_bytes(*head) ^ lane;
        let tail = u32::from_le_bytes(*tail) ^ tail_lane;
        if let Some(bytes) = buf.last_chunk_mut::<4>() {
            *bytes = tail.to_le_bytes();
        }
        if let Some(bytes) = buf.first_chunk_mut::<4>() {
            *bytes = head.to_le_bytes();
        }
    } else {
        for (byte, k) in buf.iter_mut().zip(lane.to_le_bytes()) {
            *byte ^= k;
        }
    }
}

/// Writes `src` masked with a key lane lined up with `src[0]` to `dst`,
/// which is exactly as long.
#[inline]
pub(crate) fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8], lane: u32) {
    debug_assert_eq!(dst.len(), src.len());
    let wide = lane64(lane);
    let (dst_words, dst_tail) = dst.as_chunks_mut::<8>();
    let (src_words, src_tail) = src.as_chunks::<8>();
    for (d, s) in dst_words.iter_mut().zip(src_words) {
        let word = (u64::from_le_bytes(*s) ^ wide).to_le_bytes();
        for (d, b) in d.iter_mut().zip(word) {
            d.write(b);
        }
    }
    // Both tails start at the same multiple of 8: the same lane lines up.
    let key = lane.to_le_bytes().into_iter().cycle();
    for ((d, s), k) in dst_tail.iter_mut().zip(src_tail).zip(key) {
        d.write(s ^ k);
    }
}
