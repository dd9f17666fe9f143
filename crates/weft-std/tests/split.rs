//! weft-std's split halves on two threads: a blocked read holds up no
//! write, the reader answers pings while the writer is idle, large messages
//! cross both ways without deadlock, a close from the writer times out
//! while the reader blocks, and the same over wss://.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{big_echo, serve_one, within};
use weft_proto::{CloseCode, CloseReason, Config, Timeout};
use weft_std::{accept, connect, connect_with, ClientOptions, Message};

#[cfg(feature = "tls")]
#[test]
fn split_wss_reads_and_writes_from_two_threads() {
    let cert = weft_test_support::test_cert();
    let (addr, server) = common::tls_echo_server(&cert);
    let options =
        ClientOptions::new().tls(weft_std::tls::client_config_with_roots(cert.roots.clone()));
    let (ws, _) = connect_with(&format!("wss://localhost:{}/", addr.port()), options).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..200 {
            writer.send(format!("message {i}")).unwrap();
        }
        writer
    });
    for i in 0..200 {
        assert_eq!(
            reader.read().unwrap(),
            Some(Message::text(format!("message {i}")))
        );
    }
    let writer = sender.join().unwrap();
    writer.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(reader.read().unwrap(), None);
    assert!(reader.close_reason().unwrap().is_clean());
    assert!(server.join().unwrap().unwrap().is_clean());
}

#[test]
fn a_blocked_read_does_not_hold_up_writes() {
    // The server only reads; the client's reader blocks for as long as the
    // test runs, while its writer sends.
    let (addr, server) = serve_one(|tcp| {
        let mut ws = accept(tcp).unwrap();
        let mut received = 0;
        while let Some(message) = ws.read().unwrap() {
            if message.is_data() {
                received += 1;
            }
        }
        received
    });
    let (ws, _) = connect(&format!("ws://{addr}/")).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let reading = std::thread::spawn(move || {
        let ended = reader.read().unwrap();
        (ended, reader.close_reason())
    });
    std::thread::sleep(Duration::from_millis(50));
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..500 {
            writer.send(format!("{i}")).unwrap();
        }
        writer.close(CloseCode::NORMAL, "").unwrap();
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("writes were held up by the blocked read");
    let (ended, reason) = reading.join().unwrap();
    assert_eq!(ended, None);
    assert!(reason.unwrap().is_clean());
    assert_eq!(server.join().unwrap(), 500);
}

#[test]
fn the_reader_answers_pings_while_the_writer_is_idle() {
    let (addr, server) = serve_one(|tcp| {
        let mut ws = accept(tcp).unwrap();
        ws.send(Message::Ping("are you there".into())).unwrap();
        let answer = ws.read().unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
        while ws.read().unwrap().is_some() {}
        answer
    });
    let (ws, _) = connect(&format!("ws://{addr}/")).unwrap();
    let (mut reader, _idle_writer) = ws.split().unwrap();
    assert_eq!(
        reader.read().unwrap(),
        Some(Message::Ping("are you there".into()))
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while reader.read().unwrap().is_some() {}
        tx.send(reader.close_reason()).unwrap();
    });
    assert_eq!(
        server.join().unwrap(),
        Some(Message::Pong("are you there".into()))
    );
    let reason = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(reason.unwrap().is_clean());
}

#[test]
fn split_halves_exchange_large_messages_with_an_echo_server_without_deadlock() {
    // Larger than the loopback socket buffers: while the writer sends the
    // second message, the reader must keep reading the first echo.
    let (ws, server) = big_echo();
    let (mut reader, writer) = ws.split().unwrap();
    let big = vec![5u8; 40 << 20];
    let sent = big.clone();
    let sender = std::thread::spawn(move || {
        writer.send(sent.clone()).unwrap();
        writer.send(sent).unwrap();
        writer
    });
    let received = within(Duration::from_secs(60), move || {
        let a = reader.read().unwrap();
        let b = reader.read().unwrap();
        (a, b, reader)
    });
    let (a, b, mut reader) = received;
    assert_eq!(a, Some(Message::binary(big.clone())));
    assert_eq!(b, Some(Message::binary(big)));
    sender.join().unwrap().close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(reader.read().unwrap(), None);
    assert!(server.join().unwrap().unwrap().is_clean());
}

#[test]
fn a_close_from_the_writer_times_out_while_the_reader_blocks() {
    // The server completes the handshake, then never reads or answers.
    let (addr, _server) = serve_one(|tcp| {
        let ws = accept(tcp).unwrap();
        std::thread::sleep(Duration::from_secs(5));
        drop(ws);
    });
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let options = ClientOptions::new().config(config);
    let (ws, _) = connect_with(&format!("ws://{addr}/"), options).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    let reading = std::thread::spawn(move || {
        let ended = reader.read().unwrap();
        (ended, reader.close_reason())
    });
    // The reader is blocked with no timer running when the close starts one.
    std::thread::sleep(Duration::from_millis(100));
    writer.close(CloseCode::NORMAL, "").unwrap();
    let (ended, reason) = within(Duration::from_secs(3), move || reading.join().unwrap());
    assert_eq!(ended, None);
    assert_eq!(reason, Some(CloseReason::TimedOut(Timeout::Close)));
}
