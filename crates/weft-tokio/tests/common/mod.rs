//! Helpers shared by the loopback tests. The raw peers' sans-IO parts
//! (the client's handshake, the bytes a connection queues) come from
//! weft-test-support, which weft-std's tests and the end-to-end tests use
//! too.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weft_test_support::RawHandshake;
use weft_tokio::weft_proto::Connection;
use weft_tokio::{
    accept_with, connect_with, Accept, ClientOptions, Config, MaybeTlsStream, WebSocketStream,
};

/// Generous limits for a test that must not hang.
pub const LIMIT: Duration = Duration::from_secs(30);

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type Server = WebSocketStream<TcpStream>;

/// A listener on a free loopback port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A connected client and server, each with `config`.
pub async fn pair(config: Config) -> (Client, Server) {
    let (listener, addr) = listener().await;
    let server_config = config.clone();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        accept_with(tcp, server_config, |_| Ok(Accept::new()))
            .await
            .unwrap()
    });
    let (client, _) = connect_with(
        &format!("ws://{addr}/test"),
        ClientOptions::new().config(config),
    )
    .await
    .unwrap();
    (client, server.await.unwrap())
}

/// Echoes every data message until the stream ends; returns the stream.
pub async fn echo<S>(mut ws: WebSocketStream<S>) -> WebSocketStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(message) = ws.next().await {
        let message = message.unwrap();
        if message.is_data() {
            let _ = ws.send(message).await;
        }
    }
    ws
}

/// A client's handshake done by hand over a raw TCP stream, so the test
/// controls every byte that follows. Returns the stream and a sans-IO
/// connection to decode what the server sends.
pub async fn raw_client(addr: SocketAddr, config: Config) -> (TcpStream, Connection) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (mut handshake, request) =
        RawHandshake::start(addr.to_string(), "/raw", config, *b"0123456789abcdef");
    tcp.write_all(&request).await.unwrap();
    let mut buf = [0u8; 1];
    // Byte by byte, so nothing after the 101 is consumed here.
    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        assert_eq!(n, 1, "server closed during the handshake");
        if handshake.handle_response(&buf) {
            break;
        }
    }
    let mut key = 0u32;
    let keys = move || {
        key = key.wrapping_add(0x9e37_79b9);
        key.to_be_bytes()
    };
    (tcp, handshake.into_connection(keys))
}

/// A server's handshake done by hand over a raw TCP stream; returns the
/// stream and a sans-IO connection to encode what the test sends.
pub async fn raw_server(tcp: &mut TcpStream) -> Connection {
    use weft_tokio::weft_proto::handshake::ServerHandshake;
    let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    let mut buf = [0u8; 1];
    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        assert_eq!(n, 1, "client closed during the handshake");
        if handshake.handle_data(&buf).unwrap().is_some() {
            break;
        }
    }
    let mut out = Vec::new();
    handshake.accept(Accept::new(), &mut out).unwrap();
    tcp.write_all(&out).await.unwrap();
    handshake.into_connection(Instant::now()).unwrap()
}
