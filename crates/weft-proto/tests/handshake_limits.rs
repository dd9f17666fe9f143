//! The opening handshake within bounds. RFC 6455 sets no size for the
//! handshake; the core's rule is that every buffer has a configured limit.
//! A request or response head over `max_handshake_size`, or a request with
//! more than `max_headers` fields, is refused, the server answering 431
//! (RFC 6585 5, "Request Header Fields Too Large"); endless interim 1xx
//! responses count against the head limit; a refusal's body is kept up to
//! 4 KiB.

mod common;

use std::time::Instant;

use common::handshake::{
    base_headers, checked_error_response, client_with, plain_client, request, server_error,
};
use weft_proto::handshake::{HandshakeError, OutgoingRequest, ServerHandshake};
use weft_proto::Config;

#[test]
fn client_rejects_response_head_larger_than_limit() {
    let now = Instant::now();
    let config = Config::default().max_handshake_size(256);
    let mut handshake = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    assert_eq!(
        handshake.handle_data(b"HTTP/1.1 101 Switching Protocols\r\nX-Filler: "),
        Ok(None)
    );
    let mut total = 45;
    loop {
        let result = handshake.handle_data(&[b'a'; 16]);
        total += 16;
        if total < 256 {
            assert_eq!(result, Ok(None), "at {total} bytes");
        } else {
            assert_eq!(result, Err(HandshakeError::TooLarge { limit: 256 }));
            break;
        }
    }
}

#[test]
fn endless_interim_responses_are_bounded_by_the_head_limit() {
    let now = Instant::now();
    let config = Config::default().max_handshake_size(1024);
    let mut client = client_with(OutgoingRequest::new("example.com", "/"), config, now);
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(1000);
    let result = client.handle_data(&interim);
    assert_eq!(result, Err(HandshakeError::TooLarge { limit: 1024 }));
}

#[test]
fn client_rejection_body_is_capped_at_4_kib() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let mut wire = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10000\r\n\r\n".to_vec();
    wire.extend_from_slice(&[b'x'; 4095]);
    // 4095 of the 4096 kept bytes: still waiting.
    assert_eq!(handshake.handle_data(&wire), Ok(None));
    let Err(HandshakeError::Rejected(response)) = handshake.handle_data(b"xyz") else {
        panic!("the kept part of the body is complete");
    };
    assert_eq!(response.status, 403);
    assert_eq!(response.body.len(), 4096);
    assert!(response.body.iter().all(|&b| b == b'x'));
}

#[test]
fn server_accepts_head_of_exactly_max_handshake_size() {
    let now = Instant::now();
    let bytes = request("GET /chat HTTP/1.1", &base_headers());
    let config = Config::default().max_handshake_size(bytes.len());
    let mut handshake = ServerHandshake::new(config, now);
    assert!(matches!(handshake.handle_data(&bytes), Ok(Some(_))));
}

#[test]
fn server_refuses_head_one_byte_over_max_handshake_size_with_431() {
    let now = Instant::now();
    let bytes = request("GET /chat HTTP/1.1", &base_headers());
    let limit = bytes.len() - 1;
    let error = server_error(Config::default().max_handshake_size(limit), now, &bytes);
    assert_eq!(error, HandshakeError::TooLarge { limit });
    let text = checked_error_response(&error, 431);
    assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

#[test]
fn server_detects_oversized_head_that_never_ends() {
    let now = Instant::now();
    // Default limit: 16 KiB. One header line that never ends.
    let limit = 16 << 10;
    let mut handshake = ServerHandshake::new(Config::default(), now);
    let start = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nX-Filler: ";
    assert_eq!(handshake.handle_data(start), Ok(None));
    let mut total = start.len();
    let chunk = [b'a'; 1000];
    loop {
        let result = handshake.handle_data(&chunk);
        total += chunk.len();
        if total < limit {
            assert_eq!(result, Ok(None), "at {total} bytes");
        } else {
            assert_eq!(result, Err(HandshakeError::TooLarge { limit }));
            assert_eq!(result.unwrap_err().status(), Some(431));
            break;
        }
    }
}

#[test]
fn server_detects_oversized_head_of_endless_header_lines() {
    let now = Instant::now();
    let limit = 1024;
    let config = Config::default()
        .max_handshake_size(limit)
        .max_headers(1000);
    let mut handshake = ServerHandshake::new(config, now);
    let start = b"GET /chat HTTP/1.1\r\n";
    assert_eq!(handshake.handle_data(start), Ok(None));
    let mut total = start.len();
    for i in 0.. {
        let line = format!("X-Filler-{i:04}: abcdefghij\r\n");
        let result = handshake.handle_data(line.as_bytes());
        total += line.len();
        if total < limit {
            assert_eq!(result, Ok(None), "at {total} bytes");
        } else {
            assert_eq!(result, Err(HandshakeError::TooLarge { limit }));
            break;
        }
    }
}

#[test]
fn server_accepts_exactly_max_headers() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("X-A", "1"));
    headers.push(("X-B", "2"));
    let config = Config::default().max_headers(headers.len());
    let mut handshake = ServerHandshake::new(config, now);
    let request = handshake
        .handle_data(&request("GET /chat HTTP/1.1", &headers))
        .unwrap()
        .expect("complete");
    assert_eq!(request.headers().len(), 7);
}

#[test]
fn server_refuses_more_than_max_headers_with_431() {
    let now = Instant::now();
    let mut headers = base_headers();
    headers.push(("X-A", "1"));
    headers.push(("X-B", "2"));
    headers.push(("X-C", "3"));
    let error = server_error(
        Config::default().max_headers(7),
        now,
        &request("GET /chat HTTP/1.1", &headers),
    );
    assert_eq!(error, HandshakeError::TooManyHeaders { limit: 7 });
    checked_error_response(&error, 431);
}

#[test]
fn server_refuses_more_than_default_64_headers_with_431() {
    let now = Instant::now();
    let mut headers: Vec<(String, String)> = base_headers()
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    for i in 0..60 {
        headers.push((format!("X-{i}"), "v".to_owned()));
    }
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let error = server_error(
        Config::default(),
        now,
        &request("GET /chat HTTP/1.1", &refs),
    );
    assert_eq!(error, HandshakeError::TooManyHeaders { limit: 64 });
    assert_eq!(error.status(), Some(431));
}
