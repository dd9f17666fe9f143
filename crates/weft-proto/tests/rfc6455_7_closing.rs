//! RFC 6455 5.5.1 and 7: close frames, the closing handshake from either
//! side, the server closing the transport first, and what may follow.

mod common;

use std::time::Instant;

use common::*;
use weft_proto::{
    CloseCode, CloseFrame, CloseReason, Config, Event, ProtocolError, SendError, State, Timeout,
};

fn clean(code: CloseCode, reason: &str) -> Event {
    Event::Closed(CloseReason::Clean(CloseFrame::new(code, reason)))
}

#[test]
fn client_initiated_close_completes_cleanly_on_both_sides() {
    let mut pair = Pair::new();
    pair.client
        .close(pair.now, CloseCode::NORMAL, "bye")
        .unwrap();
    assert_eq!(pair.client.state(), State::CloseSent);
    pair.drive();
    let (c, s) = pair.take_events();
    assert_eq!(
        s,
        vec![
            Event::CloseReceived(CloseFrame::new(CloseCode::NORMAL, "bye")),
            clean(CloseCode::NORMAL, "bye"),
        ]
    );
    // The echo carries the code back.
    assert_eq!(c, vec![clean(CloseCode::NORMAL, "")]);
    assert!(pair.server_shut && pair.client_shut);
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn server_initiated_close_completes_cleanly_on_both_sides() {
    let mut pair = Pair::new();
    pair.server
        .close(pair.now, CloseCode::GOING_AWAY, "restarting")
        .unwrap();
    pair.drive();
    let (c, s) = pair.take_events();
    assert_eq!(
        c,
        vec![
            Event::CloseReceived(CloseFrame::new(CloseCode::GOING_AWAY, "restarting")),
            clean(CloseCode::GOING_AWAY, "restarting"),
        ]
    );
    assert_eq!(s, vec![clean(CloseCode::GOING_AWAY, "")]);
}

#[test]
fn server_closes_the_transport_first() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    feed(&mut s, now, &client_frame(0x88, &close_payload(1000, "")));
    assert!(!sent(&mut s).is_empty());
    assert!(s.poll_shutdown(), "the server shuts down after echoing");

    let mut c = client(Config::default(), now);
    let events = feed(&mut c, now, &server_frame(0x88, &close_payload(1000, "")));
    assert_eq!(
        events,
        vec![Event::CloseReceived(CloseFrame::new(CloseCode::NORMAL, ""))]
    );
    assert_eq!(sent(&mut c), client_frame(0x88, &1000u16.to_be_bytes()));
    // The client waits for the server to close the transport.
    assert!(!c.poll_shutdown());
    assert_eq!(
        c.poll_timeout(),
        Some(now + Config::default().close_timeout)
    );
    c.handle_eof(now);
    assert_eq!(events_of(&mut c), vec![clean(CloseCode::NORMAL, "")]);
    assert!(c.poll_shutdown());
}

fn events_of(conn: &mut weft_proto::Connection) -> Vec<Event> {
    common::events(conn)
}

#[test]
fn client_closes_the_transport_itself_if_the_server_does_not() {
    let now = Instant::now();
    let mut c = client(Config::default(), now);
    feed(&mut c, now, &server_frame(0x88, &close_payload(1000, "")));
    sent(&mut c);
    let deadline = c.poll_timeout().unwrap();
    c.handle_timeout(deadline - secs(1));
    assert!(events_of(&mut c).is_empty());
    c.handle_timeout(deadline);
    assert_eq!(events_of(&mut c), vec![clean(CloseCode::NORMAL, "")]);
    assert!(c.poll_shutdown());
}

#[test]
fn empty_close_is_reported_as_no_status_and_echoed_empty() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let events = feed(&mut s, now, &client_frame(0x88, b""));
    assert_eq!(
        events,
        vec![
            Event::CloseReceived(CloseFrame::new(CloseCode::NO_STATUS, "")),
            clean(CloseCode::NO_STATUS, ""),
        ]
    );
    assert_eq!(sent(&mut s), server_frame(0x88, b""));
}

#[test]
fn one_byte_close_payload_fails_with_1002() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let events = feed(&mut s, now, &client_frame(0x88, &[0x03]));
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::TruncatedCloseCode))
    );
    assert_eq!(&sent(&mut s)[2..4], &1002u16.to_be_bytes());
}

#[test]
fn invalid_close_codes_fail_with_1002() {
    let now = Instant::now();
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let mut s = server(Config::default(), now);
        let events = feed(&mut s, now, &client_frame(0x88, &close_payload(code, "")));
        assert_eq!(
            closed_reason(&events),
            Some(&CloseReason::Protocol(ProtocolError::InvalidCloseCode(
                code
            ))),
            "code {code}"
        );
        assert_eq!(&sent(&mut s)[2..4], &1002u16.to_be_bytes());
    }
}

#[test]
fn valid_close_codes_are_echoed() {
    let now = Instant::now();
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let mut s = server(Config::default(), now);
        let events = feed(&mut s, now, &client_frame(0x88, &close_payload(code, "r")));
        assert_eq!(events.len(), 2, "code {code}: {events:?}");
        assert_eq!(sent(&mut s), server_frame(0x88, &code.to_be_bytes()));
    }
}

#[test]
fn close_reason_that_is_not_utf8_fails_with_1007() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80");
    let events = feed(&mut s, now, &client_frame(0x88, &payload));
    assert_eq!(
        closed_reason(&events),
        Some(&CloseReason::Protocol(ProtocolError::InvalidCloseReason))
    );
    assert_eq!(&sent(&mut s)[2..4], &1007u16.to_be_bytes());
}

#[test]
fn frames_after_a_close_are_discarded() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = client_frame(0x88, &close_payload(1000, ""));
    wire.extend(client_frame(0x81, b"too late"));
    wire.extend(client_frame(0x89, b"too late"));
    let events = feed(&mut s, now, &wire);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[1], Event::Closed(CloseReason::Clean(_))));
    // Only the echo was sent: no pong.
    assert_eq!(sent(&mut s), server_frame(0x88, &1000u16.to_be_bytes()));
    assert!(feed(&mut s, now, &client_frame(0x81, b"later still")).is_empty());
}

#[test]
fn messages_still_arrive_after_we_sent_close_and_the_answer_ends_it() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.close(now, CloseCode::NORMAL, "").unwrap();
    let mut wire = client_frame(0x81, b"in flight");
    wire.extend(client_frame(0x88, &close_payload(1000, "")));
    assert_eq!(
        feed(&mut s, now, &wire),
        vec![
            Event::Text("in flight".into()),
            clean(CloseCode::NORMAL, "")
        ]
    );
    assert_eq!(sent(&mut s), server_frame(0x88, &1000u16.to_be_bytes()));
    assert!(s.poll_shutdown());
}

#[test]
fn nothing_may_be_sent_after_close() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.close(now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.send_text("x"), Err(SendError::Closed));
    assert_eq!(s.send_binary(vec![1u8]), Err(SendError::Closed));
    assert_eq!(s.ping(""), Err(SendError::Closed));
    assert_eq!(s.close(now, CloseCode::NORMAL, ""), Err(SendError::Closed));
    assert_eq!(sent(&mut s), server_frame(0x88, &1000u16.to_be_bytes()));
}

#[test]
fn application_may_not_send_reserved_close_codes_or_long_reasons() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    for code in [999u16, 1004, 1005, 1006, 1015, 2000, 5000] {
        assert_eq!(
            s.close(now, CloseCode(code), ""),
            Err(SendError::InvalidCloseCode(code))
        );
    }
    let long = "x".repeat(124);
    assert_eq!(
        s.close(now, CloseCode::NORMAL, &long),
        Err(SendError::CloseReasonTooLong(124))
    );
    assert_eq!(s.state(), State::Open);
    assert!(sent(&mut s).is_empty());
    s.close(now, CloseCode(4000), &"y".repeat(123)).unwrap();
}

#[test]
fn close_handshake_times_out_if_the_peer_never_answers() {
    let now = Instant::now();
    let mut s = server(Config::default().close_timeout(secs(5)), now);
    s.close(now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(sent(&mut s), server_frame(0x88, &1000u16.to_be_bytes()));
    assert_eq!(s.poll_timeout(), Some(now + secs(5)));
    s.handle_timeout(now + secs(4));
    assert!(events_of(&mut s).is_empty());
    s.handle_timeout(now + secs(5));
    assert_eq!(
        events_of(&mut s),
        vec![Event::Closed(CloseReason::TimedOut(Timeout::Close))]
    );
    assert!(s.poll_shutdown());
}

#[test]
fn transport_ending_without_a_close_is_abnormal() {
    let mut pair = Pair::new();
    pair.client.send_text("partial").unwrap();
    pair.drive();
    // The client's transport vanishes.
    pair.server.handle_eof(pair.now);
    let events = events_of(&mut pair.server);
    let (_, earlier) = pair.take_events();
    assert_eq!(earlier, vec![Event::Text("partial".into())]);
    assert_eq!(events, vec![Event::Closed(CloseReason::Abnormal)]);
    assert_eq!(CloseReason::Abnormal.code(), CloseCode::ABNORMAL);
    assert!(pair.server.poll_shutdown());
}

#[test]
fn eof_mid_message_delivers_what_is_whole_then_ends_abnormally() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = client_frame(0x81, b"whole");
    wire.extend_from_slice(&client_frame(0x82, &[0; 100])[..50]);
    s.handle_data(now, &wire);
    s.handle_eof(now);
    assert_eq!(
        events_of(&mut s),
        vec![
            Event::Text("whole".into()),
            Event::Closed(CloseReason::Abnormal)
        ]
    );
    assert_eq!(s.poll_event(), None);
}

#[test]
fn with_auto_close_off_the_application_answers_the_close() {
    let now = Instant::now();
    let mut s = server(Config::default().auto_close(false), now);
    let events = feed(
        &mut s,
        now,
        &client_frame(0x88, &close_payload(1001, "leaving")),
    );
    assert_eq!(
        events,
        vec![Event::CloseReceived(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "leaving"
        ))]
    );
    assert_eq!(s.state(), State::CloseReceived);
    assert!(sent(&mut s).is_empty());
    // It may finish what it was sending, then close with its own code.
    s.send_text("last words").unwrap();
    s.close(now, CloseCode::NORMAL, "ok").unwrap();
    assert_eq!(
        events_of(&mut s),
        vec![clean(CloseCode::GOING_AWAY, "leaving")]
    );
    let mut expected = server_frame(0x81, b"last words");
    expected.extend(server_frame(0x88, &close_payload(1000, "ok")));
    assert_eq!(sent(&mut s), expected);
    assert!(s.poll_shutdown());
}

#[test]
fn protocol_error_reason_is_sent_in_the_close_frame() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    feed(&mut s, now, &client_frame(0x83, b""));
    let out = sent(&mut s);
    let reason = std::str::from_utf8(&out[4..]).unwrap();
    assert!(reason.contains("reserved opcode"), "{reason}");
    assert!(out.len() <= 2 + 125);
}

#[test]
fn closed_is_the_last_event_and_comes_once() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let events = feed(&mut s, now, &client_frame(0x88, b""));
    assert_eq!(events.len(), 2);
    s.handle_eof(now);
    s.handle_timeout(now + secs(3600));
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_ping_before_the_close_is_answered_before_the_echo() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    let mut wire = client_frame(0x89, b"owed");
    wire.extend(client_frame(0x88, &close_payload(1000, "")));
    let events = feed(&mut s, now, &wire);
    assert_eq!(events.len(), 3, "{events:?}");
    let mut expected = server_frame(0x8A, b"owed");
    expected.extend(server_frame(0x88, &1000u16.to_be_bytes()));
    assert_eq!(sent(&mut s), expected);
}

#[test]
fn nothing_may_be_sent_after_the_connection_ended() {
    let now = Instant::now();
    let mut s = server(Config::default(), now);
    s.handle_eof(now);
    assert_eq!(
        events_of(&mut s),
        vec![Event::Closed(CloseReason::Abnormal)]
    );
    assert!(s.is_terminated());
    assert_eq!(s.send_text("after"), Err(SendError::Closed));
    assert_eq!(s.close(now, CloseCode::NORMAL, ""), Err(SendError::Closed));
    assert!(sent(&mut s).is_empty());
}

#[test]
fn an_unanswered_close_is_echoed_at_the_close_timeout() {
    let now = Instant::now();
    let config = Config::default().auto_close(false).close_timeout(secs(5));
    let mut s = server(config, now);
    feed(&mut s, now, &client_frame(0x88, &close_payload(1001, "")));
    assert_eq!(s.poll_timeout(), Some(now + secs(5)));
    s.handle_timeout(now + secs(5));
    assert_eq!(
        events_of(&mut s),
        vec![Event::Closed(CloseReason::TimedOut(Timeout::Close))]
    );
    assert_eq!(sent(&mut s), server_frame(0x88, &1001u16.to_be_bytes()));
    assert!(s.poll_shutdown());
}

#[test]
fn transport_ending_before_we_answered_the_close_is_abnormal() {
    let now = Instant::now();
    let mut s = server(Config::default().auto_close(false), now);
    let events = feed(&mut s, now, &client_frame(0x88, &close_payload(1000, "")));
    assert_eq!(events.len(), 1);
    s.handle_eof(now);
    assert_eq!(
        events_of(&mut s),
        vec![Event::Closed(CloseReason::Abnormal)]
    );
}

#[test]
fn the_peers_close_waiting_unparsed_is_not_a_close_timeout() {
    let now = Instant::now();
    let mut s = server(Config::default().close_timeout(secs(5)), now);
    s.close(now, CloseCode::NORMAL, "").unwrap();
    sent(&mut s);
    // The answer arrived, but the application has not polled yet.
    s.handle_data(now + secs(1), &client_frame(0x88, &close_payload(1000, "")));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(now + secs(10));
    assert_eq!(events_of(&mut s), vec![clean(CloseCode::NORMAL, "")]);
}

#[test]
fn close_timeout_too_long_to_represent_means_never() {
    let now = Instant::now();
    let mut s = server(
        Config::default().close_timeout(std::time::Duration::MAX),
        now,
    );
    s.close(now, CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(now + secs(1_000_000));
    assert!(events_of(&mut s).is_empty());
}

#[test]
fn poll_shutdown_is_true_once() {
    let mut pair = Pair::new();
    pair.server
        .close(pair.now, CloseCode::NORMAL, "done")
        .unwrap();
    pair.drive();
    assert!(pair.server_shut && pair.client_shut);
    // `drive` took the one `true` of each side; it is not given again.
    assert!(!pair.server.poll_shutdown());
    assert!(!pair.client.poll_shutdown());
    assert!(!pair.server.is_shutdown_due());
}

#[test]
fn poll_shutdown_waits_for_the_last_transmit() {
    let mut pair = Pair::new();
    pair.client.close(pair.now, CloseCode::NORMAL, "").unwrap();
    let wire = pair.client.poll_transmit().unwrap().to_vec();
    pair.server.handle_data(pair.now, &wire);
    while pair.server.poll_event().is_some() {}
    // The server has ended, but its echo is not yet handed out.
    assert!(!pair.server.is_shutdown_due());
    assert!(!pair.server.poll_shutdown());
    assert!(pair.server.poll_transmit().is_some());
    assert!(pair.server.is_shutdown_due());
    assert!(pair.server.poll_shutdown());
    assert!(!pair.server.poll_shutdown());
}

#[test]
fn the_close_reason_is_kept_after_the_closed_event() {
    let mut pair = Pair::new();
    assert_eq!(pair.client.close_reason(), None);
    pair.client
        .close(pair.now, CloseCode::GOING_AWAY, "later")
        .unwrap();
    assert_eq!(pair.client.close_reason(), None);
    pair.drive();
    let (c, s) = pair.take_events();
    assert_eq!(closed_reason(&c), pair.client.close_reason());
    assert_eq!(closed_reason(&s), pair.server.close_reason());
    assert_eq!(
        pair.server.close_reason(),
        Some(&CloseReason::Clean(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "later"
        )))
    );
    // Polling on after the end changes nothing.
    assert_eq!(pair.server.poll_event(), None);
    assert!(pair
        .server
        .close_reason()
        .is_some_and(CloseReason::is_clean));
}

#[test]
fn a_protocol_failure_is_kept_as_the_close_reason() {
    let now = Instant::now();
    let mut server = server(Config::default(), now);
    // A reserved opcode.
    let events = feed(&mut server, now, &client_frame(0x83, b""));
    assert_eq!(closed_reason(&events), server.close_reason());
    assert!(matches!(
        server.close_reason(),
        Some(CloseReason::Protocol(ProtocolError::ReservedOpcode(3)))
    ));
    assert!(server.is_terminated());
}
