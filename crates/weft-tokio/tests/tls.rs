//! wss:// over loopback with a certificate generated in the test, and the
//! build without TLS.

mod common;

#[cfg(feature = "tls")]
#[tokio::test]
async fn wss_round_trip_with_a_generated_certificate() {
    use futures_util::{SinkExt, StreamExt};
    use weft_tokio::{connect_with, tls, ClientOptions, CloseCode, Message};

    let cert = weft_test_support::test_cert();
    let (listener, addr) = common::listener().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(
        tls::server_config(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap(),
    );
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        common::echo(weft_tokio::accept(tls).await.unwrap()).await
    });

    let options = ClientOptions::new().tls(tls::client_config_with_roots(cert.roots));
    let url = format!("wss://localhost:{}/secure", addr.port());
    let (mut client, _) = connect_with(&url, options).await.unwrap();
    client.with_io(|io| assert!(io.is_tls()));

    let big = Message::binary(vec![42u8; 300_000]);
    client.send(Message::text("secret")).await.unwrap();
    client.send(big.clone()).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::text("secret")
    );
    assert_eq!(client.next().await.unwrap().unwrap(), big);
    client.send(Message::Close(None)).await.unwrap();
    while let Some(message) = client.next().await {
        message.unwrap();
    }
    assert!(client.close_reason().unwrap().is_clean());
    let server = server.await.unwrap();
    assert_eq!(server.close_reason().unwrap().code(), CloseCode::NORMAL);
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn wss_refuses_an_untrusted_certificate() {
    use weft_tokio::{connect, Error};

    let cert = weft_test_support::test_cert();
    let (listener, addr) = common::listener().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(
        weft_tokio::tls::server_config(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap(),
    );
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(tcp).await;
    });
    // The default roots (webpki-roots) do not know the test certificate.
    let error = connect(&format!("wss://localhost:{}/", addr.port()))
        .await
        .unwrap_err();
    let Error::Tls(e) = error else {
        panic!("expected a TLS error, got {error:?}");
    };
    assert_eq!(e.kind(), weft_tokio::TlsErrorKind::UntrustedCertificate);
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn wss_without_the_tls_feature_is_tls_unavailable() {
    let error = weft_tokio::connect("wss://localhost:1/").await.unwrap_err();
    assert!(
        matches!(error, weft_tokio::Error::TlsUnavailable),
        "{error:?}"
    );
}
