//! WebSockets over HTTP/2 (RFC 8441) end to end on loopback: Weft's client
//! (`weft_tokio::http2`) against Weft's server side in hyper's HTTP/2
//! server (`weft_tokio::hyper`), over h2c and over TLS with ALPN; twenty
//! WebSockets on one connection; the fallback to HTTP/1.1; a refusal;
//! closing one WebSocket while the connection carries on; and axum's own
//! RFC 8441 server as an independent peer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use weft_tokio::http2::{connect_with, H2Connection};
use weft_tokio::hyper::{is_upgrade_request, upgrade};
use weft_tokio::{tls, Accept, ClientOptions, CloseCode, Error, Message, Reject};

/// How the test server runs.
#[derive(Clone, Copy)]
struct Setup {
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL on its HTTP/2 side.
    extended_connect: bool,
    /// TLS with these ALPN protocols.
    tls: Option<&'static [&'static [u8]]>,
    /// The flow-control window its HTTP/2 side grants each stream.
    stream_window: Option<u32>,
}

struct Server {
    addr: SocketAddr,
    /// TCP connections accepted.
    connections: Arc<AtomicUsize>,
    /// How each WebSocket the server served ended, and over which HTTP version.
    ended: mpsc::UnboundedReceiver<(hyper::Version, Option<CloseCode>)>,
    roots: Option<rustls::RootCertStore>,
}

async fn echo_service(
    mut request: Request<Incoming>,
    ended: mpsc::UnboundedSender<(hyper::Version, Option<CloseCode>)>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !is_upgrade_request(&request) {
        return Ok(Response::new(Full::from("page")));
    }
    let version = request.version();
    let decided = upgrade(&mut request, weft_tokio::default_config(), |incoming| {
        if incoming.path() == "/secret" {
            return Err(Reject::new(401).body("who are you?"));
        }
        Ok(match incoming.subprotocols().iter().any(|p| p == "echo") {
            true => Accept::new().subprotocol("echo"),
            false => Accept::new(),
        })
    });
    let (response, upgrading) = match decided {
        Ok(accepted) => accepted,
        Err(refusal) => return Ok(refusal),
    };
    tokio::spawn(async move {
        let mut ws = upgrading.await.expect("the stream is handed over");
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Text(_) | Message::Binary(_))
                && ws.send(message).await.is_err()
            {
                break;
            }
        }
        let code = ws.close_reason().map(|r| r.code());
        let _ = ended.send((version, code));
    });
    Ok(response)
}

async fn serve(setup: Setup) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let (tx, ended) = mpsc::unbounded_channel();
    let (acceptor, roots) = match setup.tls {
        Some(alpn) => {
            let cert = weft_test_support::test_cert();
            let config =
                tls::server_config(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
            let mut config = (*config).clone();
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            (
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
                Some(cert.roots),
            )
        }
        None => (None, None),
    };
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        run_http(tls, setup, tx).await
                    }
                    None => run_http(tcp, setup, tx).await,
                }
            });
        }
    });
    Server {
        addr,
        connections,
        ended,
        roots,
    }
}

async fn run_http<S>(
    io: S,
    setup: Setup,
    tx: mpsc::UnboundedSender<(hyper::Version, Option<CloseCode>)>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if setup.extended_connect {
        builder.http2().enable_connect_protocol();
    }
    if let Some(window) = setup.stream_window {
        builder.http2().initial_stream_window_size(window);
    }
    let service = service_fn(move |request| echo_service(request, tx.clone()));
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .await;
}

const H2C: Setup = Setup {
    extended_connect: true,
    tls: None,
    stream_window: None,
};

fn options_for(server: &Server) -> ClientOptions {
    let options = ClientOptions::new().subprotocol("echo");
    match &server.roots {
        Some(roots) => options.tls(tls::client_config_with_roots(roots.clone())),
        None => options,
    }
}

fn url(server: &Server, path: &str) -> String {
    match server.roots {
        Some(_) => format!("wss://localhost:{}{path}", server.addr.port()),
        None => format!("ws://{}{path}", server.addr),
    }
}

async fn echo_round(
    ws: &mut (impl SinkExt<Message, Error = Error> + StreamExt<Item = Result<Message, Error>> + Unpin),
    message: Message,
) {
    ws.send(message.clone()).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), message);
}

#[tokio::test]
async fn over_h2c_with_prior_knowledge() {
    let mut server = serve(H2C).await;
    let (mut ws, acceptance) = connect_with(&url(&server, "/ws"), options_for(&server))
        .await
        .unwrap();
    assert!(
        ws.with_io(|io| io.is_http2()),
        "the WebSocket runs over HTTP/2"
    );
    assert_eq!(acceptance.subprotocol(), Some("echo"));
    assert!(acceptance
        .extensions()
        .iter()
        .any(|e| e.starts_with("permessage-deflate")));
    echo_round(&mut ws, Message::text("over h2c")).await;
    echo_round(&mut ws, Message::binary(vec![7u8; 3 << 20])).await;
    ws.close().await.unwrap();
    assert!(ws.next().await.is_none());
    assert_eq!(ws.close_reason().map(|r| r.code()), Some(CloseCode::NORMAL));
    assert_eq!(
        server.ended.recv().await,
        Some((hyper::Version::HTTP_2, Some(CloseCode::NORMAL)))
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn over_tls_with_alpn_h2() {
    let mut server = serve(Setup {
        extended_connect: true,
        tls: Some(&[b"h2", b"http/1.1"]),
        stream_window: None,
    })
    .await;
    let (mut ws, _) = connect_with(&url(&server, "/ws"), options_for(&server))
        .await
        .unwrap();
    assert!(ws.with_io(|io| io.is_http2()));
    echo_round(&mut ws, Message::text("over TLS and HTTP/2")).await;
    ws.close().await.unwrap();
    assert!(ws.next().await.is_none());
    let (version, _) = server.ended.recv().await.unwrap();
    assert_eq!(version, hyper::Version::HTTP_2);
}

#[tokio::test]
async fn twenty_websockets_share_one_connection() {
    let server = serve(H2C).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let h2 = H2Connection::handshake(tcp, false).await.unwrap();
    assert!(h2.supports_websockets());
    let options = options_for(&server);
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let (mut ws, _) = h2.open(&url(&server, "/ws"), &options).await.unwrap();
        tasks.push(tokio::spawn(async move {
            // 1 MiB each, different in every WebSocket, all at once.
            let payload: Vec<u8> = (0..1 << 20).map(|j: u32| (j as u8) ^ i).collect();
            ws.send(Message::binary(payload.clone())).await.unwrap();
            let echoed = ws.next().await.unwrap().unwrap();
            assert_eq!(echoed, Message::binary(payload), "WebSocket {i}");
            ws.close().await.unwrap();
            assert!(ws.next().await.is_none());
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn closing_one_websocket_ends_its_stream_and_the_connection_goes_on() {
    let mut server = serve(H2C).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let h2 = H2Connection::handshake(tcp, false).await.unwrap();
    let options = options_for(&server);
    let (mut first, _) = h2.open(&url(&server, "/ws"), &options).await.unwrap();
    let (mut second, _) = h2.open(&url(&server, "/ws"), &options).await.unwrap();
    echo_round(&mut first, Message::text("first")).await;
    first.close().await.unwrap();
    assert!(first.next().await.is_none());
    // The server's side of that WebSocket saw the clean close and ended.
    assert_eq!(
        server.ended.recv().await,
        Some((hyper::Version::HTTP_2, Some(CloseCode::NORMAL)))
    );
    drop(first);
    // The other one, and new ones, still work on the same connection.
    echo_round(&mut second, Message::text("second")).await;
    let (mut third, _) = h2.open(&url(&server, "/ws"), &options).await.unwrap();
    echo_round(&mut third, Message::text("third")).await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refusal_arrives_with_its_status_and_body() {
    let server = serve(H2C).await;
    let error = connect_with(&url(&server, "/secret"), options_for(&server))
        .await
        .expect_err("refused");
    let Error::Refused(rejection) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(rejection.status, 401);
    assert_eq!(&rejection.body[..], b"who are you?");
}

#[tokio::test]
async fn without_extended_connect_it_falls_back_to_http11() {
    // h2c without SETTINGS_ENABLE_CONNECT_PROTOCOL: a second connection,
    // HTTP/1.1.
    let mut server = serve(Setup {
        extended_connect: false,
        tls: None,
        stream_window: None,
    })
    .await;
    let (mut ws, _) = connect_with(&url(&server, "/ws"), options_for(&server))
        .await
        .unwrap();
    assert!(!ws.with_io(|io| io.is_http2()));
    echo_round(&mut ws, Message::text("fell back")).await;
    ws.close().await.unwrap();
    assert!(ws.next().await.is_none());
    assert_eq!(
        server.ended.recv().await.unwrap().0,
        hyper::Version::HTTP_11
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_tls_server_choosing_http11_is_used_on_the_same_connection() {
    let server = serve(Setup {
        extended_connect: true,
        tls: Some(&[b"http/1.1"]),
        stream_window: None,
    })
    .await;
    let (mut ws, _) = connect_with(&url(&server, "/ws"), options_for(&server))
        .await
        .unwrap();
    assert!(!ws.with_io(|io| io.is_http2()));
    echo_round(&mut ws, Message::text("HTTP/1.1 over TLS")).await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_without_http2_is_asked_again_over_http11() {
    // weft-tokio's own HTTP/1.1 server: the h2c preface is refused.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = weft_tokio::accept(tcp).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Text(_)) && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let (mut ws, _) = connect_with(&format!("ws://{addr}/"), ClientOptions::new())
        .await
        .unwrap();
    assert!(!ws.with_io(|io| io.is_http2()));
    echo_round(&mut ws, Message::text("plain")).await;
    // The refused h2c attempt, then HTTP/1.1.
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_small_window_paces_a_large_message_without_losing_any() {
    // The server grants each stream 1 KiB: a 1 MiB message goes out in
    // window-sized pieces as the server hands capacity back.
    let server = serve(Setup {
        extended_connect: true,
        tls: None,
        stream_window: Some(1024),
    })
    .await;
    let (mut ws, _) = connect_with(&url(&server, "/ws"), options_for(&server))
        .await
        .unwrap();
    assert!(ws.with_io(|io| io.is_http2()));
    let payload: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    echo_round(&mut ws, Message::binary(payload)).await;
    echo_round(&mut ws, Message::text("and after it")).await;
}

#[tokio::test]
async fn an_axum_route_for_get_only_is_reached_over_http11() {
    use axum::routing::get;
    use weft_axum::{WebSocket, WebSocketUpgrade};

    // `axum::serve` enables extended CONNECT, but this route answers
    // CONNECT with 405: the client asks again over HTTP/1.1.
    async fn handler(upgrade: WebSocketUpgrade) -> axum::response::Response {
        upgrade.on_upgrade(|mut ws: WebSocket| async move {
            while let Some(Ok(message)) = ws.next().await {
                if matches!(message, Message::Text(_)) && ws.send(message).await.is_err() {
                    break;
                }
            }
        })
    }
    let app = axum::Router::new().route("/ws", get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (mut ws, _) = connect_with(&format!("ws://{addr}/ws"), ClientOptions::new())
        .await
        .unwrap();
    assert!(!ws.with_io(|io| io.is_http2()));
    echo_round(&mut ws, Message::text("GET only")).await;
}

#[tokio::test]
async fn axums_own_rfc8441_server_is_a_peer() {
    use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
    use axum::routing::any;

    async fn handler(upgrade: WebSocketUpgrade) -> axum::response::Response {
        upgrade.on_upgrade(|mut socket: WebSocket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, AxumMessage::Text(_) | AxumMessage::Binary(_))
                    && socket.send(message).await.is_err()
                {
                    break;
                }
            }
        })
    }
    let app = axum::Router::new().route("/ws", any(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (mut ws, _) = connect_with(&format!("ws://{addr}/ws"), ClientOptions::new())
        .await
        .unwrap();
    assert!(
        ws.with_io(|io| io.is_http2()),
        "axum takes extended CONNECT"
    );
    echo_round(&mut ws, Message::text("to axum over HTTP/2")).await;
    echo_round(&mut ws, Message::binary(vec![3u8; 200_000])).await;
    ws.close().await.unwrap();
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn weft_axum_serves_http2_with_deflate_and_origin_checks() {
    use axum::routing::get;
    use weft_axum::{WebSocket, WebSocketUpgrade};

    async fn handler(upgrade: WebSocketUpgrade) -> axum::response::Response {
        upgrade
            .protocols(["echo"])
            .on_upgrade(|mut ws: WebSocket| async move {
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Text(_) | Message::Binary(_))
                        && ws.send(message).await.is_err()
                    {
                        break;
                    }
                }
            })
    }
    let app = axum::Router::new().route("/ws", get(handler).connect(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The page's origin is the server's own `:authority`: accepted.
    let own = ClientOptions::new()
        .subprotocol("echo")
        .origin(format!("http://{addr}"));
    let (mut ws, acceptance) = connect_with(&format!("ws://{addr}/ws"), own).await.unwrap();
    assert!(ws.with_io(|io| io.is_http2()));
    assert_eq!(acceptance.subprotocol(), Some("echo"));
    assert!(acceptance
        .extensions()
        .iter()
        .any(|e| e.starts_with("permessage-deflate")));
    echo_round(&mut ws, Message::text("weft-axum over HTTP/2 ".repeat(100))).await;
    ws.close().await.unwrap();
    assert!(ws.next().await.is_none());

    // Another site's page: 403, over HTTP/2 too.
    let foreign = ClientOptions::new().origin("https://evil.example");
    let error = connect_with(&format!("ws://{addr}/ws"), foreign)
        .await
        .expect_err("refused");
    assert_eq!(error.rejection().map(|r| r.status), Some(403), "{error:?}");
}

#[tokio::test]
async fn a_server_dropping_its_stream_ends_the_websocket_abnormally() {
    use weft_tokio::CloseReason;

    async fn dropper(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let (response, upgrading) = upgrade(&mut request, weft_tokio::default_config(), |_| {
            Ok(Accept::new())
        })
        .unwrap();
        tokio::spawn(async move {
            let mut ws = upgrading.await.unwrap();
            // Reads one message, then goes away without a close frame.
            let _ = ws.next().await;
            drop(ws);
        });
        Ok(response)
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http2().enable_connect_protocol();
        let _ = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service_fn(dropper))
            .await;
    });
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let h2 = H2Connection::handshake(tcp, false).await.unwrap();
    let (mut ws, _) = h2
        .open(&format!("ws://{addr}/"), &ClientOptions::new())
        .await
        .unwrap();
    ws.send(Message::text("bye")).await.unwrap();
    assert!(ws.next().await.is_none());
    assert!(
        matches!(ws.close_reason(), Some(CloseReason::Abnormal)),
        "{:?}",
        ws.close_reason()
    );
}

#[tokio::test]
async fn a_server_silent_after_the_preface_is_asked_again_over_http11() {
    // The first connection is held open and never answered (a server
    // waiting for the rest of what it took for an HTTP/1.1 head); the
    // second is served over HTTP/1.1.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (silent, _) = listener.accept().await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = weft_tokio::accept(tcp).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Text(_)) && ws.send(message).await.is_err() {
                break;
            }
        }
        drop(silent);
    });
    let started = std::time::Instant::now();
    let (mut ws, _) = connect_with(&format!("ws://{addr}/"), ClientOptions::new())
        .await
        .unwrap();
    assert!(!ws.with_io(|io| io.is_http2()));
    assert!(started.elapsed() >= weft_tokio::http2::H2C_PROBE);
    echo_round(&mut ws, Message::text("after the probe")).await;
}
