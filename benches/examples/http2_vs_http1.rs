//! WebSockets over one HTTP/2 connection against as many HTTP/1.1
//! connections, side by side in one run: N WebSockets each do echo round
//! trips of SIZE-byte binary messages for SECONDS, against a hyper server
//! (auto builder, extended CONNECT on) running `weft_tokio::hyper`.
//! Prints messages per second for each and their ratio.
//!
//! ```sh
//! cargo run --release -p weft-benches --example http2_vs_http1 -- 20 1024 5
//! ```
//!
//! One process, server and clients on two runtime threads: a comparison of
//! the two transports under the same load, not a measure of either alone.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use weft_tokio::http2::H2Connection;
use weft_tokio::hyper::upgrade;
use weft_tokio::{Accept, ClientOptions, Config, Message};

async fn handle(
    mut request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let config = Config::default();
    let (response, upgrading) = match upgrade(&mut request, config, |_| Ok(Accept::new())) {
        Ok(accepted) => accepted,
        Err(refusal) => return Ok(refusal),
    };
    tokio::spawn(async move {
        let Ok(mut ws) = upgrading.await else { return };
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Binary(_)) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service_fn(handle))
                    .await;
            });
        }
    });
    addr
}

/// Round trips on `ws` until `until`, counted in `done`.
async fn echo_loop<S>(
    mut ws: weft_tokio::WebSocketStream<S>,
    size: usize,
    until: Instant,
    done: Arc<AtomicU64>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let payload = Bytes::from(vec![7u8; size]);
    while Instant::now() < until {
        ws.send(Message::Binary(payload.clone())).await.unwrap();
        match ws.next().await {
            Some(Ok(Message::Binary(_))) => {
                done.fetch_add(1, Ordering::Relaxed);
            }
            other => panic!("{other:?}"),
        }
    }
    let _ = ws.close().await;
}

async fn run(addr: SocketAddr, n: usize, size: usize, seconds: u64, http2: bool) -> f64 {
    let url = format!("ws://{addr}/");
    let options = ClientOptions::new().config(Config::default());
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    if http2 {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let h2 = H2Connection::handshake(tcp, false).await.unwrap();
        for _ in 0..n {
            let (ws, _) = h2.open(&url, &options).await.unwrap();
            tasks.push(tokio::spawn(echo_loop(ws, size, until, done.clone())));
        }
    } else {
        for _ in 0..n {
            let (ws, _) = weft_tokio::connect_with(&url, options.clone())
                .await
                .unwrap();
            tasks.push(tokio::spawn(echo_loop(ws, size, until, done.clone())));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("N SIZE SECONDS"))
        .collect();
    let (n, size, seconds) = match args[..] {
        [n, size, seconds] => (n, size, seconds as u64),
        _ => (20, 1024, 5),
    };
    // The server on a thread of its own, the clients on this one.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let server = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        server.block_on(async {
            tx.send(serve().await).unwrap();
            std::future::pending::<()>().await
        })
    });
    let addr = rx.recv().unwrap();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Twice each, alternating, so that neither always runs first.
    let mut h1 = Vec::new();
    let mut h2 = Vec::new();
    for _ in 0..2 {
        h1.push(client.block_on(run(addr, n, size, seconds, false)));
        h2.push(client.block_on(run(addr, n, size, seconds, true)));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (h1, h2) = (mean(&h1), mean(&h2));
    println!("{n} WebSockets, {size}-byte echo round trips, {seconds} s x 2 each");
    println!("HTTP/1.1, {n} connections:  {h1:>10.0} messages/s");
    println!("HTTP/2, one connection:   {h2:>10.0} messages/s");
    println!("HTTP/2 / HTTP/1.1:        {:>10.2}", h2 / h1);
}
