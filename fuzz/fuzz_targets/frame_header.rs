//! Frame header parsing on arbitrary bytes.
//!
//! Invariants: no panic; a parsed header re-encodes to exactly the bytes it
//! came from (parsing is strict, encoding minimal); every strict prefix of
//! those bytes asks for more, never errs; errors do not depend on how much
//! of the header has arrived.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_proto::frame::{FrameHeader, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let whole = FrameHeader::parse(data);
    match &whole {
        Ok(Some((header, len))) => {
            assert!(*len <= MAX_HEADER_LEN && *len <= data.len());
            assert_eq!(header.encoded_len(), *len);
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            assert_eq!(&out[..n], &data[..*len], "re-encoding differs");
            for k in 0..*len {
                assert_eq!(FrameHeader::parse(&data[..k]), Ok(None), "prefix {k}");
            }
        }
        Ok(None) => assert!(data.len() < MAX_HEADER_LEN),
        Err(_) => {
            // A prefix either asks for more or gives the same verdict.
            for k in 0..data.len().min(MAX_HEADER_LEN) {
                let prefix = FrameHeader::parse(&data[..k]);
                assert!(
                    prefix == Ok(None) || prefix == whole,
                    "prefix {k}: {prefix:?}"
                );
            }
        }
    }
});
