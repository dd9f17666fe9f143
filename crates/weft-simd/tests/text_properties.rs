//! Text validated once: `utf8_text` and `Utf8Buf` accept exactly what std
//! accepts, and `Utf8Buf` fails at the first piece after which the bytes
//! can no longer begin valid UTF-8, never earlier.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use weft_simd::{utf8_text, Utf8Buf};

/// Mostly text, with a few bytes that may break it.
fn texty() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (
            "\\PC{0,150}",
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2)
        )
            .prop_map(|(s, flips)| {
                let mut b = s.into_bytes();
                for (at, byte) in flips {
                    if !b.is_empty() {
                        let i = at.index(b.len());
                        b[i] = byte;
                    }
                }
                b
            }),
    ]
}

proptest! {
    #[test]
    fn whole_text_is_accepted_exactly_when_std_accepts_it(data in texty()) {
        let std_says = std::str::from_utf8(&data).is_ok();
        match utf8_text(Bytes::from(data.clone())) {
            Ok(text) => {
                prop_assert!(std_says);
                prop_assert_eq!(text.as_bytes(), &data[..]);
            }
            Err(bytes) => {
                prop_assert!(!std_says);
                prop_assert_eq!(&bytes[..], &data[..]);
            }
        }
    }

    #[test]
    fn text_in_pieces_fails_at_the_first_bad_piece(
        data in texty(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        joined in any::<bool>(),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.extend([0, data.len()]);
        cuts.sort_unstable();
        // Pieces split off one buffer (joined without a copy) or each its own.
        let mut whole = BytesMut::from(&data[..]);
        let mut buf = Utf8Buf::new();
        let mut failed = false;
        for pair in cuts.windows(2) {
            let piece = if joined {
                whole.split_to(pair[1] - pair[0])
            } else {
                BytesMut::from(&data[pair[0]..pair[1]])
            };
            let so_far = std::str::from_utf8(&data[..pair[1]]);
            let may_continue = so_far.is_ok() || so_far.unwrap_err().error_len().is_none();
            match buf.push(piece, data.len() - pair[1]) {
                Ok(()) => prop_assert!(may_continue, "accepted bytes that cannot be UTF-8"),
                Err(_) => {
                    prop_assert!(!may_continue, "failed too early");
                    failed = true;
                    break;
                }
            }
        }
        let std_says = std::str::from_utf8(&data).is_ok();
        if !failed {
            match buf.finish() {
                Ok(text) => {
                    prop_assert!(std_says);
                    prop_assert_eq!(text.as_bytes(), &data[..]);
                }
                Err(_) => prop_assert!(!std_says),
            }
        } else {
            prop_assert!(!std_says);
        }
        prop_assert!(buf.is_empty());
    }
}
