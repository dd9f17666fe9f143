//! weft-std end to end over loopback: echo, closing from either side, wss
//! with a certificate made in the test, two threads, and misbehaving peers.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use weft_proto::handshake::{Accept, HandshakeError, Reject};
use weft_proto::{CloseCode, CloseReason, Config, Timeout};
use weft_std::{accept, accept_with, connect, connect_with, ClientOptions, Error, Message};
use weft_tests::{raw_client, test_cert};

/// A server on a free port running `serve` on its first connection.
fn serve_one<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || serve(listener.accept().unwrap().0));
    (addr, handle)
}

/// Echoes data messages until the end; returns why it ended.
fn echo(mut ws: weft_std::WebSocket<impl weft_std::Transport>) -> Option<CloseReason> {
    while let Some(message) = ws.read().unwrap() {
        if message.is_data() {
            let _ = ws.send(message);
        }
    }
    ws.close_reason().cloned()
}

#[test]
fn echo_and_client_initiated_close() {
    let (addr, server) = serve_one(|tcp| echo(accept(tcp).unwrap()));
    let (mut ws, _) = connect(&format!("ws://{addr}/")).unwrap();
    ws.send("hello").unwrap();
    ws.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text("hello")));
    assert_eq!(ws.read().unwrap(), Some(Message::binary(vec![1u8, 2, 3])));
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
    let server_reason = server.join().unwrap().unwrap();
    assert!(matches!(server_reason, CloseReason::Clean(f) if f.reason == "bye"));
}

#[test]
fn server_initiated_close_is_seen_by_the_client() {
    let (addr, server) = serve_one(|tcp| {
        let mut ws = accept(tcp).unwrap();
        let first = ws.read().unwrap();
        ws.close(CloseCode::GOING_AWAY, "restarting").unwrap();
        while ws.read().unwrap().is_some() {}
        (first, ws.close_reason().cloned())
    });
    let (mut ws, _) = connect(&format!("ws://{addr}/")).unwrap();
    ws.send("hi").unwrap();
    let close = ws.read().unwrap();
    assert!(matches!(close, Some(Message::Close(Some(f))) if f.code == CloseCode::GOING_AWAY));
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
    let (first, reason) = server.join().unwrap();
    assert_eq!(first, Some(Message::text("hi")));
    assert!(reason.unwrap().is_clean());
}

/// A TLS server on a free port: accepts one connection with `cert` and
/// echoes.
fn tls_echo_server(cert: &weft_tests::TestCert) -> (SocketAddr, JoinHandle<Option<CloseReason>>) {
    let config =
        weft_std::tls::server_config(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap();
    serve_one(move |tcp| {
        let tls = rustls::ServerConnection::new(config).unwrap();
        echo(accept(rustls::StreamOwned::new(tls, tcp)).unwrap())
    })
}

#[test]
fn wss_round_trip_with_a_generated_certificate() {
    let cert = test_cert();
    let (addr, server) = tls_echo_server(&cert);
    let options = ClientOptions::new().tls(cert.client.clone());
    let url = format!("wss://localhost:{}/secure", addr.port());
    let (mut ws, _) = connect_with(&url, options).unwrap();
    let big = vec![7u8; 1 << 20];
    ws.send("over tls").unwrap();
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text("over tls")));
    assert_eq!(ws.read().unwrap(), Some(Message::binary(big)));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(ws.close_reason().unwrap().is_clean());
    assert!(server.join().unwrap().unwrap().is_clean());
}

#[test]
fn wss_with_an_untrusted_certificate_fails_the_handshake() {
    let cert = test_cert();
    let (addr, _server) = tls_echo_server(&cert);
    // The default roots do not trust a self-signed certificate.
    let url = format!("wss://localhost:{}/", addr.port());
    assert!(matches!(connect(&url), Err(Error::Io(_))));
}

#[test]
fn split_wss_reads_and_writes_from_two_threads() {
    let cert = test_cert();
    let (addr, server) = tls_echo_server(&cert);
    let options = ClientOptions::new().tls(cert.client.clone());
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
fn a_peer_vanishing_mid_message_ends_the_connection_abnormally() {
    let (addr, server) = serve_one(|tcp| {
        let mut ws = accept(tcp).unwrap();
        let first = ws.read().unwrap();
        (first, ws.read().unwrap(), ws.close_reason().cloned())
    });
    let (mut stream, mut conn) = raw_client(addr);
    conn.send_text("whole").unwrap();
    conn.send_binary(vec![0u8; 10_000]).unwrap();
    let mut wire = Vec::new();
    while let Some(t) = conn.poll_transmit() {
        wire.extend(t.to_vec());
    }
    // The first message and half of the second, then the client is gone.
    let cut = wire.len() - 5_000;
    stream.write_all(&wire[..cut]).unwrap();
    drop(stream);
    let (first, second, reason) = server.join().unwrap();
    assert_eq!(first, Some(Message::text("whole")));
    assert_eq!(second, None);
    assert_eq!(reason, Some(CloseReason::Abnormal));
}

#[test]
fn keepalive_detects_a_peer_that_stops_answering() {
    let (addr, server) = serve_one(|tcp| {
        let config = Config::default()
            .keepalive(Some(Duration::from_millis(100)), Duration::from_millis(200));
        let mut ws = accept_with(tcp, config, |_| Ok(Accept::new())).unwrap();
        let started = Instant::now();
        while ws.read().unwrap().is_some() {}
        (ws.close_reason().cloned(), started.elapsed())
    });
    // The client completes the handshake and then never reads again.
    let (_silent, _conn) = raw_client(addr);
    let (reason, elapsed) = server.join().unwrap();
    assert_eq!(reason, Some(CloseReason::TimedOut(Timeout::Pong)));
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn a_rejected_handshake_reaches_the_client_with_status_and_body() {
    let (addr, server) = serve_one(|tcp| {
        accept_with(tcp, Config::default(), |request| {
            assert_eq!(request.path(), "/private");
            Err(Reject::new(403)
                .header("X-Reason", "no token")
                .body("go away"))
        })
        .err()
    });
    let result = connect(&format!("ws://{addr}/private"));
    let Err(Error::Handshake(HandshakeError::Rejected(response))) = result else {
        panic!("expected a rejection, got {:?}", result.map(|_| ()));
    };
    assert_eq!(response.status, 403);
    assert_eq!(response.headers.get_str("x-reason"), Some("no token"));
    assert_eq!(&response.body[..], b"go away");
    assert!(matches!(server.join().unwrap(), Some(Error::Rejected(403))));
}

/// An echo server and a client connected to it, both allowing 64 MiB messages.
fn big_echo() -> (
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

#[test]
fn a_64_mib_message_crosses_each_way() {
    let (mut ws, server) = big_echo();
    let big: Vec<u8> = (0..64u32 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::binary(big)));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(ws.read().unwrap(), None);
    assert!(server.join().unwrap().unwrap().is_clean());
}

/// Runs `f` on a thread and fails the test if it does not finish in time.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).expect("hung")
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

#[test]
fn the_handshake_timeout_bounds_a_tls_handshake_that_never_answers() {
    // A TCP server that accepts and says nothing.
    let (addr, _server) = serve_one(|tcp| {
        std::thread::sleep(Duration::from_secs(5));
        drop(tcp);
    });
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(300)));
    let options = ClientOptions::new().config(config);
    let url = format!("wss://localhost:{}/", addr.port());
    let result = within(Duration::from_secs(3), move || {
        connect_with(&url, options).map(|_| ())
    });
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::TimedOut))),
        "{result:?}"
    );
}

/// A decision the handshake cannot write (a status that refuses nothing, a
/// subprotocol the client did not offer) reaches the client as a 500, and
/// the server's `accept_with` fails with the reason.
#[test]
fn an_answer_that_cannot_be_written_is_a_500() {
    type Decide = fn(&weft_std::IncomingRequest) -> Result<Accept, Reject>;
    let decisions: [Decide; 2] = [
        |_| Err(Reject::new(99)),
        |_| Ok(Accept::new().subprotocol("never-offered")),
    ];
    for decide in decisions {
        let (addr, server) =
            serve_one(move |tcp| accept_with(tcp, Config::default(), decide).err());
        let result = connect(&format!("ws://{addr}/"));
        let Err(Error::Handshake(HandshakeError::Rejected(response))) = result else {
            panic!("expected a 500, got {:?}", result.map(|_| ()));
        };
        assert_eq!(response.status, 500);
        assert!(matches!(
            server.join().unwrap(),
            Some(Error::Handshake(HandshakeError::InvalidInput(_)))
        ));
    }
}
