//! RFC 6455 4.1, the client checking the server's 101: "If the response
//! lacks an |Upgrade| header field or the |Upgrade| header field contains a
//! value that is not an ASCII case-insensitive match for the value
//! "websocket", the client MUST _Fail the WebSocket Connection_", and the
//! same for |Connection| and "Upgrade", for a |Sec-WebSocket-Accept| that is
//! not the one computed from the key, and for a subprotocol or an
//! extension "that was not present in the client's handshake". The 101 fed
//! whole, in two pieces and a byte at a time; an interim 1xx before it
//! (RFC 9110 15.2); the end of stream before it.

mod common;

use std::time::Instant;

use common::handshake::{
    client_with, good_101_with, plain_client, response, ACCEPT, GOOD_101, KEY,
};
use weft_proto::handshake::{HandshakeError, OutgoingRequest};
use weft_proto::Config;

#[test]
fn client_accepts_correct_101_fed_whole() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let response = handshake
        .handle_data(GOOD_101)
        .unwrap()
        .expect("the response is complete");
    assert_eq!(response.subprotocol(), None);
    assert!(response.extensions().is_empty());
    assert_eq!(
        response.headers().get_str("sec-websocket-accept"),
        Some(ACCEPT)
    );
    assert_eq!(response.headers().len(), 3);
}

#[test]
fn client_accepts_correct_101_in_every_two_way_split() {
    let now = Instant::now();
    let mut expected = None;
    for split in 0..=GOOD_101.len() {
        let mut handshake = plain_client(now);
        let (first, second) = GOOD_101.split_at(split);
        let r1 = handshake.handle_data(first);
        let r2 = handshake.handle_data(second);
        let response = if split < GOOD_101.len() {
            assert_eq!(r1, Ok(None), "split {split}: first part");
            r2.unwrap_or_else(|e| panic!("split {split}: {e}"))
                .unwrap_or_else(|| panic!("split {split}: incomplete"))
        } else {
            assert_eq!(r2, Ok(None), "split {split}: nothing after the response");
            r1.unwrap().expect("complete")
        };
        assert_eq!(
            response.headers().get_str("Sec-WebSocket-Accept"),
            Some(ACCEPT)
        );
        match &expected {
            None => expected = Some(response),
            Some(e) => assert_eq!(&response, e, "split {split}"),
        }
    }
}

#[test]
fn client_accepts_correct_101_fed_one_byte_at_a_time() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let last = GOOD_101.len() - 1;
    for (i, b) in GOOD_101.iter().enumerate() {
        let result = handshake.handle_data(std::slice::from_ref(b));
        if i < last {
            assert_eq!(result, Ok(None), "byte {i}");
        } else {
            let response = result.unwrap().expect("complete on the last byte");
            assert_eq!(response.headers().get_str("upgrade"), Some("websocket"));
        }
    }
    assert!(handshake.into_connection(|| [1, 2, 3, 4], now).is_ok());
}

#[test]
fn client_accepts_upgrade_and_connection_tokens_in_any_case_and_in_lists() {
    let now = Instant::now();
    let variants: [&[&str]; 5] = [
        &["Upgrade: WebSocket", "Connection: keep-alive, Upgrade"],
        &["upgrade: WEBSOCKET", "connection: UPGRADE"],
        &["Upgrade: websocket", "Connection: upgrade,keep-alive"],
        &["Upgrade: h2c, websocket", "Connection: Upgrade"],
        &[
            "Upgrade: websocket",
            "Connection: keep-alive",
            "Connection: Upgrade",
        ],
    ];
    for headers in variants {
        let mut all = headers.to_vec();
        all.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bytes = response("HTTP/1.1 101 Switching Protocols", &all);
        let mut handshake = plain_client(now);
        let result = handshake.handle_data(&bytes);
        assert!(matches!(result, Ok(Some(_))), "{headers:?}: {result:?}");
    }
}

#[test]
fn client_rejects_wrong_accept() {
    let now = Instant::now();
    for accept in [
        // The accept for a different key, x3JJHMbDL1EzLkh9GBhXDw==.
        "HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
        // Right value, wrong case: base64 is case-sensitive.
        "S3PPLMBITXAQ9KYGZZHZRBK+XOO=",
        // The key echoed back.
        KEY,
        "",
    ] {
        let bytes = response(
            "HTTP/1.1 101 Switching Protocols",
            &[
                "Upgrade: websocket",
                "Connection: Upgrade",
                &format!("Sec-WebSocket-Accept: {accept}"),
            ],
        );
        let mut handshake = plain_client(now);
        assert_eq!(
            handshake.handle_data(&bytes),
            Err(HandshakeError::WrongAccept),
            "accept {accept:?}"
        );
    }
}

#[test]
fn client_rejects_missing_accept() {
    let now = Instant::now();
    let bytes = response(
        "HTTP/1.1 101 Switching Protocols",
        &["Upgrade: websocket", "Connection: Upgrade"],
    );
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(&bytes),
        Err(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))
    );
}

#[test]
fn client_rejects_missing_or_wrong_upgrade() {
    let now = Instant::now();
    for upgrade in [None, Some("Upgrade: h2c"), Some("Upgrade: websocket2")] {
        let mut headers = vec![];
        headers.extend(upgrade);
        headers.push("Connection: Upgrade");
        headers.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bytes = response("HTTP/1.1 101 Switching Protocols", &headers);
        let mut handshake = plain_client(now);
        let result = handshake.handle_data(&bytes);
        assert!(
            matches!(
                result,
                Err(HandshakeError::InvalidHeader {
                    name: "Upgrade",
                    ..
                })
            ),
            "{upgrade:?}: {result:?}"
        );
    }
}

#[test]
fn client_rejects_missing_or_wrong_connection() {
    let now = Instant::now();
    for connection in [
        None,
        Some("Connection: keep-alive"),
        Some("Connection: close"),
    ] {
        let mut headers = vec!["Upgrade: websocket"];
        headers.extend(connection);
        headers.push("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bytes = response("HTTP/1.1 101 Switching Protocols", &headers);
        let mut handshake = plain_client(now);
        let result = handshake.handle_data(&bytes);
        assert!(
            matches!(
                result,
                Err(HandshakeError::InvalidHeader {
                    name: "Connection",
                    ..
                })
            ),
            "{connection:?}: {result:?}"
        );
    }
}

#[test]
fn client_returns_offered_subprotocol_chosen_by_server() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut handshake = client_with(request, Config::default(), now);
    let response = handshake
        .handle_data(&good_101_with(&["Sec-WebSocket-Protocol: superchat"]))
        .unwrap()
        .expect("complete");
    assert_eq!(response.subprotocol(), Some("superchat"));
}

#[test]
fn client_rejects_subprotocol_not_offered() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat").subprotocol("chat");
    let mut handshake = client_with(request, Config::default(), now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&["Sec-WebSocket-Protocol: mqtt"])),
        Err(HandshakeError::UnexpectedSubprotocol("mqtt".into()))
    );
}

#[test]
fn client_rejects_subprotocol_when_none_was_offered() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&["Sec-WebSocket-Protocol: chat"])),
        Err(HandshakeError::UnexpectedSubprotocol("chat".into()))
    );
}

#[test]
fn client_rejects_more_than_one_subprotocol_in_response() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut handshake = client_with(request, Config::default(), now);
    let result =
        handshake.handle_data(&good_101_with(&["Sec-WebSocket-Protocol: chat, superchat"]));
    assert!(
        matches!(
            result,
            Err(HandshakeError::InvalidHeader {
                name: "Sec-WebSocket-Protocol",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn client_returns_offered_extension_accepted_by_server() {
    let now = Instant::now();
    // An extension the core does not implement: the application handles it.
    let request = OutgoingRequest::new("example.com", "/chat").extension("x-custom; level=2");
    let mut handshake = client_with(request, Config::default(), now);
    let response = handshake
        .handle_data(&good_101_with(&[
            "Sec-WebSocket-Extensions: x-custom; level=1",
        ]))
        .unwrap()
        .expect("complete");
    assert_eq!(response.extensions(), ["x-custom; level=1"]);
}

#[test]
fn client_rejects_extension_not_offered() {
    let now = Instant::now();
    let request = OutgoingRequest::new("example.com", "/chat").extension("permessage-deflate");
    let mut handshake = client_with(request, Config::default(), now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&[
            "Sec-WebSocket-Extensions: x-webkit-deflate-frame"
        ])),
        Err(HandshakeError::UnexpectedExtension(
            "x-webkit-deflate-frame".into()
        ))
    );
}

#[test]
fn client_rejects_extension_when_none_was_offered() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(
        handshake.handle_data(&good_101_with(&[
            "Sec-WebSocket-Extensions: permessage-deflate"
        ])),
        Err(HandshakeError::UnexpectedExtension(
            "permessage-deflate".into()
        ))
    );
}

/// RFC 6455 4.1: a status other than 101 is handled "per HTTP procedures";
/// RFC 9110 15.2: "A client MUST be able to parse one or more 1xx responses
/// received prior to a final response, even if the client does not expect one."
#[test]
fn client_skips_interim_1xx_response_before_101() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    let mut wire = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    wire.extend_from_slice(GOOD_101);
    let result = handshake.handle_data(&wire);
    assert!(matches!(result, Ok(Some(_))), "{result:?}");
}

#[test]
fn client_eof_before_response_is_connection_closed() {
    let now = Instant::now();
    let mut handshake = plain_client(now);
    assert_eq!(handshake.handle_data(b"HTTP/1.1 101 Switching"), Ok(None));
    assert_eq!(handshake.handle_eof(), HandshakeError::ConnectionClosed);
}
