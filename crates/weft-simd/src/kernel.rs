//! The kernels, chosen at run time: which instruction sets this CPU has,
//! and the one place the AVX2 functions are called.

use std::fmt;
use std::mem::MaybeUninit;

use crate::{key, portable};

/// One implementation of the masking kernels.
///
/// [`Kernel::best`] is the fastest this CPU runs; [`Kernel::available`]
/// lists every one it can run, for tests and benchmarks that compare them.
/// A `Kernel` for an instruction set exists only once the CPU has been seen
/// to support it, which is what makes calling its functions sound.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Kernel(Isa);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// Safe word-at-a-time code, for every target.
    Portable,
    /// 16-byte vectors: part of x86-64, never detected.
    #[cfg(target_arch = "x86_64")]
    Sse2,
    /// 32-byte vectors, once detected.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

/// Whether this CPU has AVX2: known at compile time when the build targets
/// it, else detected once and cached by std.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2() -> bool {
    cfg!(target_feature = "avx2") || std::arch::is_x86_feature_detected!("avx2")
}

impl Kernel {
    /// The portable kernel: safe code, on every target.
    pub const PORTABLE: Kernel = Kernel(Isa::Portable);

    /// The fastest kernel this CPU runs.
    #[inline]
    pub fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx2() {
                return Kernel(Isa::Avx2);
            }
            Kernel(Isa::Sse2)
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::PORTABLE
    }

    /// The kernel for `len` bytes: below 64 bytes the 16-byte kernel is as
    /// fast as any and needs no detection.
    #[inline]
    pub(crate) fn for_len(len: usize) -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if len < 64 {
            return Kernel(Isa::Sse2);
        }
        let _ = len;
        Kernel::best()
    }

    /// Every kernel this CPU runs, the portable one first.
    pub fn available() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::PORTABLE];
        #[cfg(target_arch = "x86_64")]
        {
            kernels.push(Kernel(Isa::Sse2));
            if has_avx2() {
                kernels.push(Kernel(Isa::Avx2));
            }
        }
        kernels
    }

    /// The kernel's name: `portable`, `sse2` or `avx2`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Sse2 => "sse2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
        }
    }

    /// Masks or unmasks `buf` in place with `key`, as if `buf` began
    /// `offset` bytes into the payload.
    #[inline]
    pub fn mask(self, buf: &mut [u8], key: [u8; 4], offset: usize) {
        let lane = key::lane(key, offset);
        match self.0 {
            Isa::Portable => portable::mask(buf, lane),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of x86-64; `sse2.rs` checks at compile
            // time that the target enables it.
            Isa::Sse2 => unsafe { crate::sse2::mask(buf, lane) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` holds `Isa::Avx2` only when `has_avx2()`
            // said this CPU has AVX2 (`best` and `available`, the only
            // places that make one).
            Isa::Avx2 => unsafe { crate::avx2::mask(buf, lane) },
        }
    }

    /// Writes `src` masked with `key` (as if it began `offset` bytes into
    /// the payload) to the start of `dst`, as much of it as `dst` holds,
    /// and returns the part of `dst` written, now initialised.
    #[inline]
    pub fn copy_masked<'d>(
        self,
        dst: &'d mut [MaybeUninit<u8>],
        src: &[u8],
        key: [u8; 4],
        offset: usize,
    ) -> &'d mut [u8] {
        let len = dst.len().min(src.len());
        let (dst, src) = (&mut dst[..len], &src[..len]);
        let lane = key::lane(key, offset);
        match self.0 {
            Isa::Portable => portable::copy(dst, src, lane),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `mask`, SSE2 is part of x86-64.
            Isa::Sse2 => unsafe { crate::sse2::copy(dst, src, lane) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `mask`, this CPU has AVX2.
            Isa::Avx2 => unsafe { crate::avx2::copy(dst, src, lane) },
        }
        // SAFETY: every kernel writes each of the `len` elements of `dst`
        // (the exhaustive tests check every length and alignment up to 512
        // bytes, the fuzz target beyond), and `MaybeUninit<u8>` has the
        // layout of `u8`: the slice is `len` initialised bytes, borrowed
        // mutably from `dst` for `'d`.
        unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<u8>(), len) }
    }
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
