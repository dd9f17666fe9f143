//! The handshake timeout, on both sides. RFC 6455 sets no deadline for the
//! opening handshake; the core's `handshake_timeout` bounds what a silent or
//! slow peer can hold. The deadline is the handshake's start plus the
//! timeout; `poll_timeout` reports it until the head is complete;
//! `handle_timeout` before it is harmless, at or after it fails the
//! handshake, and a server answers 408 (RFC 9110 15.5.9, "Request
//! Timeout").

mod common;

use std::time::{Duration, Instant};

use common::handshake::{
    checked_error_response, client_with, plain_client, FULL_REQUEST, GOOD_101,
};
use weft_proto::handshake::{Accept, HandshakeError, OutgoingRequest, ServerHandshake};
use weft_proto::Config;

#[test]
fn server_poll_timeout_is_creation_plus_handshake_timeout() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
    // Partial data does not move the deadline.
    assert_eq!(handshake.handle_data(&FULL_REQUEST[..40]), Ok(None));
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
}

#[test]
fn server_default_handshake_timeout_is_10_seconds() {
    let now = Instant::now();
    let handshake = ServerHandshake::new(Config::default(), now);
    assert_eq!(
        handshake.poll_timeout(),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn server_handle_timeout_before_deadline_is_ok() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(handshake.handle_timeout(now), Ok(()));
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(5) - Duration::from_nanos(1)),
        Ok(())
    );
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
    // Still reads the request.
    assert!(matches!(handshake.handle_data(FULL_REQUEST), Ok(Some(_))));
}

#[test]
fn server_handle_timeout_at_deadline_times_out_with_408() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(handshake.handle_data(&FULL_REQUEST[..40]), Ok(None));
    let error = handshake
        .handle_timeout(now + Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(error, HandshakeError::TimedOut);
    let text = checked_error_response(&error, 408);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text:?}"
    );
    assert_eq!(handshake.poll_timeout(), None);
}

#[test]
fn server_handle_timeout_after_deadline_times_out() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(60)),
        Err(HandshakeError::TimedOut)
    );
}

#[test]
fn server_poll_timeout_is_none_after_request_completes() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let mut handshake = ServerHandshake::new(config, now);
    handshake.handle_data(FULL_REQUEST).unwrap().unwrap();
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(60)),
        Ok(())
    );
    // The request is still pending and can be accepted.
    let mut out = Vec::new();
    handshake.accept(Accept::new(), &mut out).unwrap();
    assert!(out.starts_with(b"HTTP/1.1 101 "));
}

#[test]
fn server_without_handshake_timeout_never_times_out() {
    let now = Instant::now();
    let mut handshake = ServerHandshake::new(Config::default().handshake_timeout(None), now);
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(86_400)),
        Ok(())
    );
    assert!(matches!(handshake.handle_data(FULL_REQUEST), Ok(Some(_))));
}

#[test]
fn client_poll_timeout_is_creation_plus_handshake_timeout() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(3)));
    assert_eq!(handshake.handle_data(&GOOD_101[..10]), Ok(None));
    assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(3)));
}

#[test]
fn client_default_handshake_timeout_is_10_seconds() {
    let now = Instant::now();
    let handshake = plain_client(now);
    assert_eq!(
        handshake.poll_timeout(),
        Some(now + Duration::from_secs(10))
    );
}

#[test]
fn client_handle_timeout_before_deadline_is_ok() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(3) - Duration::from_nanos(1)),
        Ok(())
    );
    assert!(matches!(handshake.handle_data(GOOD_101), Ok(Some(_))));
}

#[test]
fn client_handle_timeout_at_and_after_deadline_times_out() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut at = client_with(
        OutgoingRequest::new("example.com", "/"),
        config.clone(),
        now,
    );
    let error = at.handle_timeout(now + Duration::from_secs(3)).unwrap_err();
    assert_eq!(error, HandshakeError::TimedOut);
    assert_eq!(error.status(), Some(408));
    assert_eq!(at.poll_timeout(), None);
    assert_eq!(
        at.into_connection(|| [0; 4], now).unwrap_err(),
        HandshakeError::NotReady
    );

    let mut after = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(after.handle_data(&GOOD_101[..10]), Ok(None));
    assert_eq!(
        after.handle_timeout(now + Duration::from_secs(30)),
        Err(HandshakeError::TimedOut)
    );
}

#[test]
fn client_poll_timeout_is_none_after_response_completes() {
    let now = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    handshake.handle_data(GOOD_101).unwrap().unwrap();
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(30)),
        Ok(())
    );
    assert!(handshake.into_connection(|| [0; 4], now).is_ok());
}

#[test]
fn client_without_handshake_timeout_never_times_out() {
    let now = Instant::now();
    let mut handshake = client_with(
        OutgoingRequest::new("example.com", "/"),
        Config::default().handshake_timeout(None),
        now,
    );
    assert_eq!(handshake.poll_timeout(), None);
    assert_eq!(
        handshake.handle_timeout(now + Duration::from_secs(86_400)),
        Ok(())
    );
}
