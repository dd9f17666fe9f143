//! `weft_tokio::hyper` in a plain hyper 1 HTTP/1.1 server on loopback: a
//! Weft client gets the subprotocol and permessage-deflate it asked for and
//! an echo, the application's rejection reaches the client whole, a request
//! that is no handshake gets its status, and ordinary requests are served
//! on the same port.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft_tokio::hyper::{is_upgrade_request, upgrade};
use weft_tokio::{Accept, ClientOptions, Error, Message, Reject};

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !is_upgrade_request(&request) {
        return Ok(Response::new(Full::from("plain HTTP")));
    }
    let decided = upgrade(&mut request, weft_tokio::default_config(), |incoming| {
        if incoming.path() == "/secret"
            && incoming.headers().get_str("authorization") != Some("Bearer let-me-in")
        {
            return Err(Reject::new(401)
                .header("WWW-Authenticate", "Bearer")
                .body("a token, please"));
        }
        match incoming.subprotocols().iter().any(|p| p == "echo") {
            true => Ok(Accept::new().subprotocol("echo")),
            false => Ok(Accept::new()),
        }
    });
    match decided {
        Ok((response, upgrading)) => {
            tokio::spawn(async move {
                let mut ws = upgrading.await.expect("hyper hands over the connection");
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Text(_) | Message::Binary(_))
                        && ws.send(message).await.is_err()
                    {
                        break;
                    }
                }
            });
            Ok(response)
        }
        Err(refusal) => Ok(refusal),
    }
}

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service_fn(handle))
                    .with_upgrades(),
            );
        }
    });
    addr
}

#[tokio::test]
async fn a_weft_client_is_answered_through_hyper() {
    let addr = serve().await;
    let options = ClientOptions::new().subprotocol("echo");
    let (mut ws, acceptance) = weft_tokio::connect_with(&format!("ws://{addr}/ws"), options)
        .await
        .unwrap();
    assert_eq!(acceptance.subprotocol(), Some("echo"));
    assert!(acceptance
        .extensions()
        .iter()
        .any(|e| e.starts_with("permessage-deflate")));
    for size in [0, 125, 70_000, 1 << 20] {
        let text = "w".repeat(size);
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
    }
    ws.close().await.unwrap();
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn the_applications_rejection_reaches_the_client() {
    let addr = serve().await;
    let error = weft_tokio::connect(&format!("ws://{addr}/secret"))
        .await
        .expect_err("refused");
    let Error::Refused(rejection) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(rejection.status, 401);
    assert_eq!(
        rejection.headers.get_str("www-authenticate"),
        Some("Bearer")
    );
    assert_eq!(&rejection.body[..], b"a token, please");
}

#[tokio::test]
async fn plain_requests_and_bad_handshakes_share_the_port() {
    let addr = serve().await;
    for (request, expect) in [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK"),
        (
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tcp.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with(expect), "{text}");
    }
}

#[tokio::test]
async fn a_client_described_by_an_http_request_carries_its_headers() {
    let addr = serve().await;
    let request = hyper::Request::get(format!("ws://{addr}/secret"))
        .header("Authorization", "Bearer let-me-in")
        .header("Sec-WebSocket-Protocol", "echo")
        .body(())
        .unwrap();
    let (url, options) = ClientOptions::new().with_http_request(&request).unwrap();
    let (mut ws, acceptance) = weft_tokio::connect_with(&url, options).await.unwrap();
    assert_eq!(acceptance.subprotocol(), Some("echo"));
    ws.send(Message::text("in")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("in"));
}
