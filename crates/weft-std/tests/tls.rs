//! wss:// over loopback with a certificate generated in the test: a round
//! trip, an untrusted certificate, and the handshake timeout bounding a TLS
//! handshake that never gets an answer.

#![cfg(feature = "tls")]

mod common;

use std::time::Duration;

use common::{serve_one, tls_echo_server, within};
use weft_proto::{CloseCode, Config};
use weft_std::{connect, connect_with, tls, ClientOptions, Error, Message};
use weft_test_support::test_cert;

#[test]
fn wss_round_trip_with_a_generated_certificate() {
    let cert = test_cert();
    let (addr, server) = tls_echo_server(&cert);
    let options = ClientOptions::new().tls(tls::client_config_with_roots(cert.roots.clone()));
    let url = format!("wss://localhost:{}/secure", addr.port());
    let (mut ws, _) = connect_with(&url, options).unwrap();
    let big = vec![7u8; 1 << 20];
    ws.send("over tls").unwrap();
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text("over tls")));
    assert_eq!(ws.read().unwrap(), Some(Message::binary(big)));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
    assert!(server.join().unwrap().unwrap().is_clean());
}

#[test]
fn wss_with_an_untrusted_certificate_fails_the_handshake() {
    let cert = test_cert();
    let (addr, _server) = tls_echo_server(&cert);
    // The default roots do not trust a self-signed certificate.
    let url = format!("wss://localhost:{}/", addr.port());
    let Err(Error::Tls(e)) = connect(&url) else {
        panic!("expected a TLS error");
    };
    assert_eq!(e.kind(), weft_std::TlsErrorKind::UntrustedCertificate);
}

#[test]
fn the_handshake_timeout_bounds_a_tls_handshake_that_never_answers() {
    // A TCP server that accepts and says nothing.
    let (addr, _server) = serve_one(|tcp| {
        std::thread::sleep(Duration::from_secs(5));
        drop(tcp);
    });
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(300)));
    let options = ClientOptions::new().config(config);
    let url = format!("wss://localhost:{}/", addr.port());
    let result = within(Duration::from_secs(3), move || {
        connect_with(&url, options).map(|_| ())
    });
    assert!(
        matches!(
            result,
            Err(Error::HandshakeTimeout { timeout: Some(t) }) if t == Duration::from_millis(300)
        ),
        "{result:?}"
    );
}
