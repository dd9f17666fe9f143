//! Differential, under AddressSanitizer: every masking kernel this CPU
//! runs against the byte-at-a-time reference, in place and copying, at any
//! length, key, offset and alignment; and text validated once against std.
//!
//! Invariants: each kernel's output equals the reference's; the copying
//! kernels write exactly the destination given them (ASan reports a byte
//! beyond it: the destination is its own allocation, exactly as long);
//! `mask` (which takes up to 16 bytes itself) agrees with them;
//! `extend_masked` appends the masked bytes and keeps what was there;
//! `utf8_text` accepts exactly what `std::str::from_utf8` accepts, and
//! `Utf8Buf` fed the same bytes in pieces fails at the first piece after
//! which they cannot be UTF-8 and otherwise ends with the same text.

#![no_main]

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weft_simd::{extend_masked, mask, reference, utf8_text, Kernel, Utf8Buf};

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
    let mut buf = src.to_vec();
    mask(&mut buf, key, offset);
    assert_eq!(buf, expected, "mask");

    let mut appended = BytesMut::from(&data[..src_skip]);
    extend_masked(&mut appended, src, key, offset);
    assert_eq!(&appended[..src_skip], &data[..src_skip]);
    assert_eq!(&appended[src_skip..], &expected[..]);

    let text = utf8_text(Bytes::copy_from_slice(src));
    assert_eq!(text.is_ok(), std::str::from_utf8(src).is_ok());

    // The same bytes in pieces: cut where the key bytes say, split off one
    // buffer so that they join without a copy.
    let mut whole = BytesMut::from(src);
    let mut text = Utf8Buf::new();
    let mut at = 0;
    let mut cut = key.iter().map(|&k| usize::from(k)).cycle();
    let mut failed = false;
    while at < src.len() {
        let n = (cut.next().unwrap_or(1) + 1).min(src.len() - at);
        at += n;
        let so_far = std::str::from_utf8(&src[..at]);
        let may_continue = so_far.is_ok() || so_far.unwrap_err().error_len().is_none();
        if text.push(whole.split_to(n), src.len() - at).is_err() {
            assert!(!may_continue, "Utf8Buf failed too early");
            failed = true;
            break;
        }
        assert!(may_continue, "Utf8Buf accepted bytes that cannot be UTF-8");
    }
    if !failed {
        match text.finish() {
            Ok(t) => assert_eq!(t.as_bytes(), src),
            Err(_) => assert!(std::str::from_utf8(src).is_err()),
        }
    }
});
