//! RFC 6455 5.2 (base framing) and 5.1/5.3 (masking): exact wire bytes,
//! strict decoding, and limits checked before payloads are buffered.

mod common;

use std::time::Instant;

use common::*;
use weft_proto::frame::{apply_mask, apply_mask_naive, FrameHeader, OpCode};
use weft_proto::{CloseCode, CloseReason, Config, Event, ProtocolError};

/// The close code in the close frame a connection sent last.
fn sent_close_code(bytes: &[u8]) -> u16 {
    let (header, n) = FrameHeader::parse(bytes).unwrap().unwrap();
    assert_eq!(
        header.opcode,
        OpCode::Close,
        "first frame sent is not a close"
    );
    let mut payload = bytes[n..n + header.payload_len as usize].to_vec();
    if let Some(key) = header.mask {
        apply_mask_naive(&mut payload, key, 0);
    }
    u16::from_be_bytes([payload[0], payload[1]])
}

/// Feeds `wire` to a fresh server and returns the protocol error it failed
/// with and the close code it sent.
fn server_failure(config: Config, wire: &[u8]) -> (ProtocolError, u16) {
    let now = Instant::now();
    let mut conn = server(config, now);
    let events = feed(&mut conn, now, wire);
    let Some(CloseReason::Protocol(e)) = closed_reason(&events) else {
        panic!("expected a protocol failure, got {events:?}");
    };
    let e = e.clone();
    let code = sent_close_code(&sent(&mut conn));
    assert_eq!(code, e.close_code().0);
    assert!(
        conn.poll_shutdown(),
        "a failed connection asks to close the transport"
    );
    (e, code)
}

#[test]
fn rfc_5_7_examples_decode() {
    let now = Instant::now();
    // A single-frame unmasked text message, as a client receives it.
    let mut c = client(Config::default(), now);
    assert_eq!(
        feed(&mut c, now, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
        vec![Event::Text("Hello".into())]
    );
    // A single-frame masked text message, as a server receives it.
    let mut s = server(Config::default(), now);
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(feed(&mut s, now, &wire), vec![Event::Text("Hello".into())]);
    // A fragmented unmasked text message.
    let mut c = client(Config::default(), now);
    let wire = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    assert_eq!(feed(&mut c, now, &wire), vec![Event::Text("Hello".into())]);
    // An unmasked ping.
    let mut c = client(Config::default(), now);
    assert_eq!(
        feed(&mut c, now, &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
        vec![Event::Ping("Hello".into())]
    );
}

#[test]
fn rfc_5_7_examples_encode() {
    let now = Instant::now();
    // A server sends unmasked frames.
    let mut s = server(Config::default(), now);
    s.send_text("Hello").unwrap();
    assert_eq!(sent(&mut s), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    // A client masks with the key its source gives (KEY is the RFC's key).
    let mut c = client(Config::default(), now);
    c.send_text("Hello").unwrap();
    assert_eq!(
        sent(&mut c),
        [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    );
}

#[test]
fn lengths_use_7_16_and_64_bit_encodings() {
    let now = Instant::now();
    for len in [0usize, 125, 126, 65535, 65536, 200_000] {
        let payload = vec![0xA5u8; len];
        let mut s = server(Config::default(), now);
        s.send_binary(payload.clone()).unwrap();
        assert_eq!(sent(&mut s), server_frame(0x82, &payload), "len {len}");
        let mut c = client(Config::default(), now);
        c.send_binary(payload.clone()).unwrap();
        assert_eq!(sent(&mut c), client_frame(0x82, &payload), "len {len}");
        // And they decode.
        let mut s = server(Config::default(), now);
        assert_eq!(
            feed(&mut s, now, &client_frame(0x82, &payload)),
            vec![Event::Binary(payload.into())]
        );
    }
}

#[test]
fn non_minimal_16_bit_length_fails_with_1002() {
    // 5 bytes announced with the 16-bit form.
    let wire = [0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 0];
    let (e, code) = server_failure(Config::default(), &wire);
    assert_eq!(e, ProtocolError::NonMinimalLength);
    assert_eq!(code, 1002);
}

#[test]
fn non_minimal_64_bit_length_fails_with_1002() {
    let mut wire = vec![0x82, 0xFF];
    wire.extend_from_slice(&1000u64.to_be_bytes());
    wire.extend_from_slice(&KEY);
    let (e, _) = server_failure(Config::default(), &wire);
    assert_eq!(e, ProtocolError::NonMinimalLength);
}

#[test]
fn length_with_top_bit_set_fails_with_1002() {
    let mut wire = vec![0x82, 0xFF];
    wire.extend_from_slice(&(1u64 << 63 | 10).to_be_bytes());
    wire.extend_from_slice(&KEY);
    let (e, code) = server_failure(Config::default(), &wire);
    assert_eq!(e, ProtocolError::LengthOverflow);
    assert_eq!(code, 1002);
}

#[test]
fn reserved_opcodes_fail_with_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let (e, code) = server_failure(Config::default(), &client_frame(0x80 | op, b""));
        assert_eq!(e, ProtocolError::ReservedOpcode(op));
        assert_eq!(code, 1002);
    }
}

#[test]
fn rsv_bits_without_extension_fail_with_1002() {
    for (bit, rsv) in [
        (0x40u8, 0b100u8),
        (0x20, 0b010),
        (0x10, 0b001),
        (0x70, 0b111),
    ] {
        let (e, code) = server_failure(Config::default(), &client_frame(0x81 | bit, b"x"));
        assert_eq!(e, ProtocolError::ReservedBits(rsv));
        assert_eq!(code, 1002);
    }
}

#[test]
fn control_frame_over_125_bytes_fails_with_1002() {
    let (e, code) = server_failure(Config::default(), &client_frame(0x89, &[0; 126]));
    assert_eq!(e, ProtocolError::ControlFrameTooLong(126));
    assert_eq!(code, 1002);
}

#[test]
fn fragmented_control_frame_fails_with_1002() {
    let (e, _) = server_failure(Config::default(), &client_frame(0x09, b"ping"));
    assert_eq!(e, ProtocolError::FragmentedControlFrame);
}

#[test]
fn header_errors_are_detected_from_the_first_bytes() {
    // A reserved opcode fails on the first two bytes: no waiting for a
    // payload that may never come.
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let events = feed(&mut s, now, &[0x83, 0x80]);
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::ReservedOpcode(3)))
    ));
}

#[test]
fn frame_over_limit_fails_with_1009_before_payload_arrives() {
    let now = Instant::now();
    let mut s = server(Config::default().max_frame_size(1000), now);
    // Only the header of a 1001-byte frame.
    let header = &client_frame(0x82, &[0; 1001])[..8];
    let events = feed(&mut s, now, header);
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::FrameTooLarge {
            len: 1001,
            max: 1000
        }))
    );
    assert_eq!(sent_close_code(&sent(&mut s)), 1009);
    // Bytes that keep coming are not buffered.
    s.handle_data(now, &[0; 4096]);
    assert_eq!(s.buffered_received(), 0);
}

#[test]
fn frame_at_limit_is_accepted() {
    let now = Instant::now();
    let mut s = server(Config::default().max_frame_size(1000), now);
    let events = feed(&mut s, now, &client_frame(0x82, &[9; 1000]));
    assert_eq!(events, vec![Event::Binary(vec![9; 1000].into())]);
}

#[test]
fn huge_length_claim_fails_with_1009_without_allocating() {
    let mut wire = vec![0x82, 0xFF];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    wire.extend_from_slice(&KEY);
    let (e, code) = server_failure(Config::default(), &wire);
    assert!(matches!(e, ProtocolError::FrameTooLarge { len, .. } if len == 1 << 62));
    assert_eq!(code, 1009);
}

#[test]
fn message_over_limit_fails_with_1009_at_the_frame_that_crosses_it() {
    let now = Instant::now();
    let mut s = server(Config::default().max_message_size(100), now);
    let mut events = feed(&mut s, now, &client_frame(0x02, &[1; 60]));
    assert!(events.is_empty());
    // The header of the second fragment already crosses the limit.
    events = feed(&mut s, now, &client_frame(0x80, &[1; 41])[..6]);
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::MessageTooLarge {
            len: 101,
            max: 100
        }))
    );
    assert_eq!(sent_close_code(&sent(&mut s)), 1009);
}

#[test]
fn server_rejects_unmasked_frames_with_1002() {
    let (e, code) = server_failure(Config::default(), &server_frame(0x81, b"hi"));
    assert_eq!(e, ProtocolError::UnmaskedFrame);
    assert_eq!(code, 1002);
}

#[test]
fn client_rejects_masked_frames_with_1002() {
    let now = Instant::now();
    let mut c = client(Config::default(), now);
    let events = feed(&mut c, now, &client_frame(0x81, b"hi"));
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::MaskedFrame))
    );
    // The client's own close frame is masked.
    let out = sent(&mut c);
    let (header, _) = FrameHeader::parse(&out).unwrap().unwrap();
    assert!(header.mask.is_some());
    assert_eq!(sent_close_code(&out), 1002);
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let now = Instant::now();
    let mut n = 0u8;
    let mut c = weft_proto::Connection::client(
        Config::default(),
        move || {
            n += 1;
            [n, n, n, n]
        },
        now,
    );
    c.send_text("a").unwrap();
    c.send_binary(vec![1u8]).unwrap();
    c.ping("p").unwrap();
    let mut expected = raw_frame(0x81, b"a", Some([1; 4]));
    expected.extend(raw_frame(0x82, &[1], Some([2; 4])));
    expected.extend(raw_frame(0x89, b"p", Some([3; 4])));
    assert_eq!(sent(&mut c), expected);
}

#[test]
fn server_sends_large_payloads_without_copying() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let payload = bytes::Bytes::from(vec![7u8; 100_000]);
    s.send_binary(payload.clone()).unwrap();
    let transmit = s.poll_transmit().unwrap();
    // The payload chunk is the application's own allocation.
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = bytes::Buf::chunks_vectored(&transmit, &mut slices);
    assert!(slices[..n]
        .iter()
        .any(|s| s.as_ptr() == payload.as_ptr() && s.len() == payload.len()));
}

#[test]
fn payloads_are_split_from_the_input_without_copying_each_frame() {
    // Many frames in one read come out in order, each its own message.
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = Vec::new();
    for i in 0..1000u32 {
        wire.extend(client_frame(0x82, &i.to_be_bytes()));
    }
    let events = feed(&mut s, now, &wire);
    assert_eq!(events.len(), 1000);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            event,
            &Event::Binary((i as u32).to_be_bytes().to_vec().into())
        );
    }
}

#[test]
fn fast_mask_matches_naive_at_every_alignment_and_offset() {
    let key = [0x12, 0x34, 0x56, 0x78];
    let data: Vec<u8> = (0..200u32).map(|i| (i * 31 % 251) as u8).collect();
    for start in 0..40 {
        for len in [0, 1, 3, 4, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 100, 150] {
            for offset in 0..8 {
                let end = (start + len).min(data.len());
                let mut fast = data.clone();
                let mut naive = data.clone();
                apply_mask(&mut fast[start..end], key, offset);
                apply_mask_naive(&mut naive[start..end], key, offset);
                assert_eq!(fast, naive, "start {start} len {len} offset {offset}");
            }
        }
    }
}

#[test]
fn masked_payload_arriving_in_pieces_is_unmasked_correctly() {
    let now = Instant::now();
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let wire = client_frame(0x82, &payload);
    for piece in [1, 2, 3, 5, 7, 64, 333] {
        let mut s = server(Config::default(), now);
        let mut events = Vec::new();
        for chunk in wire.chunks(piece) {
            events.extend(feed(&mut s, now, chunk));
        }
        assert_eq!(
            events,
            vec![Event::Binary(payload.clone().into())],
            "piece {piece}"
        );
    }
}

#[test]
fn close_code_constants_have_their_rfc_values() {
    assert_eq!(CloseCode::NORMAL.0, 1000);
    assert_eq!(CloseCode::PROTOCOL_ERROR.0, 1002);
    assert_eq!(CloseCode::INVALID_PAYLOAD.0, 1007);
    assert_eq!(CloseCode::MESSAGE_TOO_BIG.0, 1009);
    assert_eq!(CloseCode::INTERNAL_ERROR.0, 1011);
    assert_eq!(CloseCode::from(1002), CloseCode::PROTOCOL_ERROR);
    assert_eq!(
        CloseCode::MESSAGE_TOO_BIG.to_string(),
        "1009 message too big: the endpoint received a message too big to process"
    );
}
