//! A client and a server talking through memory, printing every frame that
//! crosses between them: the handshake, messages, a ping, and the closing
//! handshake. No sockets: the "wire" is two byte vectors.
//!
//! Run it with `cargo run -p weft-proto --example in_memory`.

use std::time::Instant;

use weft_proto::frame::{apply_mask, FrameHeader, OpCode};
use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, ServerHandshake};
use weft_proto::{CloseCode, Config, Connection, Event};

/// Prints each frame in `wire` (a whole number of frames) as it would be seen
/// on the network.
fn print_frames(from: &str, wire: &[u8]) {
    let mut rest = wire;
    while !rest.is_empty() {
        let Ok(Some((header, n))) = FrameHeader::parse(rest) else {
            println!("{from}: {} unparsable bytes", rest.len());
            return;
        };
        let len = header.payload_len as usize;
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        let shown = match (header.opcode, std::str::from_utf8(&payload)) {
            (OpCode::Close, _) if payload.len() >= 2 => format!(
                "code {} reason {:?}",
                u16::from_be_bytes([payload[0], payload[1]]),
                String::from_utf8_lossy(&payload[2..])
            ),
            (_, Ok(text)) if text.len() <= 40 => format!("{text:?}"),
            _ => format!("{} bytes", payload.len()),
        };
        println!(
            "{from}: {:<12} fin={} masked={} len={len:<5} {shown}",
            header.opcode.to_string(),
            u8::from(header.fin),
            u8::from(header.mask.is_some()),
        );
        rest = &rest[n + len..];
    }
}

/// Moves everything one side has queued to the other, printing it.
fn deliver(from: &str, sender: &mut Connection, receiver: &mut Connection, now: Instant) {
    while let Some(transmit) = sender.poll_transmit() {
        let bytes = transmit.to_vec();
        print_frames(from, &bytes);
        receiver.handle_data(now, &bytes);
    }
}

fn main() {
    let now = Instant::now();

    // The opening handshake.
    let request = OutgoingRequest::new("example.com", "/chat").subprotocol("chat.v1");
    let mut client_hs =
        ClientHandshake::new(request, Config::default(), [42; 16], now).expect("a valid request");
    let mut server_hs = ServerHandshake::new(Config::default(), now);
    let mut wire = Vec::new();
    client_hs.write_request(&mut wire);
    print!("client → server\n{}", String::from_utf8_lossy(&wire));
    let request = server_hs
        .handle_data(&wire)
        .expect("a valid request")
        .expect("a complete request");
    let mut wire = Vec::new();
    server_hs
        .accept(Accept::new().subprotocol("chat.v1"), &mut wire)
        .expect("an offered subprotocol");
    print!("server → client\n{}", String::from_utf8_lossy(&wire));
    let response = client_hs
        .handle_data(&wire)
        .expect("a valid response")
        .expect("a complete response");
    println!(
        "handshake done: path {}, subprotocol {:?}\n",
        request.path(),
        response.subprotocol()
    );

    let mut key = 0x1234_5678u32;
    let mask_keys = move || {
        // A fixed sequence for the demonstration; real clients draw keys
        // from a cryptographically secure generator.
        key = key.rotate_left(7) ^ 0x9e37_79b9;
        key.to_be_bytes()
    };
    let mut client = client_hs
        .into_connection(mask_keys, now)
        .expect("handshake done");
    let mut server = server_hs.into_connection(now).expect("handshake done");

    // Messages, a fragmented one, a ping; the server echoes messages.
    client.send_text("Hello, Weft").unwrap();
    client.send_binary(vec![0u8; 3000]).unwrap();
    client.ping("are you there?").unwrap();
    client
        .send_fragment(weft_proto::MessageKind::Text, "in ", false)
        .unwrap();
    client
        .send_fragment(weft_proto::MessageKind::Text, "pieces", true)
        .unwrap();
    client.close(now, CloseCode::NORMAL, "done").unwrap();

    let mut ended = 0;
    while ended < 2 {
        deliver("client → server", &mut client, &mut server, now);
        while let Some(event) = server.poll_event() {
            match &event {
                Event::Binary(data) => println!("  server event: Binary({} bytes)", data.len()),
                _ => println!("  server event: {event:?}"),
            }
            match event {
                Event::Text(text) => server.send_text(text).unwrap(),
                Event::Binary(data) => server.send_binary(data).unwrap(),
                Event::Closed(_) => ended += 1,
                _ => {}
            }
        }
        deliver("server → client", &mut server, &mut client, now);
        if server.poll_shutdown() {
            println!("server closes the TCP connection");
            client.handle_eof(now);
        }
        while let Some(event) = client.poll_event() {
            match &event {
                Event::Binary(data) => println!("  client event: Binary({} bytes)", data.len()),
                _ => println!("  client event: {event:?}"),
            }
            if matches!(event, Event::Closed(_)) {
                ended += 1;
            }
        }
    }
}
