//! The two adapters against each other over loopback: a weft-std client
//! with a weft-tokio server and the reverse, 64 MiB each way, and a
//! thousand concurrent connections to one tokio server.

use std::net::TcpListener;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use weft_proto::handshake::Accept;
use weft_proto::{CloseCode, CloseReason, Config};
use weft_std::Message;
use weft_tests::tokio_echo_server;

fn big_config() -> Config {
    Config::default()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
}

#[test]
fn std_client_and_tokio_server_exchange_64_mib_each_way() {
    let addr = tokio_echo_server(big_config());
    let options = weft_std::ClientOptions::new().config(big_config());
    let (mut ws, _) = weft_std::connect_with(&format!("ws://{addr}/"), options).unwrap();
    let big: Vec<u8> = (0..64u32 << 20).map(|i| (i % 253) as u8).collect();
    ws.send("small first").unwrap();
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text("small first")));
    assert_eq!(ws.read().unwrap(), Some(Message::binary(big)));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
}

#[test]
fn tokio_client_and_std_server_exchange_64_mib_each_way() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = weft_std::accept_with(tcp, big_config(), |_| Ok(Accept::new())).unwrap();
        while let Some(message) = ws.read().unwrap() {
            if message.is_data() {
                ws.send(message).unwrap();
            }
        }
        ws.close_reason().cloned()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = weft_tokio::ClientOptions::new().config(big_config());
        let (mut ws, _) = weft_tokio::connect_with(&format!("ws://{addr}/"), options)
            .await
            .unwrap();
        let big: Vec<u8> = (0..64u32 << 20).map(|i| (i % 241) as u8).collect();
        ws.send(Message::text("small first")).await.unwrap();
        ws.send(Message::binary(big.clone())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text("small first")
        );
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(big));
        ws.send(Message::Close(None)).await.unwrap();
        while let Some(message) = ws.next().await {
            message.unwrap();
        }
        assert!(ws.close_reason().unwrap().is_clean());
    });
    let reason = server.join().unwrap().unwrap();
    assert!(matches!(reason, CloseReason::Clean(f) if f.code == CloseCode::NORMAL));
}

#[test]
fn a_thousand_concurrent_connections_to_one_tokio_server() {
    let addr = tokio_echo_server(Config::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let clean = runtime.block_on(async move {
        // All connect first, so that a thousand are open at once.
        let mut sockets = Vec::new();
        for _ in 0..1000 {
            let (ws, _) = weft_tokio::connect(&format!("ws://{addr}/")).await.unwrap();
            sockets.push(ws);
        }
        let tasks: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(i, mut ws)| {
                tokio::spawn(async move {
                    let text = format!("connection {i}");
                    ws.send(Message::text(text.clone())).await.unwrap();
                    let echoed = ws.next().await.unwrap().unwrap();
                    assert_eq!(echoed, Message::text(text));
                    ws.send(Message::Close(None)).await.unwrap();
                    while ws.next().await.is_some() {}
                    ws.close_reason().is_some_and(|r| r.is_clean())
                })
            })
            .collect();
        let mut clean = 0;
        for task in tasks {
            let ok = tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("a connection hung")
                .unwrap();
            clean += usize::from(ok);
        }
        clean
    });
    assert_eq!(clean, 1000);
}

#[test]
fn tokio_halves_exchange_messages_larger_than_the_socket_buffers_without_deadlock() {
    // Each side writes while the other is still writing: both must keep
    // reading, or each waits on the other forever.
    let config = big_config();
    let addr = tokio_echo_server(config.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let options = weft_tokio::ClientOptions::new().config(config);
        let (ws, _) = weft_tokio::connect_with(&format!("ws://{addr}/"), options)
            .await
            .unwrap();
        let (mut sender, mut receiver) = ws.split();
        let big = vec![3u8; 60 << 20];
        let sent = big.clone();
        let sending = tokio::spawn(async move {
            sender.send(Message::binary(sent.clone())).await.unwrap();
            sender.send(Message::binary(sent)).await.unwrap();
            sender
        });
        let echoes = tokio::time::timeout(Duration::from_secs(60), async {
            let a = receiver.next().await.unwrap().unwrap();
            let b = receiver.next().await.unwrap().unwrap();
            (a, b)
        })
        .await
        .expect("the two ends deadlocked");
        assert_eq!(echoes.0, Message::binary(big.clone()));
        assert_eq!(echoes.1, Message::binary(big));
        let mut sender = sending.await.unwrap();
        sender.send(Message::Close(None)).await.unwrap();
        while receiver.next().await.is_some() {}
    });
}
