//! Timers driven by a simulated clock: keepalive pings, the pong deadline,
//! the idle timeout. No sleeping.

mod common;

use common::*;
use weft_proto::frame::{FrameHeader, OpCode};
use weft_proto::{CloseReason, Config, Event, Timeout};

fn keepalive() -> Config {
    Config::default().keepalive(Some(secs(30)), secs(10))
}

#[test]
fn no_timer_runs_by_default() {
    let pair = Pair::new();
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.server.poll_timeout(), None);
}

#[test]
fn keepalive_pings_after_silence_and_the_pong_settles_it() {
    let mut pair = Pair::with(Config::default(), keepalive());
    let start = pair.now;
    assert_eq!(pair.server.poll_timeout(), Some(start + secs(30)));
    pair.advance(secs(29));
    assert!(pair.to_client.is_empty());
    pair.advance(secs(1));
    // The client saw the ping and answered it; the server saw the pong.
    let (c, s) = pair.take_events();
    assert_eq!(c.len(), 1);
    assert!(matches!(c[0], Event::Ping(_)));
    assert_eq!(s.len(), 1);
    assert!(matches!(s[0], Event::Pong(_)));
    // The next ping is due 30 s after the pong arrived.
    assert_eq!(pair.server.poll_timeout(), Some(pair.now + secs(30)));
}

#[test]
fn traffic_postpones_the_keepalive_ping() {
    let mut pair = Pair::with(Config::default(), keepalive());
    let start = pair.now;
    pair.advance(secs(20));
    pair.client.send_text("still here").unwrap();
    pair.drive();
    assert_eq!(pair.server.poll_timeout(), Some(start + secs(50)));
}

#[test]
fn missing_pong_fails_the_connection_with_1011() {
    let mut s = server(keepalive(), std::time::Instant::now());
    let start = s.poll_timeout().unwrap() - secs(30);
    s.handle_timeout(start + secs(30));
    let ping = sent(&mut s);
    let (header, _) = FrameHeader::parse(&ping).unwrap().unwrap();
    assert_eq!(header.opcode, OpCode::Ping);
    assert_eq!(s.poll_timeout(), Some(start + secs(40)));
    // A pong with another payload does not count.
    feed(&mut s, start + secs(35), &client_frame(0x8A, b"unrelated"));
    s.handle_timeout(start + secs(40));
    assert_eq!(
        events(&mut s),
        vec![Event::Closed(CloseReason::TimedOut(Timeout::Pong))]
    );
    let close = sent(&mut s);
    assert_eq!(close[0], 0x88);
    assert_eq!(&close[2..4], &1011u16.to_be_bytes());
    assert!(s.poll_shutdown());
}

#[test]
fn idle_timeout_closes_with_1001() {
    let now = std::time::Instant::now();
    let mut s = server(Config::default().idle_timeout(Some(secs(60))), now);
    assert_eq!(s.poll_timeout(), Some(now + secs(60)));
    feed(&mut s, now + secs(50), &client_frame(0x81, b"hi"));
    assert_eq!(s.poll_timeout(), Some(now + secs(110)));
    s.handle_timeout(now + secs(109));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(now + secs(110));
    assert_eq!(
        events(&mut s),
        vec![Event::Closed(CloseReason::TimedOut(Timeout::Idle))]
    );
    assert_eq!(&sent(&mut s)[2..4], &1001u16.to_be_bytes());
}

#[test]
fn spurious_timeouts_are_harmless() {
    let mut pair = Pair::with(keepalive(), keepalive());
    let now = pair.now;
    for t in [0, 1, 5, 29] {
        pair.client.handle_timeout(now + secs(t));
        pair.server.handle_timeout(now + secs(t));
    }
    pair.drive();
    assert_eq!(pair.take_events(), (vec![], vec![]));
    assert!(pair.to_client.is_empty() && pair.to_server.is_empty());
    // A time in the past changes nothing either.
    pair.server.handle_timeout(now);
    assert_eq!(pair.server.poll_timeout(), Some(now + secs(30)));
}

#[test]
fn keepalive_stops_once_closing() {
    let mut pair = Pair::with(keepalive(), keepalive());
    pair.client
        .close(pair.now, weft_proto::CloseCode::NORMAL, "")
        .unwrap();
    pair.drive();
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.server.poll_timeout(), None);
}

#[test]
fn a_pong_waiting_unparsed_is_not_a_pong_timeout() {
    let start = std::time::Instant::now();
    let mut s = server(keepalive(), start);
    s.handle_timeout(start + secs(30));
    let ping = sent(&mut s);
    let (header, n) = FrameHeader::parse(&ping).unwrap().unwrap();
    let payload = ping[n..n + header.payload_len as usize].to_vec();
    // The pong arrives in time, but the application is slow to poll.
    s.handle_data(start + secs(35), &client_frame(0x8A, &payload));
    // The pong deadline waits for the parsing to catch up.
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(start + secs(45));
    assert_eq!(events(&mut s), vec![Event::Pong(payload.into())]);
    assert_eq!(s.poll_timeout(), Some(start + secs(65)));
}

#[test]
fn timeouts_too_long_to_represent_mean_never() {
    let now = std::time::Instant::now();
    let forever = std::time::Duration::MAX;
    let config = Config::default()
        .keepalive(Some(forever), forever)
        .idle_timeout(Some(forever))
        .handshake_timeout(Some(forever));
    let mut s = server(config.clone(), now);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(now + secs(1_000_000));
    assert!(events(&mut s).is_empty());
    let handshake = weft_proto::handshake::ServerHandshake::new(config, now);
    assert_eq!(handshake.poll_timeout(), None);
}

#[test]
fn keepalive_stops_when_the_peer_has_closed() {
    let now = std::time::Instant::now();
    let mut s = server(keepalive().auto_close(false).close_timeout(secs(60)), now);
    feed(&mut s, now, &client_frame(0x88, &1000u16.to_be_bytes()));
    // Only the close timeout runs now, and no ping goes out.
    assert_eq!(s.poll_timeout(), Some(now + secs(60)));
    s.handle_timeout(now + secs(30));
    assert!(sent(&mut s).is_empty());
}

/// The pong that answers a keepalive ping measures its round trip, as of
/// the instant its bytes were handed in; other pongs measure nothing.
#[test]
fn the_pong_of_a_keepalive_ping_measures_the_round_trip() {
    use std::time::Duration;
    use weft_proto::Latency;
    let ms = Duration::from_millis;
    let start = std::time::Instant::now();
    let mut s = server(keepalive(), start);
    assert_eq!(s.latency(), None);
    let mut rounds = Vec::new();
    let mut at = start;
    for (round, rtt) in [ms(80), ms(40), ms(400)].into_iter().enumerate() {
        at += secs(30);
        s.handle_timeout(at);
        let ping = sent(&mut s);
        let (header, len) = FrameHeader::parse(&ping).unwrap().unwrap();
        assert_eq!(header.opcode, OpCode::Ping, "round {round}");
        // An unsolicited pong first: it settles nothing and measures nothing.
        feed(&mut s, at + rtt / 2, &client_frame(0x8A, b"unsolicited"));
        assert_eq!(s.latency(), rounds.last().copied(), "round {round}");
        feed(&mut s, at + rtt, &client_frame(0x8A, &ping[len..]));
        at += rtt;
        let latency = s.latency().expect("the pong was measured");
        assert_eq!(latency.last, rtt);
        rounds.push(latency);
    }
    // The first round trip starts the average; each later one weighs 1/8.
    assert_eq!(rounds[0].smoothed, ms(80));
    assert_eq!(rounds[1].smoothed, ms(75));
    assert_eq!(rounds[2].smoothed, (ms(75) * 7 + ms(400)) / 8);
    assert_eq!(
        s.latency(),
        Some(Latency {
            last: ms(400),
            smoothed: (ms(75) * 7 + ms(400)) / 8
        })
    );
}
