//! Property tests of the frame codec. RFC 6455 5.2, base framing: every
//! valid header survives `encode` then `parse`, agrees byte for byte with
//! an encoder written independently (`common::raw_frame`), and a prefix of
//! the bytes is either incomplete or gets the whole header's verdict.
//! RFC 6455 5.3, masking: each byte is XORed "with octet at index i modulo
//! 4 of the masking key"; the fast path matches the naive one at every
//! offset, in one piece or two, and undoes itself.

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use weft_proto::frame::{apply_mask, apply_mask_naive, FrameHeader, OpCode, MAX_HEADER_LEN};
use weft_proto::ProtocolError;

use common::properties::config;
use common::raw_frame;

fn opcode() -> impl Strategy<Value = OpCode> {
    select(vec![
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ])
}

/// Any length a data frame may announce, with the encoding boundaries
/// overrepresented.
fn data_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=125,
        126u64..=0xFFFF,
        0x1_0000u64..(1 << 63),
        select(vec![0u64, 125, 126, 127, 0xFFFF, 0x1_0000, (1 << 63) - 1]),
    ]
}

/// A valid header: control frames are final and carry at most 125 bytes.
fn frame_header() -> impl Strategy<Value = FrameHeader> {
    (
        opcode(),
        any::<bool>(),
        0u8..8,
        any::<Option<[u8; 4]>>(),
        data_len(),
        0u64..=125,
    )
        .prop_map(|(opcode, fin, rsv, mask, data_len, control_len)| {
            let control = opcode.is_control();
            FrameHeader {
                fin: fin || control,
                rsv,
                opcode,
                mask,
                payload_len: if control { control_len } else { data_len },
            }
        })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn header_round_trip(header in frame_header(), trailing in vec(any::<u8>(), 0..20)) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        let expected_len = match header.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        } + if header.mask.is_some() { 4 } else { 0 };
        prop_assert_eq!(n, expected_len);
        prop_assert_eq!(header.encoded_len(), n);

        // The bytes agree with the independent encoder where a payload of
        // that length can be built.
        if header.payload_len <= 0x1_0100 {
            let first = u8::from(header.fin) << 7 | header.rsv << 4 | header.opcode.as_u8();
            let payload = vec![0u8; header.payload_len as usize];
            let reference = raw_frame(first, &payload, header.mask);
            prop_assert_eq!(&out[..n], &reference[..n]);
        }

        prop_assert_eq!(FrameHeader::parse(&out[..n]), Ok(Some((header, n))));
        // Bytes after the header (the payload) change nothing.
        let mut extended = out[..n].to_vec();
        extended.extend_from_slice(&trailing);
        prop_assert_eq!(FrameHeader::parse(&extended), Ok(Some((header, n))));
        // Every strict prefix is incomplete, not an error.
        for k in 0..n {
            prop_assert_eq!(FrameHeader::parse(&out[..k]), Ok(None), "prefix of {} bytes", k);
        }
    }
}

/// Bytes that start like a frame header: any first byte, then a second
/// byte often announcing an extended length, then a few more.
fn header_like() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        prop_oneof![
            any::<u8>(),
            select(vec![0x7Eu8, 0x7F, 0xFE, 0xFF, 0x7D, 0xFD])
        ],
        vec(prop_oneof![any::<u8>(), Just(0u8), Just(0xFFu8)], 0..14),
    )
        .prop_map(|(b0, b1, rest)| {
            let mut bytes = vec![b0, b1];
            bytes.extend(rest);
            bytes
        })
}

proptest! {
    #![proptest_config(config(1024))]

    /// More bytes never change a verdict: a prefix of the input parses as
    /// incomplete (`Ok(None)`) or exactly as the whole input does.
    #[test]
    fn header_errors_do_not_depend_on_how_much_arrived(bytes in header_like()) {
        let whole = FrameHeader::parse(&bytes);
        for k in 0..bytes.len() {
            let prefix = FrameHeader::parse(&bytes[..k]);
            prop_assert!(
                prefix == Ok(None) || prefix == whole,
                "{} of {:?} parse as {:?}, all as {:?}", k, bytes, prefix, whole
            );
        }
    }
}

/// Regression for `header_errors_do_not_depend_on_how_much_arrived`: a close
/// frame announcing a 16-bit length was reported as 126 bytes long before
/// the length arrived and as 0 bytes long after. A prefix may only ask for
/// more bytes or give the whole header's verdict.
#[test]
fn control_frame_too_long_reports_one_length() {
    for wire in [[0x88u8, 0x7E, 0x00, 0x00], [0x89, 0x7E, 0x00, 0xC8]] {
        let whole = FrameHeader::parse(&wire);
        assert!(whole.is_err());
        for n in 0..wire.len() {
            let prefix = FrameHeader::parse(&wire[..n]);
            assert!(
                prefix == Ok(None) || prefix == whole,
                "{:?}: prefix {n} gave {prefix:?}, the whole {whole:?}",
                wire
            );
        }
    }
    assert_eq!(
        FrameHeader::parse(&[0x89, 0x7E, 0x00, 0xC8]),
        Err(ProtocolError::ControlFrameTooLong(200))
    );
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn masking(
        data in vec(any::<u8>(), 0..300),
        key in any::<[u8; 4]>(),
        offset in prop_oneof![0usize..64, 0usize..(1 << 40)],
        split in any::<Index>(),
    ) {
        let mut fast = data.clone();
        apply_mask(&mut fast, key, offset);
        let mut naive = data.clone();
        apply_mask_naive(&mut naive, key, offset);
        prop_assert_eq!(&fast, &naive);

        // Masking is its own inverse.
        let mut twice = fast.clone();
        apply_mask(&mut twice, key, offset);
        prop_assert_eq!(&twice, &data);

        // In two pieces, the second continuing at its offset into the payload.
        let k = split.index(data.len() + 1);
        let mut pieces = data.clone();
        let (head, tail) = pieces.split_at_mut(k);
        apply_mask(head, key, offset);
        apply_mask(tail, key, offset + k);
        prop_assert_eq!(&pieces, &fast);
    }

    #[test]
    fn masking_matches_naive_at_any_offset(
        data in vec(any::<u8>(), 0..100),
        key in any::<[u8; 4]>(),
        offset in prop_oneof![any::<usize>(), (usize::MAX - 200)..=usize::MAX],
    ) {
        let mut fast = data.clone();
        apply_mask(&mut fast, key, offset);
        let mut naive = data;
        apply_mask_naive(&mut naive, key, offset);
        prop_assert_eq!(fast, naive);
    }

    #[test]
    fn masking_depends_on_offset_mod_4(
        data in vec(any::<u8>(), 0..100),
        key in any::<[u8; 4]>(),
        offset in any::<usize>(),
    ) {
        let mut fast = data.clone();
        apply_mask(&mut fast, key, offset);
        let mut naive = data;
        apply_mask_naive(&mut naive, key, offset % 4);
        prop_assert_eq!(fast, naive);
    }
}

/// The smallest case of the bug `masking_matches_naive_at_any_offset` finds.
#[test]
fn masking_naive_at_the_largest_offset() {
    let mut fast = [0u8; 2];
    apply_mask(&mut fast, [1, 2, 3, 4], usize::MAX);
    let mut naive = [0u8; 2];
    apply_mask_naive(&mut naive, [1, 2, 3, 4], usize::MAX);
    assert_eq!(fast, naive);
    assert_eq!(fast, [4, 1]);
}
