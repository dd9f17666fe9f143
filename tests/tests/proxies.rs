//! Both adapters' clients through real proxies: tinyproxy (HTTP
//! `CONNECT`, with and without Basic credentials) and microsocks (SOCKS5,
//! with and without a user name and password), `ws://` and `wss://`, and
//! the ways a proxy says no or says nothing. Each test starts its own
//! proxies on free loopback ports and checks their logs, so that a client
//! that went around the proxy would fail.
//!
//! The proxies are Debian's packages: `tests/proxies/run.sh` installs them
//! and runs these tests, which a plain `cargo test` skips.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use weft_proto::{CloseCode, Config};
use weft_std::{ClientOptions, Error, Message, Proxy, ProxyError};
use weft_test_support::real_proxy::{silent_proxy, RealProxy};
use weft_test_support::{test_cert, TestCert};
use weft_tests::tokio_echo_server;

/// The message each client sends and expects back.
const HELLO: &str = "hello through the proxy";

/// Options going through `proxy`.
fn via(proxy: &str) -> ClientOptions {
    ClientOptions::new().proxy(Proxy::url(proxy).unwrap())
}

/// A weft-std client: connects to `url` with `options`, sends a message,
/// checks its echo and closes cleanly.
fn std_echo(url: &str, options: ClientOptions) {
    let (mut ws, _) = weft_std::connect_with(url, options).unwrap_or_else(|e| panic!("{url}: {e}"));
    ws.send(HELLO).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text(HELLO)));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
}

/// The same with a weft-tokio client.
fn tokio_echo(url: &str, options: ClientOptions) {
    runtime().block_on(async {
        let (mut ws, _) = weft_tokio::connect_with(url, options)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        ws.send(Message::text(HELLO)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(HELLO));
        ws.send(Message::Close(None)).await.unwrap();
        while let Some(message) = ws.next().await {
            message.unwrap();
        }
        assert!(ws.close_reason().unwrap().is_clean());
    });
}

/// The error each adapter's client fails with.
fn std_error(url: &str, options: ClientOptions) -> Error {
    match weft_std::connect_with(url, options) {
        Ok(_) => panic!("{url}: the connection should fail"),
        Err(e) => e,
    }
}

fn tokio_error(url: &str, options: ClientOptions) -> Error {
    match runtime().block_on(weft_tokio::connect_with(url, options)) {
        Ok(_) => panic!("{url}: the connection should fail"),
        Err(e) => e,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A weft-std wss:// echo server for `localhost` with `cert`, one thread
/// per connection.
fn wss_echo_server(cert: &TestCert) -> SocketAddr {
    let config =
        weft_std::tls::server_config(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let tls = rustls::StreamOwned::new(conn, tcp);
                let Ok(mut ws) = weft_std::accept(tls) else {
                    return;
                };
                while let Ok(Some(message)) = ws.read() {
                    if message.is_data() && ws.send(message).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Options trusting `cert` only, through `proxy`.
fn tls_via(proxy: &str, cert: &TestCert) -> ClientOptions {
    via(proxy).tls(weft_std::tls::client_config_with_roots(cert.roots.clone()))
}

/// The proxy error inside an `Error::Proxy`, or a panic saying what came
/// instead.
fn proxy_error(e: &Error) -> &ProxyError {
    e.proxy_error()
        .unwrap_or_else(|| panic!("expected Error::Proxy, got {e:?}: {e}"))
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn http_connect_without_credentials_carries_both_adapters() {
    let tinyproxy = RealProxy::tinyproxy("");
    let echo = tokio_echo_server(Config::default());
    let url = format!("ws://{echo}/");
    std_echo(&url, via(&tinyproxy.url("http", "")));
    tokio_echo(&url, via(&tinyproxy.url("http", "")));
    tinyproxy.expect_in_log(&format!("CONNECT {echo} HTTP/1.1"), 2);
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn http_connect_with_basic_credentials_carries_both_adapters() {
    let tinyproxy = RealProxy::tinyproxy("BasicAuth alice s3cret\n");
    let echo = tokio_echo_server(Config::default());
    let url = format!("ws://{echo}/");
    // The userinfo is percent-decoded ("%65" is "e").
    let proxy = tinyproxy.url("http", "alice:s3cr%65t@");
    std_echo(&url, via(&proxy));
    tokio_echo(&url, via(&proxy));
    tinyproxy.expect_in_log(&format!("CONNECT {echo} HTTP/1.1"), 2);
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn http_connect_refusals_report_status_and_headers() {
    let tinyproxy = RealProxy::tinyproxy("BasicAuth alice s3cret\n");
    let echo = tokio_echo_server(Config::default());
    let url = format!("ws://{echo}/");
    for error in [
        std_error(&url, via(&tinyproxy.url("http", ""))),
        tokio_error(&url, via(&tinyproxy.url("http", ""))),
    ] {
        let e = proxy_error(&error);
        let ProxyError::Refused {
            status,
            reason,
            sent_credentials,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            (*status, reason.as_str()),
            (407, "Proxy Authentication Required")
        );
        assert!(!sent_credentials);
        assert_eq!(
            e.header("proxy-authenticate"),
            Some("Basic realm=\"Tinyproxy\"")
        );
        assert!(!error.is_retryable());
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("proxy http://{}: ", tinyproxy.addr)),
            "{text}"
        );
        assert!(text.contains("put them in the proxy URL"), "{text}");
    }
    // Wrong credentials: tinyproxy 1.11 answers 401 rather than 407.
    let wrong = tinyproxy.url("http", "alice:wrong@");
    for error in [std_error(&url, via(&wrong)), tokio_error(&url, via(&wrong))] {
        let e = proxy_error(&error);
        assert!(
            matches!(
                e,
                ProxyError::Refused {
                    status: 401 | 407,
                    sent_credentials: true,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            error.to_string().contains("did not accept the credentials"),
            "{error}"
        );
        // The password is not in the message.
        assert!(!error.to_string().contains("wrong"), "{error}");
    }

    // A proxy that allows CONNECT to one port only forbids this one.
    let strict = RealProxy::tinyproxy("ConnectPort 1\n");
    for error in [
        std_error(&url, via(&strict.url("http", ""))),
        tokio_error(&url, via(&strict.url("http", ""))),
    ] {
        let e = proxy_error(&error);
        assert!(
            matches!(e, ProxyError::Refused { status: 403, reason, .. } if reason == "Access violation"),
            "{e:?}"
        );
        assert!(e.header("content-type").is_some());
        assert!(!error.is_retryable());
    }
    strict.expect_in_log("Refused CONNECT method on port", 2);
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn socks5_resolves_here_and_carries_both_adapters() {
    let microsocks = RealProxy::microsocks(None);
    let echo = tokio_echo_server(Config::default());
    // socks5:// resolves "localhost" here and sends the address.
    let url = format!("ws://localhost:{}/", echo.port());
    std_echo(&url, via(&microsocks.url("socks5", "")));
    tokio_echo(&url, via(&microsocks.url("socks5", "")));
    let log = microsocks.expect_in_log(&format!("connected to 127.0.0.1:{}", echo.port()), 2);
    assert!(!log.contains("connected to localhost"), "{log}");
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn socks5h_sends_the_name_for_the_proxy_to_resolve() {
    let microsocks = RealProxy::microsocks(None);
    let echo = tokio_echo_server(Config::default());
    let url = format!("ws://localhost:{}/", echo.port());
    std_echo(&url, via(&microsocks.url("socks5h", "")));
    tokio_echo(&url, via(&microsocks.url("socks5h", "")));
    microsocks.expect_in_log(&format!("connected to localhost:{}", echo.port()), 2);
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn socks5_with_a_username_and_password_carries_both_adapters() {
    let microsocks = RealProxy::microsocks(Some(("bob", "pa:ss")));
    let echo = tokio_echo_server(Config::default());
    let url = format!("ws://{echo}/");
    let proxy = microsocks.url("socks5h", "bob:pa%3Ass@");
    std_echo(&url, via(&proxy));
    tokio_echo(&url, via(&proxy));
    microsocks.expect_in_log(&format!("connected to {echo}"), 2);

    // Wrong password: the RFC 1929 status; no credentials: no method.
    let wrong = microsocks.url("socks5h", "bob:nope@");
    for error in [std_error(&url, via(&wrong)), tokio_error(&url, via(&wrong))] {
        assert!(
            matches!(proxy_error(&error), ProxyError::AuthFailed { status } if *status != 0),
            "{error:?}"
        );
        assert!(!error.is_retryable());
    }
    let none = microsocks.url("socks5h", "");
    for error in [std_error(&url, via(&none)), tokio_error(&url, via(&none))] {
        assert!(
            matches!(
                proxy_error(&error),
                ProxyError::NoAcceptableMethod {
                    offered_credentials: false
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("socks5://user:password@"),
            "{error}"
        );
    }
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn a_socks5_refusal_from_the_destination_is_reported_with_its_reply() {
    let microsocks = RealProxy::microsocks(None);
    let closed = weft_test_support::one_shot::closed_port();
    let url = format!("ws://{closed}/");
    for error in [
        std_error(&url, via(&microsocks.url("socks5", ""))),
        tokio_error(&url, via(&microsocks.url("socks5", ""))),
    ] {
        assert!(
            matches!(proxy_error(&error), ProxyError::SocksReply { code: 5 }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("connection refused (reply 5)"),
            "{error}"
        );
        assert!(error.is_retryable());
    }
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn wss_runs_tls_to_the_server_through_each_kind_of_tunnel() {
    let cert = test_cert();
    let echo = wss_echo_server(&cert);
    // The certificate is for "localhost": TLS checks the destination's
    // name, not the proxy's.
    let url = format!("wss://localhost:{}/", echo.port());
    let tinyproxy = RealProxy::tinyproxy("BasicAuth alice s3cret\n");
    let microsocks = RealProxy::microsocks(Some(("bob", "pw")));
    for proxy in [
        tinyproxy.url("http", "alice:s3cret@"),
        microsocks.url("socks5h", "bob:pw@"),
        microsocks.url("socks5", "bob:pw@"),
    ] {
        std_echo(&url, tls_via(&proxy, &cert));
        tokio_echo(&url, tls_via(&proxy, &cert));
    }
    tinyproxy.expect_in_log(&format!("CONNECT localhost:{} HTTP/1.1", echo.port()), 2);
    microsocks.expect_in_log(&format!("connected to localhost:{}", echo.port()), 2);
    microsocks.expect_in_log(&format!("connected to 127.0.0.1:{}", echo.port()), 2);

    // A certificate the client does not trust fails as TLS, through the
    // tunnel, not as the proxy.
    let other = test_cert();
    let proxy = tinyproxy.url("http", "alice:s3cret@");
    for error in [
        std_error(&url, tls_via(&proxy, &other)),
        tokio_error(&url, tls_via(&proxy, &other)),
    ] {
        assert!(matches!(error, Error::Tls(_)), "{error:?}");
    }
    // Both went through the proxy: two more CONNECTs.
    tinyproxy.expect_in_log(&format!("CONNECT localhost:{} HTTP/1.1", echo.port()), 4);
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn a_proxy_that_never_answers_fails_with_the_handshake_timeout() {
    let silent = silent_proxy();
    let timeout = Duration::from_millis(500);
    let config = Config::default().handshake_timeout(Some(timeout));
    for proxy in [format!("http://{silent}"), format!("socks5h://{silent}")] {
        let options = || via(&proxy).config(config.clone());
        let start = Instant::now();
        let http2 = runtime()
            .block_on(weft_tokio::http2::connect_with(
                "ws://example.com/",
                options(),
            ))
            .map(|_| ())
            .expect_err("the proxy never answers");
        let errors = [
            std_error("ws://example.com/", options()),
            tokio_error("ws://example.com/", options()),
            http2,
        ];
        assert!(
            start.elapsed() < Duration::from_secs(6),
            "{:?}",
            start.elapsed()
        );
        for error in errors {
            assert!(
                matches!(proxy_error(&error), ProxyError::TimedOut { timeout: Some(t) } if *t == timeout),
                "{error:?}"
            );
            assert!(error.is_retryable());
            assert!(
                error
                    .to_string()
                    .contains("did not open the tunnel within 500ms"),
                "{error}"
            );
        }
    }
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn a_proxy_that_is_not_running_is_named_in_the_error() {
    let closed = weft_test_support::one_shot::closed_port();
    let proxy = format!("http://{closed}");
    for error in [
        std_error("ws://example.com/", via(&proxy)),
        tokio_error("ws://example.com/", via(&proxy)),
    ] {
        assert!(
            matches!(proxy_error(&error), ProxyError::Connect { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "proxy http://{closed}: connection refused by {closed} (is the proxy running?)"
            )
        );
        assert!(error.is_retryable());
    }
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn an_http_proxy_url_for_a_socks_proxy_fails_as_the_proxy_s() {
    // microsocks answers "CONNECT" with a SOCKS5 refusal, which the
    // HTTP handshake names. (The other mistake, SOCKS5 to tinyproxy, meets
    // a proxy waiting for a request line: the handshake timeout; the 'H'
    // of an HTTP answer is named in weft-io's unit tests.)
    let microsocks = RealProxy::microsocks(None);
    let http_to_socks = format!("http://{}", microsocks.addr);
    let url = "ws://example.com/";
    for error in [
        std_error(url, via(&http_to_socks)),
        tokio_error(url, via(&http_to_socks)),
    ] {
        assert!(
            matches!(proxy_error(&error), ProxyError::Protocol(_)),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("it looks like SOCKS: use socks5://"),
            "{error}"
        );
        assert!(!error.is_retryable());
    }
}

/// An HTTP/2-only server (hyper's HTTP/2 builder, extended CONNECT on)
/// answering WebSockets with an echo. It sends its SETTINGS as soon as it
/// accepts, so through a proxy they can arrive with the proxy's answer.
fn h2_only_echo_server(rt: &tokio::runtime::Runtime) -> SocketAddr {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    async fn handle(
        mut request: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
        let accepted = weft_tokio::hyper::upgrade(&mut request, Config::default(), |_| {
            Ok(weft_tokio::Accept::new())
        });
        let (response, upgrading) = match accepted {
            Ok(accepted) => accepted,
            Err(refusal) => return Ok(refusal),
        };
        tokio::spawn(async move {
            let mut ws = upgrading.await.unwrap();
            while let Some(Ok(message)) = ws.next().await {
                if message.is_data() && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
        Ok(response)
    }
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                builder.enable_connect_protocol();
                let _ = builder
                    .serve_connection(TokioIo::new(tcp), service_fn(handle))
                    .await;
            });
        }
    });
    addr
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn http2_websockets_go_through_both_kinds_of_proxy() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = h2_only_echo_server(&rt);
    let tinyproxy = RealProxy::tinyproxy("");
    let microsocks = RealProxy::microsocks(None);
    let url = format!("ws://{server}/");
    for proxy in [tinyproxy.url("http", ""), microsocks.url("socks5h", "")] {
        rt.block_on(async {
            let (mut ws, _) = weft_tokio::http2::connect_with(&url, via(&proxy))
                .await
                .unwrap_or_else(|e| panic!("{proxy}: {e}"));
            assert!(ws.with_io(|io| io.is_http2()), "{proxy}");
            ws.send(Message::text(HELLO)).await.unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(HELLO));
            ws.close().await.unwrap();
            assert!(ws.next().await.is_none());
        });
    }
    tinyproxy.expect_in_log(&format!("CONNECT {server} HTTP/1.1"), 1);
    microsocks.expect_in_log(&format!("connected to {server}"), 1);
}
