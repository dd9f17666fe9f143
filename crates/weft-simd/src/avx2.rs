//! AVX2 kernels: 32 bytes per instruction, 128 per loop turn.
//!
//! Every function here is compiled with AVX2 enabled, so calling one is
//! `unsafe` unless the caller has AVX2 too: only [`crate::Kernel`] calls
//! them, and it exists for AVX2 only once the CPU has been seen to have it.
//! Lengths that are not a multiple of 32 end the way the SSE2 kernels do
//! (one overlapping step over the last 32 bytes); below 32 bytes the SSE2
//! kernels take over.

use std::arch::x86_64::{
    __m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
};
use std::mem::MaybeUninit;

use crate::{key, sse2};

/// The bytes of a vector.
const LANE: usize = 32;
/// The bytes of a loop turn.
const BLOCK: usize = 4 * LANE;

#[inline]
#[target_feature(enable = "avx2")]
fn load(bytes: &[u8; LANE]) -> __m256i {
    // SAFETY: the pointer is to 32 readable bytes (a `[u8; 32]`), and
    // `_mm256_loadu_si256` has no alignment requirement.
    unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn store(bytes: &mut [u8; LANE], value: __m256i) {
    // SAFETY: the pointer is to 32 writable bytes (a `[u8; 32]`), and
    // `_mm256_storeu_si256` has no alignment requirement.
    unsafe { _mm256_storeu_si256(bytes.as_mut_ptr().cast(), value) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn store_uninit(bytes: &mut [MaybeUninit<u8>; LANE], value: __m256i) {
    // SAFETY: the pointer is to 32 writable bytes (`MaybeUninit<u8>` has
    // the layout of `u8`, and writing initialises them), and
    // `_mm256_storeu_si256` has no alignment requirement.
    unsafe { _mm256_storeu_si256(bytes.as_mut_ptr().cast(), value) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn splat(lane: u32) -> __m256i {
    _mm256_set1_epi32(lane as i32)
}

/// Masks `buf` in place with a key lane lined up with `buf[0]`.
#[target_feature(enable = "avx2")]
pub(crate) fn mask(buf: &mut [u8], lane: u32) {
    let len = buf.len();
    let Some(last) = buf.last_chunk::<LANE>().map(|bytes| load(bytes)) else {
        return sse2::mask(buf, lane);
    };
    let k = splat(lane);
    let (blocks, rest) = buf.as_chunks_mut::<BLOCK>();
    for block in blocks {
        let (lanes, _) = block.as_chunks_mut::<LANE>();
        for bytes in lanes {
            store(bytes, _mm256_xor_si256(load(bytes), k));
        }
    }
    let (lanes, _) = rest.as_chunks_mut::<LANE>();
    for bytes in lanes {
        store(bytes, _mm256_xor_si256(load(bytes), k));
    }
    if !len.is_multiple_of(LANE) {
        if let Some(bytes) = buf.last_chunk_mut::<LANE>() {
            let k = splat(key::advance(lane, len - LANE));
            store(bytes, _mm256_xor_si256(last, k));
        }
    }
}

/// Writes `src` masked with a key lane lined up with `src[0]` to `dst`,
/// which is exactly as long.
#[target_feature(enable = "avx2")]
pub(crate) fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8], lane: u32) {
    debug_assert_eq!(dst.len(), src.len());
    let len = src.len();
    if len < LANE {
        return sse2::copy(dst, src, lane);
    }
    let k = splat(lane);
    let (dst_blocks, dst_rest) = dst.as_chunks_mut::<BLOCK>();
    let (src_blocks, src_rest) = src.as_chunks::<BLOCK>();
    for (d, s) in dst_blocks.iter_mut().zip(src_blocks) {
        let (d, _) = d.as_chunks_mut::<LANE>();
        let (s, _) = s.as_chunks::<LANE>();
        for (d, s) in d.iter_mut().zip(s) {
            store_uninit(d, _mm256_xor_si256(load(s), k));
        }
    }
    let (d, _) = dst_rest.as_chunks_mut::<LANE>();
    let (s, _) = src_rest.as_chunks::<LANE>();
    for (d, s) in d.iter_mut().zip(s) {
        store_uninit(d, _mm256_xor_si256(load(s), k));
    }
    if !len.is_multiple_of(LANE) {
        if let (Some(d), Some(s)) = (dst.last_chunk_mut::<LANE>(), src.last_chunk::<LANE>()) {
            let k = splat(key::advance(lane, len - LANE));
            store_uninit(d, _mm256_xor_si256(load(s), k));
        }
    }
}
