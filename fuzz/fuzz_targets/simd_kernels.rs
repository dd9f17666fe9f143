//! Differential, under AddressSanitizer: every masking kernel this CPU
//! runs against the byte-at-a-time reference, in place and copying, at any
//! length, key, offset and alignment; and text validated once against std.
//!
//! Invariants: each kernel's output equals the reference's; the copying
//! kernels write exactly the destination given them (ASan reports a byte
//! beyond it: the destination is its own allocation, exactly as long);
//! `extend_masked` appends the masked bytes and keeps what was there;
//! `utf8_text` accepts exactly what `std::str::from_utf8` accepts.

#![no_main]

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weft_simd::{extend_masked, reference, utf8_text, Kernel};

fuzz_target!(|input: &[u8]| {
    let [k0, k1, k2, k3, offset, src_skip, dst_skip, data @ ..] = input else {
        return;
    };
    let key = [*k0, *k1, *k2, *k3];
    let offset = usize::from(*offset);
    // The source starts `src_skip` bytes into its own allocation, whatever
    // its alignment; the same for the destination.
    let src_skip = usize::from(*src_skip % 64).min(data.len());
    let src = &data[src_skip..];
    let expected = reference::masked(src, key, offset);
    for kernel in Kernel::available() {
        let mut buf = src.to_vec();
        kernel.mask(&mut buf, key, offset);
        assert_eq!(buf, expected, "{kernel:?} in place");

        let dst_skip = usize::from(*dst_skip % 64);
        let mut dst = vec![MaybeUninit::new(0u8); dst_skip + src.len()];
        let out = kernel.copy_masked(&mut dst[dst_skip..], src, key, offset);
        assert_eq!(out, &expected[..], "{kernel:?} copying");
    }
    let mut appended = BytesMut::from(&data[..src_skip]);
    extend_masked(&mut appended, src, key, offset);
    assert_eq!(&appended[..src_skip], &data[..src_skip]);
    assert_eq!(&appended[src_skip..], &expected[..]);

    let text = utf8_text(Bytes::copy_from_slice(src));
    assert_eq!(text.is_ok(), std::str::from_utf8(src).is_ok());
});
