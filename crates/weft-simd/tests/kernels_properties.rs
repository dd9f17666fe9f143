//! Beyond the exhaustive range: long and odd lengths, any key, any offset,
//! any alignment, against the reference; and text validated once agreeing
//! with std's check.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weft_simd::{extend_masked, mask, reference, utf8_text, Kernel};

proptest! {
    #[test]
    fn every_kernel_masks_as_the_reference(
        data in prop::collection::vec(any::<u8>(), 0..20_000),
        key in any::<[u8; 4]>(),
        offset in 0usize..1 << 20,
        skip in 0usize..64,
    ) {
        let skip = skip.min(data.len());
        let expected = reference::masked(&data[skip..], key, offset);
        for kernel in Kernel::available() {
            let mut buf = data.clone();
            kernel.mask(&mut buf[skip..], key, offset);
            prop_assert_eq!(&buf[..skip], &data[..skip]);
            prop_assert!(buf[skip..] == expected[..], "{:?}", kernel);
            let mut dst = vec![MaybeUninit::new(0); data.len() - skip];
            let out = kernel.copy_masked(&mut dst, &data[skip..], key, offset);
            prop_assert!(out == &expected[..], "{:?}", kernel);
        }
    }

    #[test]
    fn masking_twice_restores_the_input(
        data in prop::collection::vec(any::<u8>(), 0..5000),
        key in any::<[u8; 4]>(),
        offset in any::<usize>(),
    ) {
        let mut buf = data.clone();
        mask(&mut buf, key, offset);
        mask(&mut buf, key, offset);
        prop_assert_eq!(buf, data);
    }

    #[test]
    fn a_payload_unmasked_in_pieces_is_unmasked(
        data in prop::collection::vec(any::<u8>(), 0..5000),
        key in any::<[u8; 4]>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        let mut out = BytesMut::from(&b"x"[..]);
        for pair in cuts.windows(2) {
            extend_masked(&mut out, &data[pair[0]..pair[1]], key, pair[0]);
        }
        prop_assert_eq!(&out[..1], b"x");
        prop_assert!(out[1..] == reference::masked(&data, key, 0)[..]);
    }

    #[test]
    fn text_is_accepted_exactly_when_std_accepts_it(
        data in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let std_says = std::str::from_utf8(&data).is_ok();
        let text = utf8_text(Bytes::from(data.clone()));
        prop_assert_eq!(text.is_ok(), std_says);
        match text {
            Ok(text) => prop_assert_eq!(text.as_bytes(), &data[..]),
            Err(bytes) => prop_assert_eq!(&bytes[..], &data[..]),
        }
    }

    #[test]
    fn strings_with_one_bad_byte_are_refused(
        text in "\\PC{0,200}",
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec![0x80u8, 0xbf, 0xc0, 0xc1, 0xf5, 0xff]),
    ) {
        let mut data = text.into_bytes();
        data.insert(at.index(data.len() + 1), bad);
        let std_says = std::str::from_utf8(&data).is_ok();
        prop_assert_eq!(utf8_text(Bytes::from(data)).is_ok(), std_says);
    }
}
