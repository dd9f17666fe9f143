//! The audited `unsafe` primitives under Weft's WebSocket engine.
//!
//! `weft-proto`, the protocol state machine, forbids `unsafe` code. The few
//! operations that need it to run at the machine's limit live here, in one
//! small crate a reviewer can read in an afternoon:
//!
//! - **Masking** (RFC 6455 5.3): every payload byte XORed with a 4-byte key.
//!   [`mask`] works in place; [`extend_masked`] appends a masked or unmasked
//!   copy to a [`BytesMut`](bytes::BytesMut) in one pass, straight into its
//!   spare capacity. Both choose a [`Kernel`] at run time: AVX2 where the
//!   CPU has it, SSE2 (every x86-64 CPU has it) otherwise, and portable
//!   word-at-a-time code on other architectures.
//! - **Text** ([`utf8_text`]): a [`ByteString`](bytestring::ByteString) from
//!   [`Bytes`](bytes::Bytes) validated once, with the SIMD validator,
//!   instead of twice (`ByteString::try_from` validates again with the
//!   slower std check); [`Utf8Buf`] does the same for text that arrives
//!   in pieces, each checked as it arrives.
//!
//! # Where the `unsafe` is, and why it is sound
//!
//! - `sse2.rs` and `avx2.rs`: unaligned vector loads and stores through raw
//!   pointers, each within a slice whose length the loop has checked; the
//!   AVX2 functions are `#[target_feature(enable = "avx2")]` and are only
//!   called through a [`Kernel`], which exists for AVX2 only once the CPU
//!   has been seen to support it.
//! - `kernel.rs`: the calls into those functions, after detection.
//! - `extend.rs`: `BytesMut::set_len` over bytes the kernel has written.
//! - `text.rs`: `ByteString::from_bytes_unchecked` right after validation,
//!   on immutable bytes.
//! - `text_buf.rs`: the same on bytes every one of which [`Utf8Buf::push`]
//!   checked as it added them.
//!
//! Every `unsafe` block carries a `SAFETY:` comment (clippy's
//! `undocumented_unsafe_blocks` is denied). Every kernel is tested against
//! [`reference::mask`], the byte-at-a-time definition, at every length from
//! 0 to 512, every key offset and every source and destination
//! misalignment, by proptest beyond that, and by a cargo-fuzz target under
//! AddressSanitizer (`fuzz/fuzz_targets/simd_kernels.rs`).
//!
//! ```
//! let mut frame = *b"Hello";
//! weft_simd::mask(&mut frame, [0x37, 0xfa, 0x21, 0x3d], 0);
//! assert_eq!(frame, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//!
//! let mut out = bytes::BytesMut::new();
//! weft_simd::extend_masked(&mut out, &frame, [0x37, 0xfa, 0x21, 0x3d], 0);
//! assert_eq!(&out[..], b"Hello");
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::multiple_unsafe_ops_per_block)]

mod extend;
mod kernel;
mod key;
mod portable;
pub mod reference;
mod text;
mod text_buf;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod sse2;

pub use extend::extend_masked;
pub use kernel::Kernel;
pub use text::utf8_text;
pub use text_buf::{NotUtf8, Utf8Buf};

/// Masks or unmasks `buf` in place with `key`, as if `buf` began `offset`
/// bytes into the payload (so a payload can be unmasked in pieces as it
/// arrives), with the fastest kernel this CPU has. Masking twice with the
/// same key and offset restores the input. No alignment is required.
#[inline]
pub fn mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if buf.len() <= 16 {
        // No vector to fill: two words, inlined into the caller.
        return portable::mask_short(buf, key::lane(key, offset));
    }
    Kernel::for_len(buf.len()).mask(buf, key, offset);
}
