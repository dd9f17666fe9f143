//! RFC 6455 4.1: "If the status code received from the server is not 101,
//! the client handles the response per HTTP [RFC2616] procedures." A
//! refusal reaches the application as `HandshakeError::Rejected` with its
//! status, headers and body once the body is complete (by Content-Length,
//! at the end of stream, or at the handshake timeout), and what it keeps
//! does not depend on how the reads fell.

mod common;

use std::time::Instant;

use common::handshake::{plain_client, REDIRECT};
use weft_proto::handshake::HandshakeError;

#[test]
fn client_reports_redirect_with_status_location_and_body() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let Err(HandshakeError::Rejected(response)) = handshake.handle_data(REDIRECT) else {
        panic!("a 302 must be a rejection");
    };
    assert_eq!(response.status, 302);
    assert_eq!(response.reason, "Found");
    assert_eq!(
        response.headers.get_str("location"),
        Some("https://example.com/elsewhere")
    );
    assert_eq!(&response.body[..], b"moved");
}

#[test]
fn client_redirect_error_comes_only_when_body_is_complete() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let head_len = REDIRECT.len() - 5;
    assert_eq!(handshake.handle_data(&REDIRECT[..head_len]), Ok(None));
    assert_eq!(handshake.handle_data(b"mov"), Ok(None));
    // The rejection is still awaited, so the timer still runs.
    assert!(handshake.poll_timeout().is_some());
    // Bytes past Content-Length are not part of the body.
    let Err(HandshakeError::Rejected(response)) = handshake.handle_data(b"edEXTRA") else {
        panic!("the body is complete");
    };
    assert_eq!(response.status, 302);
    assert_eq!(
        response.headers.get_str("Location"),
        Some("https://example.com/elsewhere")
    );
    assert_eq!(&response.body[..], b"moved");
}

#[test]
fn client_redirect_fed_one_byte_at_a_time_fails_on_last_body_byte() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let last = REDIRECT.len() - 1;
    for (i, b) in REDIRECT.iter().enumerate() {
        let result = handshake.handle_data(std::slice::from_ref(b));
        if i < last {
            assert_eq!(result, Ok(None), "byte {i}");
        } else {
            let Err(HandshakeError::Rejected(response)) = result else {
                panic!("last byte: {result:?}");
            };
            assert_eq!(response.status, 302);
            assert_eq!(&response.body[..], b"moved");
        }
    }
}

#[test]
fn client_rejection_without_content_length_reports_body_at_eof() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such"),
        Ok(None)
    );
    assert_eq!(handshake.handle_data(b" path"), Ok(None));
    let HandshakeError::Rejected(response) = handshake.handle_eof() else {
        panic!("EOF after a 404 head must report the rejection");
    };
    assert_eq!(response.status, 404);
    assert_eq!(response.reason, "Not Found");
    assert_eq!(response.headers.get_str("content-type"), Some("text/plain"));
    assert_eq!(&response.body[..], b"no such path");
}

#[test]
fn client_rejection_with_empty_body_fails_at_once() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let Err(HandshakeError::Rejected(response)) =
        handshake.handle_data(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
    else {
        panic!("a 401 with an empty body is complete");
    };
    assert_eq!(response.status, 401);
    assert!(response.body.is_empty());
}

#[test]
fn client_rejection_display_mentions_status_and_location() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let error = handshake.handle_data(REDIRECT).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("302"), "{text:?}");
    assert!(text.contains("https://example.com/elsewhere"), "{text:?}");
    assert_eq!(error.status(), None, "a client error is not answered");
}

/// Feeds a response to a fresh client handshake in pieces of `piece` bytes
/// and returns the rejection's status and body, if it was one.
fn rejection_in_pieces(bytes: &[u8], piece: usize) -> Option<(u16, Vec<u8>)> {
    let mut client = plain_client(Instant::now());
    for chunk in bytes.chunks(piece) {
        match client.handle_data(chunk) {
            Err(HandshakeError::Rejected(r)) => return Some((r.status, r.body.to_vec())),
            Err(e) => panic!("{e}"),
            Ok(_) => {}
        }
    }
    None
}

#[test]
fn what_a_rejection_keeps_of_its_body_does_not_depend_on_the_reads() {
    // Found by fuzzing: a 304 kept whatever bytes had arrived with it.
    let not_modified = b"HTTP/1.1 304 Not Modified\r\nLocation: /x\r\n\r\nno";
    let chunked =
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for (bytes, expected) in [
        (&not_modified[..], Some((304, Vec::new()))),
        (
            &chunked[..],
            Some((404, b"5\r\nhello\r\n0\r\n\r\n".to_vec())),
        ),
    ] {
        for piece in 1..=bytes.len() {
            assert_eq!(
                rejection_in_pieces(bytes, piece),
                expected,
                "pieces of {piece}"
            );
        }
    }
}

#[test]
fn a_rejection_whose_body_never_ends_is_reported_at_the_timeout() {
    let now = Instant::now();
    let mut client = plain_client(now);
    let head = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nno!\r\n";
    assert!(client.handle_data(head).unwrap().is_none());
    let deadline = client.poll_timeout().unwrap();
    let Err(HandshakeError::Rejected(r)) = client.handle_timeout(deadline) else {
        panic!("expected the rejection");
    };
    assert_eq!((r.status, &r.body[..]), (403, &b"3\r\nno!\r\n"[..]));
}
