//! Property test of incremental UTF-8 validation. RFC 6455 8.1: text must
//! be UTF-8, and an endpoint fails the connection as soon as the bytes
//! received can no longer be valid. `Utf8Validator`, fed any bytes cut
//! anywhere (inside code points too), accepts exactly what
//! `std::str::from_utf8` accepts and fails on the piece where the bytes so
//! far stop being a prefix of valid UTF-8.

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use weft_proto::Utf8Validator;

use common::properties::{config, utf8ish};

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn utf8_validator_fails_fast(bytes in utf8ish(), cuts in vec(any::<Index>(), 0..8)) {
        let mut bounds: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        bounds.push(0);
        bounds.push(bytes.len());
        bounds.sort_unstable();

        let mut validator = Utf8Validator::new();
        let mut failed_at = None;
        for (i, w) in bounds.windows(2).enumerate() {
            let fed = &bytes[..w[1]];
            match validator.feed(&bytes[w[0]..w[1]]) {
                Ok(()) => match std::str::from_utf8(fed) {
                    Ok(_) => prop_assert!(validator.is_complete(), "piece {}: complete prefix", i),
                    Err(e) => {
                        prop_assert!(
                            e.error_len().is_none(),
                            "piece {} accepted but the {} bytes so far are invalid ({:?})", i, fed.len(), e
                        );
                        prop_assert!(!validator.is_complete(), "piece {}: ends inside a code point", i);
                    }
                },
                Err(_) => {
                    let result = std::str::from_utf8(fed);
                    prop_assert!(
                        result.as_ref().is_err_and(|e| e.error_len().is_some()),
                        "piece {} rejected but the {} bytes so far are {:?}", i, fed.len(), result
                    );
                    failed_at = Some(i);
                    break;
                }
            }
        }
        let accepted = failed_at.is_none() && validator.is_complete();
        prop_assert_eq!(accepted, std::str::from_utf8(&bytes).is_ok());

        // After a reset it validates a fresh string from scratch.
        validator.reset();
        prop_assert!(validator.feed("héllo €𝄞".as_bytes()).is_ok());
        prop_assert!(validator.is_complete());
    }
}
