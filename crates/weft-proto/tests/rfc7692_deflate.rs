//! RFC 7692: permessage-deflate negotiation with exact header strings,
//! compressed messages with RSV1, context takeover, and bounded inflating.

#![cfg(feature = "deflate")]

mod common;

use std::time::Instant;

use common::*;
use proptest::prelude::*;
use weft_proto::deflate::{DeflateConfig, DeflateParams};
use weft_proto::frame::{apply_mask_naive, FrameHeader};
use weft_proto::handshake::HandshakeError;
use weft_proto::{CloseReason, Config, Connection, Event, MessageKind, ProtocolError};

fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
    }
}

/// The server's answer to `offers` with `config`.
fn answer(config: DeflateConfig, offers: &[&str]) -> Option<(DeflateParams, String)> {
    config.negotiate(offers.iter().copied())
}

#[test]
fn server_accepts_a_plain_offer_with_a_plain_response() {
    assert_eq!(
        answer(DeflateConfig::default(), &["permessage-deflate"]),
        Some((params(false, false, 15, 15), "permessage-deflate".into()))
    );
}

#[test]
fn server_honours_each_parameter_of_an_offer() {
    let cases: &[(&str, DeflateParams, &str)] = &[
        (
            "permessage-deflate; server_no_context_takeover",
            params(true, false, 15, 15),
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            params(false, true, 15, 15),
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            "permessage-deflate; server_max_window_bits=10",
            params(false, false, 10, 15),
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            "permessage-deflate; server_max_window_bits=\"12\"",
            params(false, false, 12, 15),
            "permessage-deflate; server_max_window_bits=12",
        ),
        (
            "permessage-deflate; client_max_window_bits",
            params(false, false, 15, 15),
            "permessage-deflate",
        ),
        (
            "permessage-deflate; client_max_window_bits=9",
            params(false, false, 15, 9),
            "permessage-deflate",
        ),
        (
            "PERMESSAGE-DEFLATE;SERVER_NO_CONTEXT_TAKEOVER ; Client_No_Context_Takeover",
            params(true, true, 15, 15),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
    ];
    for (offer, agreed, response) in cases {
        assert_eq!(
            answer(DeflateConfig::default(), &[offer]),
            Some((*agreed, (*response).to_owned())),
            "{offer}"
        );
    }
}

#[test]
fn server_asks_for_its_own_limits() {
    let config = DeflateConfig::default()
        .server_no_context_takeover(true)
        .server_max_window_bits(11)
        .client_max_window_bits(10);
    // The client supports client_max_window_bits: the server limits it.
    assert_eq!(
        answer(config.clone(), &["permessage-deflate; client_max_window_bits"]),
        Some((
            params(true, false, 11, 10),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10"
                .into()
        ))
    );
    // It does not: the server must not send client_max_window_bits.
    assert_eq!(
        answer(config, &["permessage-deflate"]),
        Some((
            params(true, false, 11, 15),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11".into()
        ))
    );
}

#[test]
fn server_declines_malformed_offers_and_picks_the_first_it_can_accept() {
    for bad in [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; unknown_parameter",
        "x-webkit-deflate-frame",
    ] {
        assert_eq!(answer(DeflateConfig::default(), &[bad]), None, "{bad}");
    }
    // Autobahn 13.7's offer list: the first acceptable one wins.
    let offers = [
        "x-unknown",
        "permessage-deflate; server_max_window_bits=20",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
        "permessage-deflate",
    ];
    assert_eq!(
        answer(DeflateConfig::default(), &offers),
        Some((
            params(false, true, 15, 9),
            "permessage-deflate; client_no_context_takeover".into()
        ))
    );
}

#[test]
fn client_offers_exactly_its_settings() {
    assert_eq!(
        DeflateConfig::default().offer(),
        "permessage-deflate; client_max_window_bits"
    );
    let config = DeflateConfig::default()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true)
        .server_max_window_bits(10)
        .client_max_window_bits(12);
    assert_eq!(
        config.offer(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
    );
}

#[test]
fn client_accepts_responses_its_offer_allows() {
    let offer = DeflateConfig::default();
    assert_eq!(
        offer.accept_response("permessage-deflate").unwrap(),
        params(false, false, 15, 15)
    );
    assert_eq!(
        offer
            .accept_response(
                "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"
            )
            .unwrap(),
        params(true, false, 15, 9)
    );
    assert_eq!(
        offer
            .accept_response("permessage-deflate; server_max_window_bits=10")
            .unwrap(),
        params(false, false, 10, 15)
    );
}

#[test]
fn client_refuses_responses_its_offer_does_not_allow() {
    let strict = DeflateConfig::default()
        .server_no_context_takeover(true)
        .server_max_window_bits(10)
        .client_max_window_bits(12);
    for bad in [
        // Accepting without the server_no_context_takeover it was asked for.
        "permessage-deflate; server_max_window_bits=10",
        // Without the server_max_window_bits it was asked for.
        "permessage-deflate; server_no_context_takeover",
        // A larger window than offered.
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=13",
        // client_max_window_bits needs a value in a response.
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; mystery",
    ] {
        assert!(strict.accept_response(bad).is_err(), "{bad}");
    }
}

fn with_deflate(config: DeflateConfig) -> Config {
    Config::default().deflate(Some(config))
}

#[test]
fn the_handshakes_negotiate_and_both_ends_agree() {
    let pair = Pair::with(
        with_deflate(DeflateConfig::default().client_no_context_takeover(true)),
        with_deflate(DeflateConfig::default().server_max_window_bits(10)),
    );
    let expected = params(false, true, 10, 15);
    assert_eq!(pair.client.deflate(), Some(&expected));
    assert_eq!(pair.server.deflate(), Some(&expected));
}

#[test]
fn without_deflate_on_both_ends_nothing_is_negotiated() {
    let pair = Pair::with(with_deflate(DeflateConfig::default()), Config::default());
    assert_eq!(pair.client.deflate(), None);
    assert_eq!(pair.server.deflate(), None);
    let pair = Pair::with(Config::default(), with_deflate(DeflateConfig::default()));
    assert_eq!(pair.server.deflate(), None);
}

/// The frames in `wire`, unmasked: (first byte, payload).
fn frames(wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let (h, n) = FrameHeader::parse(rest).unwrap().unwrap();
        let len = h.payload_len as usize;
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask_naive(&mut payload, key, 0);
        }
        out.push((rest[0], payload));
        rest = &rest[n + len..];
    }
    out
}

#[test]
fn messages_go_out_compressed_with_rsv1_and_come_back_whole() {
    let mut pair = Pair::with(
        with_deflate(DeflateConfig::default()),
        with_deflate(DeflateConfig::default()),
    );
    let text = "compress me ".repeat(100);
    pair.client.send_text(text.clone()).unwrap();
    let wire = sent(&mut pair.client);
    let sent_frames = frames(&wire);
    assert_eq!(sent_frames.len(), 1);
    assert_eq!(sent_frames[0].0, 0xC1, "FIN, RSV1, text");
    assert!(sent_frames[0].1.len() < text.len() / 10);
    pair.server.handle_data(pair.now, &wire);
    assert_eq!(
        events(&mut pair.server),
        vec![Event::Text(text.clone().into())]
    );
    // And the other way.
    pair.server.send_binary(text.clone().into_bytes()).unwrap();
    pair.drive();
    let (c, _) = pair.take_events();
    assert_eq!(c, vec![Event::Binary(text.into_bytes().into())]);
}

#[test]
fn short_messages_and_opted_out_ones_go_out_plain() {
    let config = with_deflate(DeflateConfig::default().threshold(100));
    let mut pair = Pair::with(config.clone(), config);
    pair.client.send_text("short").unwrap();
    pair.client
        .send_uncompressed(MessageKind::Binary, vec![7u8; 1000])
        .unwrap();
    pair.client
        .send_fragment(MessageKind::Text, "a".repeat(500), true)
        .unwrap();
    let wire = sent(&mut pair.client);
    let firsts: Vec<u8> = frames(&wire).iter().map(|f| f.0).collect();
    assert_eq!(firsts, vec![0x81, 0x82, 0x81]);
    pair.server.handle_data(pair.now, &wire);
    assert_eq!(events(&mut pair.server).len(), 3);
}

/// The compressed sizes of `count` copies of one message from the client.
fn compressed_sizes(client: DeflateConfig, count: usize) -> Vec<usize> {
    let mut pair = Pair::with(with_deflate(client), with_deflate(DeflateConfig::default()));
    let message = "the same JSON document, again and again, {\"id\": 1}".repeat(20);
    let mut sizes = Vec::new();
    for _ in 0..count {
        pair.client.send_text(message.clone()).unwrap();
        let wire = sent(&mut pair.client);
        sizes.push(frames(&wire)[0].1.len());
        pair.server.handle_data(pair.now, &wire);
        assert_eq!(
            events(&mut pair.server),
            vec![Event::Text(message.clone().into())]
        );
    }
    sizes
}

#[test]
fn context_takeover_carries_the_window_across_many_messages() {
    let sizes = compressed_sizes(DeflateConfig::default(), 200);
    // Each repeat refers back to the previous message: far smaller.
    assert!(sizes[1] * 4 < sizes[0], "{sizes:?}");
    assert!(sizes[1..].iter().all(|&s| s <= sizes[1] + 2), "{sizes:?}");
}

#[test]
fn no_context_takeover_compresses_each_message_alone() {
    let sizes = compressed_sizes(
        DeflateConfig::default().client_no_context_takeover(true),
        200,
    );
    assert!(sizes.iter().all(|&s| s == sizes[0]), "{sizes:?}");
}

#[test]
fn a_compression_bomb_fails_with_1009_and_bounded_memory() {
    // 64 MiB of zeros deflate to about 64 KiB; the limit is 1 MiB.
    let now = Instant::now();
    let config = with_deflate(DeflateConfig::default()).max_message_size(1 << 20);
    let mut server = Connection::server(config, now);
    server.enable_deflate(params(false, false, 15, 15));
    let mut bomb_source =
        Connection::client(with_deflate(DeflateConfig::default().level(9)), || KEY, now);
    bomb_source.enable_deflate(params(false, false, 15, 15));
    bomb_source.send_binary(vec![0u8; 64 << 20]).unwrap();
    let wire = sent(&mut bomb_source);
    assert!(wire.len() < 128 << 10, "{} bytes", wire.len());
    let events = feed(&mut server, now, &wire);
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::MessageTooLarge { max, .. })) if *max == 1 << 20
    ));
    let close = frames(&sent(&mut server));
    assert_eq!(&close.last().unwrap().1[..2], &1009u16.to_be_bytes());
    assert_eq!(server.buffered_received(), 0);
}

#[test]
fn rsv1_is_only_for_the_first_frame_of_a_data_message() {
    let now = Instant::now();
    let deflating = || {
        let mut s = Connection::server(with_deflate(DeflateConfig::default()), now);
        s.enable_deflate(params(false, false, 15, 15));
        s
    };
    // On a continuation.
    let mut s = deflating();
    let mut wire = client_frame(0x01, b"a");
    wire.extend(client_frame(0xC0, b"b"));
    let events = feed(&mut s, now, &wire);
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::ReservedBits(0b100)))
    ));
    // On a control frame.
    let mut s = deflating();
    let events = feed(&mut s, now, &client_frame(0xC9, b"ping"));
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::ReservedBits(0b100)))
    ));
    // RSV2 and RSV3 stay reserved.
    let mut s = deflating();
    let events = feed(&mut s, now, &client_frame(0xA1, b"x"));
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::ReservedBits(0b010)))
    ));
}

#[test]
fn garbage_marked_compressed_fails_with_1007() {
    let now = Instant::now();
    let mut s = Connection::server(with_deflate(DeflateConfig::default()), now);
    s.enable_deflate(params(false, false, 15, 15));
    let events = feed(&mut s, now, &client_frame(0xC2, &[0xFF; 16]));
    assert!(matches!(
        closed_reason(&events),
        Some(CloseReason::Protocol(ProtocolError::InvalidCompressedData))
    ));
}

#[test]
fn an_eight_bit_window_is_accepted_and_messages_go_out_plain() {
    // zlib cannot compress with 8 bits; RFC 7692 allows uncompressed messages.
    let (agreed, response) = answer(
        DeflateConfig::default(),
        &["permessage-deflate; server_max_window_bits=8"],
    )
    .unwrap();
    assert_eq!(response, "permessage-deflate; server_max_window_bits=8");
    let now = Instant::now();
    let mut s = Connection::server(with_deflate(DeflateConfig::default()), now);
    s.enable_deflate(agreed);
    s.send_text("a".repeat(1000)).unwrap();
    assert_eq!(frames(&sent(&mut s))[0].0, 0x81);
}

#[test]
fn compressed_fragments_of_a_large_message_stream_as_they_inflate() {
    let config = with_deflate(DeflateConfig::default()).stream_threshold(Some(10_000));
    let mut pair = Pair::with(with_deflate(DeflateConfig::default()), config);
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
    pair.client.send_binary(data.clone()).unwrap();
    pair.drive();
    let (_, s) = pair.take_events();
    let mut joined = Vec::new();
    for (i, event) in s.iter().enumerate() {
        let Event::Fragment(f) = event else {
            panic!("{event:?}")
        };
        assert_eq!((f.is_first, f.is_last), (i == 0, i == s.len() - 1));
        joined.extend_from_slice(&f.data);
    }
    assert_eq!(joined, data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the settings and the chunking, messages arrive unchanged.
    #[test]
    fn compressed_messages_round_trip(
        messages in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..3000),
                proptest::collection::vec(0u8..4, 0..20_000),
            ],
            1..12,
        ),
        client_nct in any::<bool>(),
        server_nct in any::<bool>(),
        server_bits in 9u8..=15,
        client_bits in 9u8..=15,
        level in 0u32..=9,
        chunk in prop_oneof![Just(usize::MAX), 1usize..5000],
    ) {
        let client = DeflateConfig::default()
            .client_no_context_takeover(client_nct)
            .client_max_window_bits(client_bits)
            .level(level)
            .threshold(0);
        let server = DeflateConfig::default()
            .server_no_context_takeover(server_nct)
            .server_max_window_bits(server_bits)
            .level(level)
            .threshold(0);
        let mut pair = Pair::with(with_deflate(client), with_deflate(server));
        prop_assert!(pair.client.deflate().is_some());
        pair.chunk = chunk;
        for m in &messages {
            pair.client.send_binary(m.clone()).unwrap();
            pair.server.send_binary(m.clone()).unwrap();
        }
        pair.drive();
        let expected: Vec<Event> = messages.iter().map(|m| Event::Binary(m.clone().into())).collect();
        let (c, s) = pair.take_events();
        prop_assert_eq!(c, expected.clone());
        prop_assert_eq!(s, expected);
    }
}

#[test]
fn a_stream_threshold_bounds_memory_for_compressed_messages_too() {
    // One 8 MiB message in a single compressed frame of a few KiB: with a
    // 64 KiB threshold it arrives in pieces of about that size, never whole.
    let threshold = 64 << 10;
    let config = with_deflate(DeflateConfig::default())
        .stream_threshold(Some(threshold))
        .max_message_size(1 << 30);
    let mut pair = Pair::with(with_deflate(DeflateConfig::default()), config);
    let data: Vec<u8> = (0..8u32 << 20).map(|i| (i % 5) as u8).collect();
    pair.client.send_binary(data.clone()).unwrap();
    let wire = sent(&mut pair.client);
    assert!(wire.len() < 256 << 10, "{}", wire.len());
    pair.server.handle_data(pair.now, &wire);
    let mut joined = Vec::new();
    let mut pieces = 0;
    while let Some(event) = pair.server.poll_event() {
        let Event::Fragment(f) = event else {
            panic!("{event:?}")
        };
        assert!(f.data.len() <= 2 * threshold, "{}", f.data.len());
        assert!(pair.server.buffered_received() <= wire.len() + 2 * threshold);
        assert_eq!(f.is_first, pieces == 0);
        pieces += 1;
        joined.extend_from_slice(&f.data);
        if f.is_last {
            break;
        }
    }
    assert!(pieces >= 64, "{pieces}");
    assert_eq!(joined, data);
}

#[test]
fn a_compressed_message_is_held_to_the_limit_by_its_inflated_size() {
    // Level 0 makes incompressible data slightly larger than itself: it
    // still fits a limit equal to its real size.
    let data: Vec<u8> = (0..1000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let sender = with_deflate(DeflateConfig::default().level(0).threshold(0));
    let receiver = with_deflate(DeflateConfig::default()).max_message_size(1000);
    let mut pair = Pair::with(sender, receiver);
    pair.client.send_binary(data.clone()).unwrap();
    pair.drive();
    let (_, s) = pair.take_events();
    assert_eq!(s, vec![Event::Binary(data.into())]);
}

#[test]
fn settings_out_of_range_are_clamped_not_panicked_on() {
    let mut config = DeflateConfig::default();
    config.server_max_window_bits = 16;
    config.client_max_window_bits = 4;
    config.level = 10;
    assert_eq!(
        config.offer(),
        "permessage-deflate; client_max_window_bits=9"
    );
    let (agreed, response) = config.negotiate(["permessage-deflate"]).unwrap();
    assert_eq!(agreed.server_max_window_bits, 15);
    assert_eq!(response, "permessage-deflate");
    let mut pair = Pair::with(with_deflate(config.clone()), with_deflate(config));
    pair.server.send_text("x".repeat(1000)).unwrap();
    pair.client.send_text("y".repeat(1000)).unwrap();
    pair.drive();
    let (c, s) = pair.take_events();
    assert_eq!((c.len(), s.len()), (1, 1));
}

#[test]
fn a_final_block_does_not_spoil_the_next_message() {
    // RFC 7692 7.2.3.3: a message may end its stream with BFINAL; the
    // restored tail after it is not data, and the next message inflates.
    let now = Instant::now();
    let mut s = Connection::server(with_deflate(DeflateConfig::default()), now);
    s.enable_deflate(params(false, false, 15, 15));
    // "Hello" as one final fixed-Huffman block, from RFC 7692 7.2.3.3.
    let hello_final = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(
        feed(&mut s, now, &client_frame(0xC1, &hello_final)),
        vec![Event::Text("Hello".into())]
    );
    // The same text compressed the usual way, in the next message.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(
        feed(&mut s, now, &client_frame(0xC1, &hello)),
        vec![Event::Text("Hello".into())]
    );
}

#[test]
fn window_values_are_plain_decimals() {
    for bad in ["+9", "-9", "0x9", "9.0", "1e1"] {
        let offer = format!("permessage-deflate; server_max_window_bits={bad}");
        assert_eq!(
            answer(DeflateConfig::default(), &[offer.as_str()]),
            None,
            "{bad}"
        );
    }
}

#[test]
fn a_permessage_deflate_offer_made_by_hand_is_refused() {
    use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, ServerHandshake};
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/")
        .extension("permessage-deflate; client_max_window_bits=10");
    let mut client = ClientHandshake::new(request, Config::default(), [1; 16], now).unwrap();
    let mut server = ServerHandshake::new(with_deflate(DeflateConfig::default()), now);
    let mut wire = Vec::new();
    client.write_request(&mut wire);
    server.handle_data(&wire).unwrap().unwrap();
    let mut response = Vec::new();
    server.accept(Accept::new(), &mut response).unwrap();
    assert!(matches!(
        client.handle_data(&response),
        Err(HandshakeError::InvalidExtension(_))
    ));
}

/// Parameters given to `enable_deflate` by hand may hold window sizes no
/// handshake would agree to; the codec is built within zlib's 9-15 and a
/// message still crosses (a receive window above 15 once panicked in zlib).
#[test]
fn window_bits_given_by_hand_out_of_range_do_not_panic() {
    let now = Instant::now();
    for (sbits, cbits) in [(16, 16), (255, 0), (0, 255), (8, 8)] {
        let agreed = params(false, false, sbits, cbits);
        let mut server = Connection::server(with_deflate(DeflateConfig::default()), now);
        server.enable_deflate(agreed);
        let mut client = Connection::client(with_deflate(DeflateConfig::default()), || KEY, now);
        client.enable_deflate(agreed);
        let text = "windows ".repeat(500);
        client.send_text(text.as_str()).unwrap();
        server.send_text(text.as_str()).unwrap();
        let to_server = sent(&mut client);
        let to_client = sent(&mut server);
        assert_eq!(
            feed(&mut server, now, &to_server),
            vec![Event::Text(text.as_str().into())],
            "{sbits}/{cbits}"
        );
        assert_eq!(
            feed(&mut client, now, &to_client),
            vec![Event::Text(text.as_str().into())],
            "{sbits}/{cbits}"
        );
    }
}
