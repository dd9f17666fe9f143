//! Every kernel this CPU runs against the byte-at-a-time reference, at
//! every length from 0 to 512 bytes, every key offset, and every source and
//! destination misalignment against the widest vector (32 bytes), with
//! guard bytes around the output to catch a write out of bounds.

use std::mem::MaybeUninit;

use weft_simd::{reference, Kernel};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const MAX_LEN: usize = 512;
/// Alignment classes: the widest vector any kernel uses.
const ALIGN: usize = 32;
const GUARD: u8 = 0xa5;

/// Distinct bytes, so a byte masked with the wrong key byte shows.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 + 7) as u8).collect()
}

/// The index in `buf` at which a slice is `misalign` bytes past a
/// 32-byte boundary.
fn start(buf: &[u8], misalign: usize) -> usize {
    buf.as_ptr().align_offset(ALIGN) + misalign
}

/// Every way to mask in place: each kernel, and `weft_simd::mask`, which
/// takes up to 16 bytes itself and hands longer ones to a kernel by length.
type MaskFn = Box<dyn Fn(&mut [u8], [u8; 4], usize)>;

fn maskers() -> Vec<(String, MaskFn)> {
    let mut all: Vec<(String, MaskFn)> = Kernel::available()
        .into_iter()
        .map(|k| {
            (
                k.name().to_string(),
                Box::new(move |b: &mut [u8], key, off| k.mask(b, key, off)) as MaskFn,
            )
        })
        .collect();
    all.push(("weft_simd::mask".to_string(), Box::new(weft_simd::mask)));
    all
}

#[test]
fn mask_in_place_matches_the_reference() {
    let source = data(MAX_LEN);
    for (kernel, mask) in maskers() {
        for len in 0..=MAX_LEN {
            for offset in 0..8 {
                let expected = reference::masked(&source[..len], KEY, offset);
                for misalign in 0..ALIGN {
                    let mut buf = vec![GUARD; len + 2 * ALIGN + 64];
                    let at = start(&buf, misalign) + 16;
                    buf[at..at + len].copy_from_slice(&source[..len]);
                    mask(&mut buf[at..at + len], KEY, offset);
                    assert!(
                        buf[at..at + len] == expected[..],
                        "{kernel:?}: length {len}, offset {offset}, misalignment {misalign}"
                    );
                    assert!(
                        buf[..at].iter().chain(&buf[at + len..]).all(|&b| b == GUARD),
                        "{kernel:?} wrote outside the buffer: length {len}, misalignment {misalign}"
                    );
                }
            }
        }
    }
}

#[test]
fn copy_masked_matches_the_reference() {
    let backing = data(MAX_LEN + 2 * ALIGN);
    for kernel in Kernel::available() {
        for len in 0..=MAX_LEN {
            for offset in 0..4 {
                let expected = reference::masked(&backing[..len], KEY, offset);
                for src_misalign in 0..ALIGN {
                    // The same bytes at every source alignment.
                    let mut src_buf = vec![0u8; len + 2 * ALIGN];
                    let s = start(&src_buf, src_misalign);
                    src_buf[s..s + len].copy_from_slice(&backing[..len]);
                    let src = &src_buf[s..s + len];
                    for dst_misalign in 0..ALIGN {
                        let mut dst = vec![MaybeUninit::new(GUARD); len + 3 * ALIGN];
                        let d = dst.as_ptr().align_offset(ALIGN) + dst_misalign + 16;
                        let out = kernel.copy_masked(&mut dst[d..d + len], src, KEY, offset);
                        assert!(
                            out == &expected[..],
                            "{kernel:?}: length {len}, offset {offset}, source misalignment \
                             {src_misalign}, destination misalignment {dst_misalign}"
                        );
                        let guards = dst[..d].iter().chain(&dst[d + len..]);
                        // SAFETY: every element of `dst` was initialised with
                        // `MaybeUninit::new`, and a kernel writes only bytes.
                        assert!(
                            guards
                                .map(|b| unsafe { b.assume_init() })
                                .all(|b| b == GUARD),
                            "{kernel:?} wrote outside the destination: length {len}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn copy_masked_writes_only_as_much_as_both_sides_hold() {
    let src = data(100);
    for kernel in Kernel::available() {
        for (dst_len, src_len) in [(40, 100), (100, 40), (0, 100), (100, 0)] {
            let mut dst = vec![MaybeUninit::new(GUARD); dst_len];
            let out = kernel.copy_masked(&mut dst, &src[..src_len], KEY, 1);
            let n = dst_len.min(src_len);
            assert_eq!(out, &reference::masked(&src[..n], KEY, 1)[..], "{kernel:?}");
        }
    }
}

#[test]
fn this_cpu_runs_the_kernels_it_should() {
    let names: Vec<_> = Kernel::available().iter().map(|k| k.name()).collect();
    eprintln!("kernels tested: {names:?}, best: {:?}", Kernel::best());
    assert_eq!(names[0], "portable");
    #[cfg(target_arch = "x86_64")]
    {
        assert!(names.contains(&"sse2"));
        assert_eq!(
            names.contains(&"avx2"),
            std::arch::is_x86_feature_detected!("avx2")
        );
    }
    assert!(Kernel::available().contains(&Kernel::best()));
}
