//! SSE2 kernels: 16 bytes per instruction, 64 per loop turn. SSE2 is part
//! of x86-64 itself, so these need no run-time detection.
//!
//! A length that is not a multiple of 16 ends with one more 16-byte step
//! over the last 16 bytes, overlapping the step before it: the in-place
//! kernel reads those 16 bytes before the loop changes any of them, the
//! copying kernel reads the source, which does not change. Below 16 bytes
//! the portable kernels take over.
//!
//! The functions are compiled with SSE2 enabled, like all x86-64 code, and
//! are `unsafe` to call from code that does not say so: the compile-time
//! check below is what makes the calls in [`crate::Kernel`] sound.

use std::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128,
};
use std::mem::MaybeUninit;

use crate::{key, portable};

// Every x86-64 CPU has SSE2, and every x86-64 target enables it.
const _: () = assert!(cfg!(target_feature = "sse2"));

/// The bytes of a vector.
const LANE: usize = 16;
/// The bytes of a loop turn.
const BLOCK: usize = 4 * LANE;

#[inline]
#[target_feature(enable = "sse2")]
fn load(bytes: &[u8; LANE]) -> __m128i {
    // SAFETY: the pointer is to 16 readable bytes (a `[u8; 16]`), and
    // `_mm_loadu_si128` has no alignment requirement.
    unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "sse2")]
fn store(bytes: &mut [u8; LANE], value: __m128i) {
    // SAFETY: the pointer is to 16 writable bytes (a `[u8; 16]`), and
    // `_mm_storeu_si128` has no alignment requirement.
    unsafe { _mm_storeu_si128(bytes.as_mut_ptr().cast(), value) }
}

#[inline]
#[target_feature(enable = "sse2")]
fn store_uninit(bytes: &mut [MaybeUninit<u8>; LANE], value: __m128i) {
    // SAFETY: the pointer is to 16 writable bytes (`MaybeUninit<u8>` has
    // the layout of `u8`, and writing initialises them), and
    // `_mm_storeu_si128` has no alignment requirement.
    unsafe { _mm_storeu_si128(bytes.as_mut_ptr().cast(), value) }
}

#[inline]
#[target_feature(enable = "sse2")]
fn splat(lane: u32) -> __m128i {
    _mm_set1_epi32(lane as i32)
}

/// Masks `buf` in place with a key lane lined up with `buf[0]`.
#[inline]
#[target_feature(enable = "sse2")]
pub(crate) fn mask(buf: &mut [u8], lane: u32) {
    let len = buf.len();
    let Some(last) = buf.last_chunk::<LANE>().map(|bytes| load(bytes)) else {
        return portable::mask(buf, lane);
    };
    let k = splat(lane);
    let (blocks, rest) = buf.as_chunks_mut::<BLOCK>();
    for block in blocks {
        let (lanes, _) = block.as_chunks_mut::<LANE>();
        for bytes in lanes {
            store(bytes, _mm_xor_si128(load(bytes), k));
        }
    }
    let (lanes, _) = rest.as_chunks_mut::<LANE>();
    for bytes in lanes {
        store(bytes, _mm_xor_si128(load(bytes), k));
    }
    if !len.is_multiple_of(LANE) {
        if let Some(bytes) = buf.last_chunk_mut::<LANE>() {
            let k = splat(key::advance(lane, len - LANE));
            store(bytes, _mm_xor_si128(last, k));
        }
    }
}

/// Writes `src` masked with a key lane lined up with `src[0]` to `dst`,
/// which is exactly as long.
#[inline]
#[target_feature(enable = "sse2")]
pub(crate) fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8], lane: u32) {
    debug_assert_eq!(dst.len(), src.len());
    let len = src.len();
    if len < LANE {
        return portable::copy(dst, src, lane);
    }
    let k = splat(lane);
    let (dst_blocks, dst_rest) = dst.as_chunks_mut::<BLOCK>();
    let (src_blocks, src_rest) = src.as_chunks::<BLOCK>();
    for (d, s) in dst_blocks.iter_mut().zip(src_blocks) {
        let (d, _) = d.as_chunks_mut::<LANE>();
        let (s, _) = s.as_chunks::<LANE>();
        for (d, s) in d.iter_mut().zip(s) {
            store_uninit(d, _mm_xor_si128(load(s), k));
        }
    }
    let (d, _) = dst_rest.as_chunks_mut::<LANE>();
    let (s, _) = src_rest.as_chunks::<LANE>();
    for (d, s) in d.iter_mut().zip(s) {
        store_uninit(d, _mm_xor_si128(load(s), k));
    }
    if !len.is_multiple_of(LANE) {
        if let (Some(d), Some(s)) = (dst.last_chunk_mut::<LANE>(), src.last_chunk::<LANE>()) {
            let k = splat(key::advance(lane, len - LANE));
            store_uninit(d, _mm_xor_si128(load(s), k));
        }
    }
}
