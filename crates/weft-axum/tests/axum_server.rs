//! weft-axum's extractor in a real axum server on loopback: a Weft client
//! over HTTP/1.1 (subprotocol, permessage-deflate, large messages), an
//! ordinary route on the same port, bytes sent right behind the request,
//! and every refusal with its status.

use std::net::SocketAddr;
use std::time::Duration;

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_axum::{Message, OriginPolicy, WebSocket, WebSocketUpgrade};
use weft_tokio::weft_proto::{Connection, Event, MaskKeys};
use weft_tokio::ClientOptions;

async fn echo(mut ws: WebSocket) {
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            break;
        }
    }
}

async fn ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .protocols(["chat.v2", "chat.v1"])
        .header("X-Served-By", "weft-axum")
        .on_upgrade(echo)
}

async fn open_ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade.origin_policy(OriginPolicy::Any).on_upgrade(echo)
}

async fn listed_ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .origin_policy(OriginPolicy::allow(["https://app.example"]))
        .on_upgrade(echo)
}

/// Serves the test app on a free loopback port.
async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { "an ordinary page" }))
        .route("/ws", get(ws).connect(ws))
        .route("/open", get(open_ws))
        .route("/listed", get(listed_ws));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends `request` on a new connection and returns the response: its head
/// and the body its Content-Length announces.
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let mut got = Vec::new();
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse::<usize>().unwrap());
            if got.len() >= end + 4 + length {
                break;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("the server answers")
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn a_weft_client_gets_subprotocol_deflate_and_echoes() {
    let addr = serve().await;
    let options = ClientOptions::new()
        .subprotocol("chat.v1")
        .subprotocol("chat.v2");
    let (mut ws, acceptance) = weft_tokio::connect_with(&format!("ws://{addr}/ws"), options)
        .await
        .unwrap();
    // The server's preference wins among what the client offered.
    assert_eq!(acceptance.subprotocol(), Some("chat.v2"));
    assert!(
        acceptance
            .extensions()
            .iter()
            .any(|e| e.starts_with("permessage-deflate")),
        "{:?}",
        acceptance.extensions()
    );
    assert_eq!(
        acceptance.headers().get_str("x-served-by"),
        Some("weft-axum")
    );
    ws.send(Message::text("hello axum")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("hello axum")
    );
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(big));
    ws.close().await.unwrap();
}

#[tokio::test]
async fn ordinary_routes_share_the_port() {
    let addr = serve().await;
    let response = raw(addr, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("an ordinary page"), "{response}");
}

#[tokio::test]
async fn a_frame_sent_right_behind_the_request_is_read() {
    let addr = serve().await;
    // The request and a masked text frame in one write: hyper reads both,
    // and the frame must reach the WebSocket.
    let mut client = Connection::client(
        weft_tokio::weft_proto::Config::default(),
        FixedKey,
        std::time::Instant::now(),
    );
    client.send_text("right behind").unwrap();
    let mut bytes = upgrade_request("/ws", "").into_bytes();
    while let Some(transmit) = client.poll_transmit() {
        bytes.extend_from_slice(&transmit.to_vec());
    }
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&bytes).await.unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("the echo arrives")
            .unwrap();
        assert_ne!(
            n,
            0,
            "closed before the echo: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        assert!(got.starts_with(b"HTTP/1.1 101 "));
        client.handle_data(std::time::Instant::now(), &got[end + 4..]);
        got.truncate(end + 4);
        if let Some(event) = client.poll_event() {
            assert_eq!(event, Event::Text("right behind".into()));
            return;
        }
    }
}

struct FixedKey;

impl MaskKeys for FixedKey {
    fn next_key(&mut self) -> [u8; 4] {
        [1, 2, 3, 4]
    }
}

#[tokio::test]
async fn invalid_handshakes_are_refused_with_their_status() {
    let addr = serve().await;
    let cases = [
        // Another method on a GET route: axum's router answers 405 itself.
        (
            upgrade_request("/ws", "").replacen("GET", "POST", 1),
            "405",
            "",
        ),
        (
            upgrade_request("/ws", "")
                .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            "400",
            "lacks the Sec-WebSocket-Key header",
        ),
        (
            upgrade_request("/ws", "").replace("Upgrade: websocket\r\n", "Upgrade: h2c\r\n"),
            "400",
            "Upgrade does not contain",
        ),
        (
            upgrade_request("/ws", "").replace("Version: 13", "Version: 8"),
            "426",
            "version",
        ),
        (
            upgrade_request("/ws", "Content-Length: 5\r\n") + "hello",
            "400",
            "has a body (Content-Length)",
        ),
        (
            upgrade_request("/ws", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n",
            "400",
            "has a body (Transfer-Encoding)",
        ),
        (
            upgrade_request("/ws", "").replace("HTTP/1.1", "HTTP/1.0"),
            "505",
            "HTTP/1.1 or later",
        ),
    ];
    for (request, status, text) in cases {
        let response = raw(addr, &request).await;
        assert!(
            // hyper answers an HTTP/1.0 request in HTTP/1.0.
            response.get(9..13) == Some(&format!("{status} ")) && response.contains(text),
            "{request:?} got {response:?}"
        );
    }
    let old = raw(
        addr,
        &upgrade_request("/ws", "").replace("Version: 13", "Version: 8"),
    )
    .await;
    assert!(
        old.to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{old}"
    );
}

#[tokio::test]
async fn origins_are_checked_against_the_host_by_default() {
    let addr = serve().await;
    let same = raw(
        addr,
        &upgrade_request("/ws", "Origin: http://localhost\r\n"),
    )
    .await;
    assert!(same.starts_with("HTTP/1.1 101 "), "{same}");
    let none = raw(addr, &upgrade_request("/ws", "")).await;
    assert!(none.starts_with("HTTP/1.1 101 "), "{none}");
    let foreign = raw(
        addr,
        &upgrade_request("/ws", "Origin: https://evil.example\r\n"),
    )
    .await;
    assert!(foreign.starts_with("HTTP/1.1 403 "), "{foreign}");
    // The policy can be opened up or narrowed per route.
    let open = raw(
        addr,
        &upgrade_request("/open", "Origin: https://evil.example\r\n"),
    )
    .await;
    assert!(open.starts_with("HTTP/1.1 101 "), "{open}");
    let listed = raw(
        addr,
        &upgrade_request("/listed", "Origin: https://app.example\r\n"),
    )
    .await;
    assert!(listed.starts_with("HTTP/1.1 101 "), "{listed}");
    let unlisted = raw(
        addr,
        &upgrade_request("/listed", "Origin: http://localhost\r\n"),
    )
    .await;
    assert!(unlisted.starts_with("HTTP/1.1 403 "), "{unlisted}");
}
