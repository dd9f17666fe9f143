//! Messages built from the input, sent by a client (or a server), arrive
//! unchanged at the other end through arbitrary chunking, with and without
//! permessage-deflate.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::DeflateParams;
use weft_proto::{Config, Connection, Event, MessageKind};

fuzz_target!(|input: &[u8]| {
    let [flags, s0, s1, data @ ..] = input else {
        return;
    };
    let now = common::now();
    let config = Config::default().max_message_size(1 << 20);
    let mut client = Connection::client(config.clone(), || [9, 8, 7, 6], now);
    let mut server = Connection::server(config, now);
    if flags & 1 != 0 {
        let params = DeflateParams {
            server_no_context_takeover: flags & 2 != 0,
            client_no_context_takeover: flags & 4 != 0,
            server_max_window_bits: 9 + (flags >> 3) % 7,
            client_max_window_bits: 9 + (flags >> 5) % 7,
        };
        client.enable_deflate(params);
        server.enable_deflate(params);
    }
    let (sender, receiver) = if flags & 0x80 != 0 {
        (&mut server, &mut client)
    } else {
        (&mut client, &mut server)
    };
    // The input's pieces are the messages: text when they are UTF-8, some
    // of them sent in two fragments.
    let mut expected = Vec::new();
    for (i, piece) in common::chunks(data, &[s0.wrapping_mul(7), *s1])
        .into_iter()
        .enumerate()
    {
        let text = std::str::from_utf8(piece).ok();
        let kind = if text.is_some() {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        if i % 3 == 2 && text.is_none() {
            let (a, b) = piece.split_at(piece.len() / 2);
            sender.send_fragment(kind, a.to_vec(), false).unwrap();
            sender.send_fragment(kind, b.to_vec(), true).unwrap();
        } else if let Some(t) = text {
            sender.send_text(t.to_owned()).unwrap();
        } else {
            sender.send_binary(piece.to_vec()).unwrap();
        }
        expected.push(piece.to_vec());
    }
    let mut wire = Vec::new();
    while let Some(t) = sender.poll_transmit() {
        wire.extend_from_slice(&t.to_vec());
    }
    let mut received = Vec::new();
    for chunk in common::chunks(&wire, &[*s1, *s0]) {
        receiver.handle_data(now, chunk);
        while let Some(event) = receiver.poll_event() {
            match event {
                Event::Text(t) => received.push(t.as_bytes().to_vec()),
                Event::Binary(b) => received.push(b.to_vec()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(received, expected);
});
