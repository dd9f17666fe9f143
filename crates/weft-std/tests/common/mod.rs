//! Helpers shared by weft-std's loopback tests: a server for one
//! connection on a free port, an echo loop, a plain and a TLS echo server,
//! and a bound on how long a step may take.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use weft_proto::handshake::Accept;
use weft_proto::{CloseReason, Config};
use weft_std::{accept_with, connect_with, ClientOptions};
#[cfg(feature = "tls")]
use weft_test_support::TestCert;

/// A server on a free port running `serve` on its first connection.
pub fn serve_one<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || serve(listener.accept().unwrap().0));
    (addr, handle)
}

/// Echoes data messages until the end; returns why it ended.
pub fn echo(mut ws: weft_std::WebSocket<impl weft_std::Transport>) -> Option<CloseReason> {
    while let Some(message) = ws.read().unwrap() {
        if message.is_data() {
            let _ = ws.send(message);
        }
    }
    ws.close_reason().cloned()
}

/// A TLS server on a free port: accepts one connection with `cert` and
/// echoes.
#[cfg(feature = "tls")]
pub fn tls_echo_server(cert: &TestCert) -> (SocketAddr, JoinHandle<Option<CloseReason>>) {
    let config =
        weft_std::tls::server_config(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
    serve_one(move |tcp| {
        let tls = rustls::ServerConnection::new(config).unwrap();
        echo(weft_std::accept(rustls::StreamOwned::new(tls, tcp)).unwrap())
    })
}

/// An echo server and a client connected to it, both allowing 64 MiB messages.
pub fn big_echo() -> (
    weft_std::WebSocket<weft_std::MaybeTlsStream>,
    JoinHandle<Option<CloseReason>>,
) {
    let config = Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    let server_config = config.clone();
    let (addr, server) =
        serve_one(move |tcp| echo(accept_with(tcp, server_config, |_| Ok(Accept::new())).unwrap()));
    let options = ClientOptions::new().config(config);
    let (ws, _) = connect_with(&format!("ws://{addr}/"), options).unwrap();
    (ws, server)
}

/// Runs `f` on a thread and fails the test if it does not finish in time.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).expect("hung")
}
