//! Each way of failing to connect is its own error, classified for a retry
//! and told in words: against real ports, real TLS servers with the wrong
//! certificate, real HTTP refusals.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use tokio::time::timeout;
use weft_test_support::one_shot::{closed_port, full_backlog, respond_once, silent_once};
use weft_tokio::weft_proto::handshake::HandshakeError;
use weft_tokio::weft_proto::Config;
use weft_tokio::{connect, connect_with, ClientOptions, Error};

#[tokio::test]
async fn a_port_nothing_listens_on_is_refused_and_worth_retrying() {
    let addr = closed_port();
    let error = connect(&format!("ws://{addr}/")).await.unwrap_err();
    let Error::Connect {
        addr: tried,
        source,
    } = &error
    else {
        panic!("expected a refused connection, got {error:?}");
    };
    assert_eq!(*tried, addr);
    assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(
        error.to_string(),
        format!("connection refused by {addr} (is the server running?)")
    );
    assert!(error.is_retryable());
    assert!(error
        .source()
        .unwrap()
        .downcast_ref::<io::Error>()
        .is_some());
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_a_resolution_error() {
    // .invalid never resolves (RFC 2606).
    let error = connect("ws://weft-test.invalid/").await.unwrap_err();
    let Error::Resolve { host, .. } = &error else {
        panic!("expected a resolution error, got {error:?}");
    };
    assert_eq!(host, "weft-test.invalid");
    assert!(error
        .to_string()
        .starts_with("could not resolve \"weft-test.invalid\""));
    assert!(error.source().is_some());
}

#[tokio::test]
async fn a_connect_that_gets_no_answer_times_out_after_the_connect_timeout() {
    let port = full_backlog();
    let options = ClientOptions::new().connect_timeout(Some(Duration::from_millis(200)));
    let url = format!("ws://{}/", port.addr);
    let error = timeout(Duration::from_secs(5), connect_with(&url, options))
        .await
        .expect("hung")
        .unwrap_err();
    assert!(
        matches!(error, Error::ConnectTimeout { timeout, .. } if timeout == Duration::from_millis(200)),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_handshake_timeout() {
    let addr = silent_once(Duration::from_secs(5));
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(200)));
    let options = ClientOptions::new().config(config);
    let url = format!("ws://{addr}/");
    let error = timeout(Duration::from_secs(5), connect_with(&url, options))
        .await
        .expect("hung")
        .unwrap_err();
    assert!(
        matches!(error, Error::HandshakeTimeout { timeout: Some(t) } if t == Duration::from_millis(200)),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_503_with_retry_after_is_retryable_and_says_when() {
    let addr = respond_once(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 11\r\n\r\nrestarting\n",
    );
    let error = connect(&format!("ws://{addr}/")).await.unwrap_err();
    let rejection = error.rejection().expect("a refusal");
    assert_eq!(rejection.status, 503);
    assert_eq!(rejection.headers.get_str("retry-after"), Some("7"));
    assert_eq!(&rejection.body[..], b"restarting\n");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        "the server refused the WebSocket handshake with 503 Service Unavailable: restarting (retry after 7s)"
    );
}

#[tokio::test]
async fn a_401_is_final() {
    let addr = respond_once("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    let error = connect(&format!("ws://{addr}/")).await.unwrap_err();
    assert!(
        matches!(&error, Error::Refused(r) if r.status == 401),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn a_wrong_accept_header_is_final() {
    let addr = respond_once(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
    );
    let error = connect(&format!("ws://{addr}/")).await.unwrap_err();
    assert!(
        matches!(error, Error::Handshake(HandshakeError::WrongAccept)),
        "{error:?}"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_bad_url_is_final() {
    let error = connect("ftp://example.com/").await.unwrap_err();
    assert!(matches!(error, Error::Url(_)));
    assert!(!error.is_retryable());
}

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use weft_test_support::cert::expired_cert;
    use weft_test_support::one_shot::tls_once;
    use weft_test_support::test_cert;
    use weft_tokio::{tls, TlsErrorKind};

    #[tokio::test]
    async fn a_certificate_from_another_ca_is_untrusted() {
        let server = test_cert();
        let other_ca = test_cert();
        let addr = tls_once(&server);
        let options = ClientOptions::new().tls(tls::client_config_with_roots(other_ca.roots));
        let error = connect_with(&format!("wss://localhost:{}/", addr.port()), options)
            .await
            .unwrap_err();
        let Error::Tls(e) = &error else {
            panic!("expected a TLS error, got {error:?}");
        };
        assert_eq!(e.kind(), TlsErrorKind::UntrustedCertificate);
        assert_eq!(e.host(), "localhost");
        assert!(e
            .source()
            .unwrap()
            .downcast_ref::<rustls::Error>()
            .is_some());
        assert!(!error.is_retryable());
        assert!(error
            .to_string()
            .contains("not signed by a trusted authority"));
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_is_a_name_mismatch() {
        let cert = test_cert();
        let addr = tls_once(&cert);
        // The certificate names localhost; the client asks for 127.0.0.1.
        let options = ClientOptions::new().tls(tls::client_config_with_roots(cert.roots.clone()));
        let error = connect_with(&format!("wss://{addr}/"), options)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Tls(e) if e.kind() == TlsErrorKind::NameMismatch),
            "{error:?}"
        );
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn an_expired_certificate_is_told_as_expired() {
        let cert = expired_cert();
        let addr = tls_once(&cert);
        let options = ClientOptions::new().tls(tls::client_config_with_roots(cert.roots.clone()));
        let error = connect_with(&format!("wss://localhost:{}/", addr.port()), options)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Tls(e) if e.kind() == TlsErrorKind::Expired),
            "{error:?}"
        );
        assert!(error.to_string().contains("has expired"));
    }

    #[tokio::test]
    async fn wss_to_a_plain_server_is_a_tls_protocol_error() {
        let addr = respond_once("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        let error = connect(&format!("wss://localhost:{}/", addr.port()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Tls(e) if e.kind() == TlsErrorKind::Protocol),
            "{error:?}"
        );
        assert!(error.to_string().contains("does the port serve TLS?"));
    }
}
