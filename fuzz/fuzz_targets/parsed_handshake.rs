//! The handshakes whose HTTP is someone else's (hyper, HTTP/2): a request
//! given as parsed parts (HTTP/1.1 upgrade or RFC 8441 extended CONNECT),
//! the server's answer, and a client's extended CONNECT given an
//! arbitrary response, with the `http` crate conversions.
//!
//! Input: a selector byte, then lines: the method, `:protocol`,
//! `:authority`, the target, then `name: value` header lines, a blank
//! line, then the response's headers for the client's side.
//!
//! Invariants: no panic; a refused request has a status and converts to a
//! response with it; an answer is 101 for HTTP/1.1 and 200 for HTTP/2,
//! has no line break in a header, and makes a connection; the client's
//! side accepts only a 2xx, and then makes a connection.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::DeflateConfig;
use weft_proto::handshake::{
    Accept, Answer, ExtendedConnect, HandshakeError, Headers, IncomingRequest, OriginPolicy,
    OutgoingRequest,
};
use weft_proto::Config;

fn headers(lines: &mut std::str::Split<'_, char>) -> Headers {
    let mut headers = Headers::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.push(name.trim(), value.trim());
    }
    headers
}

fuzz_target!(|input: &[u8]| {
    let [selector, rest @ ..] = input else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut lines = text.split('\n');
    let method = lines.next().unwrap_or("");
    let protocol = lines.next().unwrap_or("");
    let authority = lines.next().unwrap_or("");
    let target = lines.next().unwrap_or("").to_owned();
    let request_headers = headers(&mut lines);
    let response_headers = headers(&mut lines);
    let now = std::time::Instant::now();
    let config = Config::default().deflate(Some(DeflateConfig::default()));

    let h2 = selector & 1 == 1;
    let request = if h2 {
        let protocol = (selector & 2 == 2).then_some(protocol);
        IncomingRequest::extended_connect(method, protocol, authority, target, request_headers)
    } else {
        IncomingRequest::http11(method, target, request_headers)
    };
    match request {
        Err(e) => {
            let status = e.status().expect("a refused request has a status");
            let response = e.to_http().expect("and a response");
            assert_eq!(response.status().as_u16(), status);
        }
        Ok(request) => {
            let _ = request.to_http();
            let _ = OriginPolicy::SameHost.check(&request);
            let listed = OriginPolicy::allow(request.subprotocols().iter().cloned());
            if let (Err(reject), Some(_)) = (listed.check(&request), request.origin()) {
                assert_eq!(reject.status(), 403);
            }
            let mut accept = Accept::new().compression(selector & 4 == 4);
            if let Some(first) = request.subprotocols().first() {
                if selector & 8 == 8 {
                    accept = accept.subprotocol(first.clone());
                }
            }
            match Answer::new(&request, accept, config.clone()) {
                Ok(answer) => {
                    assert_eq!(answer.status(), if h2 { 200 } else { 101 });
                    for (name, value) in answer.headers() {
                        assert!(!name.contains(['\r', '\n']) && !value.contains(['\r', '\n']));
                    }
                    let _ = answer.to_http();
                    let mut connection = answer.into_connection(now);
                    while connection.poll_event().is_some() {}
                }
                Err(HandshakeError::InvalidInput(_)) => {}
                Err(e) => panic!("an answer fails only on the application's input: {e:?}"),
            }
        }
    }

    // The client's side, with the response's status from the selector.
    let status = [200u16, 204, 101, 301, 401, 500][usize::from(selector >> 4) % 6];
    let outgoing = OutgoingRequest::new("example.com", "/chat").subprotocol("chat");
    let mut client = ExtendedConnect::new(outgoing, config, now).expect("a valid request");
    let _ = client.to_http("https");
    match client.handle_response(status, response_headers, Bytes::from(rest.to_vec())) {
        Ok(_) => {
            assert!((200..300).contains(&status));
            let mut connection = client
                .into_connection(|| [1, 2, 3, 4], now)
                .expect("accepted");
            while connection.poll_event().is_some() {}
        }
        Err(HandshakeError::Rejected(rejection)) => {
            assert!(!(200..300).contains(&status));
            assert!(rejection.body.len() <= 4096);
            let _ = rejection.to_http();
        }
        Err(_) => assert!((200..300).contains(&status)),
    }
});
