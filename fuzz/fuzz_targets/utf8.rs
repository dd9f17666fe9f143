//! Differential: the incremental UTF-8 validator against std::str::from_utf8
//! under arbitrary splits.
//!
//! Invariants: it accepts every piece and ends complete exactly when the
//! whole is UTF-8; it fails as soon as the bytes so far cannot begin valid
//! UTF-8, and never earlier.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::Utf8Validator;

fuzz_target!(|input: &[u8]| {
    let [s0, s1, s2, data @ ..] = input else {
        return;
    };
    let mut validator = Utf8Validator::new();
    let mut seen = 0usize;
    let mut failed = false;
    for piece in common::chunks(data, &[*s0, *s1, *s2]) {
        seen += piece.len();
        let so_far = std::str::from_utf8(&data[..seen]);
        match validator.feed(piece) {
            Ok(()) => {
                // Valid, or cut inside a code point that may still complete.
                assert!(so_far.is_ok() || so_far.unwrap_err().error_len().is_none());
                assert_eq!(validator.is_complete(), so_far.is_ok());
            }
            Err(_) => {
                assert!(
                    so_far.unwrap_err().error_len().is_some(),
                    "failed too early"
                );
                failed = true;
                break;
            }
        }
    }
    if !failed {
        assert_eq!(validator.is_complete(), std::str::from_utf8(data).is_ok());
    }
});
