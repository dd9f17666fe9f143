//! `poll_event_ref`: events lent instead of handed over. What it lends
//! straight from the receive buffer, how it fails on invalid UTF-8 while a
//! borrow of that buffer is held, and how lending mixes with the other
//! calls (owned polling, reading, closing, the end of stream, timers).

mod common;

use std::time::{Duration, Instant};

use weft_proto::{
    CloseCode, CloseReason, Config, Connection, Event, EventRef, ProtocolError, State,
};

use common::{client_frame, server_frame};

/// The close code of a close frame as a server sends it (unmasked), if
/// `wire` ends with one.
fn last_close_code(wire: &[u8]) -> Option<u16> {
    let mut rest = wire;
    let mut code = None;
    while rest.len() >= 2 {
        let len = usize::from(rest[1] & 0x7F);
        assert!(len < 126, "only short frames are expected here");
        if rest[0] == 0x88 && len >= 2 {
            code = Some(u16::from_be_bytes([rest[2], rest[3]]));
        }
        rest = &rest[2 + len..];
    }
    code
}

#[test]
fn whole_messages_are_lent_from_the_receive_buffer() {
    let now = Instant::now();
    let mut server = Connection::server(Config::default(), now);
    // Short, 16-bit length, and large enough to be unmasked as it is
    // copied in (4 KiB and more).
    let large = "é".repeat(3000);
    let mut wire = client_frame(0x81, b"hello");
    wire.extend(client_frame(0x82, &[7; 300]));
    wire.extend(client_frame(0x81, large.as_bytes()));
    server.handle_data(now, &wire);

    assert_eq!(server.poll_event_ref(), Some(EventRef::Text("hello")));
    // What was lent no longer counts as received and unparsed.
    let first = client_frame(0x81, b"hello").len();
    assert_eq!(server.buffered_received(), wire.len() - first);
    assert_eq!(server.poll_event_ref(), Some(EventRef::Binary(&[7; 300])));
    assert_eq!(server.poll_event_ref(), Some(EventRef::Text(&large)));
    assert_eq!(server.poll_event_ref(), None);
    assert_eq!(server.buffered_received(), 0);
}

#[test]
fn owned_and_lent_polling_mix() {
    let now = Instant::now();
    let mut server = Connection::server(Config::default(), now);
    let mut wire = client_frame(0x81, b"one");
    wire.extend(client_frame(0x89, b"ping"));
    wire.extend(client_frame(0x82, b"two"));
    // A fragmented message: lent from the event the connection holds.
    wire.extend(client_frame(0x01, b"thr"));
    wire.extend(client_frame(0x80, b"ee"));
    server.handle_data(now, &wire);

    assert_eq!(server.poll_event_ref(), Some(EventRef::Text("one")));
    assert_eq!(
        server.poll_event(),
        Some(Event::Ping(weft_proto::bytes::Bytes::from_static(b"ping")))
    );
    assert_eq!(server.poll_event_ref(), Some(EventRef::Binary(b"two")));
    assert_eq!(
        server.poll_event_ref().map(|event| event.to_event()),
        Some(Event::Text("three".into()))
    );
    assert_eq!(server.poll_event(), None);
}

#[test]
fn a_lent_frame_arriving_in_pieces_is_read_on() {
    let now = Instant::now();
    let mut server = Connection::server(Config::default(), now);
    let mut wire = client_frame(0x82, b"first");
    let second = client_frame(0x82, &[1; 200]);
    wire.extend(&second[..50]);
    server.handle_data(now, &wire);
    // Polled once, not until `None`: the lent frame is still in the buffer
    // when the rest of the next one arrives.
    assert_eq!(server.poll_event_ref(), Some(EventRef::Binary(b"first")));
    server.handle_data(now, &second[50..]);
    assert_eq!(server.poll_event_ref(), Some(EventRef::Binary(&[1; 200])));
    assert_eq!(server.poll_event_ref(), None);
}

/// Invalid UTF-8 in a text frame that would be lent: the connection fails
/// with 1007 as it does when polled owned, after a ping whose pong is owed.
fn check_invalid_text_fails(text: &[u8]) {
    let now = Instant::now();
    let mut lent = Connection::server(Config::default(), now);
    let mut owned = Connection::server(Config::default(), now);
    let mut wire = client_frame(0x89, b"are you there");
    wire.extend(client_frame(0x81, text));
    wire.extend(client_frame(0x82, b"never seen"));
    lent.handle_data(now, &wire);
    owned.handle_data(now, &wire);

    assert!(matches!(
        lent.poll_event_ref(),
        Some(EventRef::Ping(b"are you there"))
    ));
    let reason = CloseReason::Protocol(ProtocolError::InvalidUtf8);
    assert_eq!(lent.poll_event_ref(), Some(EventRef::Closed(&reason)));
    assert_eq!(lent.state(), State::Closed);
    assert!(lent.is_terminated());
    assert_eq!(lent.buffered_received(), 0);
    assert_eq!(lent.poll_event_ref(), None);
    assert_eq!(lent.poll_event(), None);

    let owned_events = common::events(&mut owned);
    assert_eq!(owned_events.last(), Some(&Event::Closed(reason)));
    // The pong, then the close with 1007: the same bytes either way.
    let sent = common::sent(&mut lent);
    assert_eq!(sent, common::sent(&mut owned));
    assert_eq!(&sent[..2], &[0x8A, 13]);
    assert_eq!(last_close_code(&sent), Some(1007));
    assert!(lent.poll_shutdown());
    assert!(lent.send_text("late").is_err());
}

#[test]
fn invalid_utf8_fails_a_lent_short_text() {
    check_invalid_text_fails(b"ok \xff");
}

#[test]
fn invalid_utf8_fails_a_lent_long_text() {
    // 64 bytes and more are checked by simdutf8.
    let mut text = b"x".repeat(100);
    text.extend_from_slice(b"\xed\xa0\x80");
    check_invalid_text_fails(&text);
}

#[test]
fn invalid_utf8_fails_a_lent_text_unmasked_as_copied() {
    // 4 KiB and more: a server unmasks it as it copies it in.
    let mut text = "é".repeat(2500).into_bytes();
    text.push(0xC3);
    check_invalid_text_fails(&text);
}

#[test]
fn a_lent_event_then_close_eof_and_timers() {
    let now = Instant::now();
    let later = now + Duration::from_secs(60);

    // Closing after a lent message.
    let mut server = Connection::server(Config::default(), now);
    server.handle_data(now, &client_frame(0x81, b"bye"));
    assert_eq!(server.poll_event_ref(), Some(EventRef::Text("bye")));
    server.close(now, CloseCode::NORMAL, "done").unwrap();
    assert_eq!(server.state(), State::CloseSent);
    assert_eq!(last_close_code(&common::sent(&mut server)), Some(1000));

    // The end of stream after a lent message.
    let mut server = Connection::server(Config::default(), now);
    server.handle_data(now, &client_frame(0x82, b"last"));
    assert_eq!(server.poll_event_ref(), Some(EventRef::Binary(b"last")));
    server.handle_eof(now);
    assert_eq!(
        server.poll_event_ref(),
        Some(EventRef::Closed(&CloseReason::Abnormal))
    );
    assert_eq!(server.poll_event_ref(), None);
    assert_eq!(server.buffered_received(), 0);

    // An idle timeout after a lent message.
    let config = Config::default().idle_timeout(Some(Duration::from_secs(30)));
    let mut client = Connection::client(config, || [1, 2, 3, 4], now);
    client.handle_data(now, &server_frame(0x82, b"quiet now"));
    assert_eq!(
        client.poll_event_ref(),
        Some(EventRef::Binary(b"quiet now"))
    );
    client.handle_timeout(later);
    let event = client.poll_event_ref().map(|event| event.to_event());
    assert!(matches!(event, Some(Event::Closed(_))), "{event:?}");
    assert!(client.is_terminated());
    assert_eq!(client.buffered_received(), 0);
}
