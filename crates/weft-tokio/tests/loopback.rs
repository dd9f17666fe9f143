//! weft-tokio over loopback TCP: messages, split halves, pings, cancel
//! safety, closing, handshakes, timers, backpressure, large messages.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{echo, pair, raw_client, LIMIT};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use weft_test_support::{client_bytes, drain};
use weft_tokio::weft_proto::handshake::HandshakeError;
use weft_tokio::weft_proto::{Event, SendError, Timeout};
use weft_tokio::{
    accept_with, connect, connect_with, from_upgraded, Accept, ClientOptions, CloseCode,
    CloseFrame, CloseReason, Config, Error, Message, Reject, Role, State,
};

fn clean(code: CloseCode, reason: &str) -> Option<CloseReason> {
    Some(CloseReason::Clean(CloseFrame::new(code, reason)))
}

#[tokio::test]
async fn echo_round_trip_text_binary_and_ping() {
    let (mut client, server) = pair(Config::default()).await;
    let server = tokio::spawn(echo(server));

    client.send(Message::text("hello")).await.unwrap();
    client
        .send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    client
        .send(Message::Ping(Bytes::from_static(b"p")))
        .await
        .unwrap();
    client.send(Message::text("")).await.unwrap();

    let mut received = Vec::new();
    while received.len() < 4 {
        received.push(client.next().await.unwrap().unwrap());
    }
    assert_eq!(
        received,
        [
            Message::text("hello"),
            Message::binary(vec![0u8, 1, 2, 255]),
            Message::Pong(Bytes::from_static(b"p")),
            Message::text(""),
        ]
    );

    client.send(Message::Close(None)).await.unwrap();
    assert_eq!(client.state(), State::CloseSent);
    assert!(client.next().await.is_none());
    assert_eq!(client.close_reason(), clean(CloseCode::NORMAL, ""));
    // Nothing may follow a close, not even another close; Sink::close
    // sends one only if none was sent.
    assert!(matches!(
        client.send(Message::text("late")).await,
        Err(Error::Send(SendError::Closed))
    ));
    assert!(matches!(
        client.send(Message::Close(None)).await,
        Err(Error::Send(SendError::Closed))
    ));
    client.close().await.unwrap();
    let server = server.await.unwrap();
    assert_eq!(server.close_reason(), clean(CloseCode::NORMAL, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_send_while_a_read_is_pending() {
    let (client, mut server) = pair(Config::default()).await;
    // The server says nothing until it has three messages.
    let server = tokio::spawn(async move {
        for i in 0..3 {
            let message = server.next().await.unwrap().unwrap();
            assert_eq!(message, Message::text(format!("m{i}")));
        }
        server.send(Message::text("got 3")).await.unwrap();
        echo(server).await
    });

    let (mut sender, mut receiver) = client.split();
    let reader = tokio::spawn(async move {
        let mut received = Vec::new();
        while let Some(message) = receiver.next().await {
            received.push(message.unwrap());
        }
        (received, receiver)
    });
    // Give the reader time to block on the socket.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!reader.is_finished());
    for i in 0..3 {
        timeout(
            Duration::from_secs(5),
            sender.send(Message::text(format!("m{i}"))),
        )
        .await
        .expect("a pending read held up a send")
        .unwrap();
    }
    sender.send(Message::text("echo me")).await.unwrap();
    sender
        .send(Message::Close(Some(CloseFrame::new(
            CloseCode(4000),
            "bye",
        ))))
        .await
        .unwrap();

    let (received, receiver) = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert_eq!(received, [Message::text("got 3"), Message::text("echo me")]);
    // The peer's echo carries the code, not the reason.
    assert_eq!(receiver.close_reason(), clean(CloseCode(4000), ""));
    assert_eq!(sender.close_reason(), clean(CloseCode(4000), ""));
    let ws = sender.reunite(receiver).unwrap();
    assert_eq!(ws.state(), State::Closed);
    let server = server.await.unwrap();
    assert_eq!(server.close_reason(), clean(CloseCode(4000), "bye"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_answered_while_the_sender_is_idle() {
    let (mut client, server) = pair(Config::default()).await;
    let (idle_sender, mut receiver) = server.split();
    let server = tokio::spawn(async move {
        let mut pings = 0;
        while let Some(message) = receiver.next().await {
            if let Message::Ping(_) = message.unwrap() {
                pings += 1;
            }
        }
        (pings, receiver.close_reason())
    });

    // A burst of ten pings in one write: each gets its own pong
    // (Autobahn case 2.10).
    for i in 0..10u8 {
        client
            .feed(Message::Ping(Bytes::from(vec![i])))
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    for i in 0..10u8 {
        let message = timeout(Duration::from_secs(5), client.next())
            .await
            .expect("no pong from a server whose sender is idle")
            .unwrap()
            .unwrap();
        assert_eq!(message, Message::Pong(Bytes::from(vec![i])));
    }

    client.send(Message::Close(None)).await.unwrap();
    assert!(client.next().await.is_none());
    assert_eq!(client.close_reason(), clean(CloseCode::NORMAL, ""));
    let (pings, reason) = server.await.unwrap();
    assert_eq!(pings, 10);
    assert_eq!(reason, clean(CloseCode::NORMAL, ""));
    drop(idle_sender);
}

/// The i-th message of the cancel-safety stream: sizes from 0 to ~30 KiB.
fn numbered(i: usize) -> Message {
    if i.is_multiple_of(3) {
        Message::text(format!("message {i}"))
    } else {
        let len = (i * 7919) % 30_000;
        Message::binary(vec![(i % 251) as u8; len])
    }
}

#[tokio::test]
async fn dropping_next_futures_loses_nothing() {
    const COUNT: usize = 600;
    let (listener, addr) = common::listener().await;
    // A server that trickles its frames in pieces of 1 to ~4000 bytes, so
    // that reads often end mid-frame while `next()` futures are dropped.
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let mut conn = common::raw_server(&mut tcp).await;
        for i in 0..COUNT {
            match numbered(i) {
                Message::Text(text) => conn.send_text(text).unwrap(),
                Message::Binary(data) => conn.send_binary(data).unwrap(),
                _ => unreachable!(),
            }
        }
        conn.close(Instant::now(), CloseCode::NORMAL, "").unwrap();
        let bytes = drain(&mut conn);
        let mut sent = 0;
        let mut piece = 1;
        while sent < bytes.len() {
            piece = (piece * 31 + 7) % 4001;
            let end = (sent + piece.max(1)).min(bytes.len());
            tcp.write_all(&bytes[sent..end]).await.unwrap();
            sent = end;
            if sent.is_multiple_of(5) {
                tokio::time::sleep(Duration::from_micros(200)).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
        // Read the client's close echo, then close the transport first.
        let mut buf = vec![0u8; 1024];
        let mut echo = Vec::new();
        while echo.len() < 6 {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0);
            echo.extend_from_slice(&buf[..n]);
        }
        conn.handle_data(Instant::now(), &echo);
        assert!(matches!(conn.poll_event(), Some(Event::Closed(r)) if r.is_clean()));
        tcp.shutdown().await.unwrap();
    });

    let (mut client, _) = connect(&format!("ws://{addr}/")).await.unwrap();
    let mut received = Vec::new();
    let mut cancelled = 0usize;
    let mut round = 0usize;
    let deadline = Instant::now() + LIMIT;
    loop {
        assert!(Instant::now() < deadline, "timed out");
        round += 1;
        // Each round races a fresh `next()` against something that often
        // wins, dropping the `next()` future, often in the middle of a frame.
        let outcome = if round.is_multiple_of(2) {
            tokio::select! {
                biased;
                () = tokio::task::yield_now() => None,
                message = client.next() => Some(message),
            }
        } else {
            tokio::select! {
                message = client.next() => Some(message),
                () = tokio::time::sleep(Duration::from_micros(50)) => None,
            }
        };
        match outcome {
            None => cancelled += 1,
            Some(Some(message)) => received.push(message.unwrap()),
            Some(None) => break,
        }
    }
    eprintln!("{cancelled} next() futures dropped in {round} rounds");
    assert!(
        cancelled > COUNT,
        "only {cancelled} next() futures were dropped"
    );
    assert_eq!(received.len(), COUNT + 1);
    for (i, message) in received.iter().take(COUNT).enumerate() {
        assert!(*message == numbered(i), "message {i} differs");
    }
    assert_eq!(
        received[COUNT],
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    assert_eq!(client.close_reason(), clean(CloseCode::NORMAL, ""));
    server.await.unwrap();
}

#[tokio::test]
async fn closing_from_the_client_ends_both_streams() {
    let (mut client, mut server) = pair(Config::default()).await;
    let server = tokio::spawn(async move {
        let mut messages = Vec::new();
        while let Some(message) = server.next().await {
            messages.push(message.unwrap());
        }
        (messages, server.close_reason())
    });
    client.send(Message::text("last words")).await.unwrap();
    client
        .send(Message::Close(Some(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "leaving",
        ))))
        .await
        .unwrap();
    assert!(timeout(LIMIT, client.next()).await.unwrap().is_none());
    assert_eq!(client.close_reason(), clean(CloseCode::GOING_AWAY, ""));

    let (messages, reason) = server.await.unwrap();
    assert_eq!(
        messages,
        [
            Message::text("last words"),
            Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "leaving"))),
        ]
    );
    assert_eq!(reason, clean(CloseCode::GOING_AWAY, "leaving"));
}

#[tokio::test]
async fn closing_from_the_server_ends_both_streams() {
    let (mut client, mut server) = pair(Config::default()).await;
    let server = tokio::spawn(async move {
        server.send(Message::text("bye")).await.unwrap();
        // Sink::close sends 1000 and flushes.
        server.close().await.unwrap();
        while let Some(message) = server.next().await {
            message.unwrap();
        }
        server.close_reason()
    });
    assert_eq!(client.next().await.unwrap().unwrap(), Message::text("bye"));
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    assert!(timeout(LIMIT, client.next()).await.unwrap().is_none());
    assert_eq!(client.close_reason(), clean(CloseCode::NORMAL, ""));
    assert_eq!(server.await.unwrap(), clean(CloseCode::NORMAL, ""));
}

#[tokio::test]
async fn a_rejected_handshake_reaches_the_client_with_status_and_body() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        accept_with(tcp, Config::default(), |request| {
            assert_eq!(request.path(), "/private");
            Err(Reject::new(403)
                .header("X-Reason", "test")
                .body("not for you"))
        })
        .await
    });
    let error = connect(&format!("ws://{addr}/private")).await.unwrap_err();
    let Error::Refused(response) = error else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!(response.status, 403);
    assert_eq!(&response.body[..], b"not for you");
    assert_eq!(response.headers.get_str("x-reason"), Some("test"));
    assert!(matches!(server.await.unwrap(), Err(Error::Rejected(403))));
}

#[tokio::test]
async fn accept_with_chooses_a_subprotocol() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        accept_with(tcp, Config::default(), |request| {
            assert_eq!(request.subprotocols(), ["v2", "v1"]);
            Ok(Accept::new().subprotocol("v1").header("X-Server", "weft"))
        })
        .await
        .unwrap()
    });
    let options = ClientOptions::new().subprotocol("v2").subprotocol("v1");
    let (_client, response) = connect_with(&format!("ws://{addr}/"), options)
        .await
        .unwrap();
    assert_eq!(response.subprotocol(), Some("v1"));
    assert_eq!(response.headers().get_str("x-server"), Some("weft"));
    server.await.unwrap();
}

#[tokio::test]
async fn an_invalid_request_is_answered_with_its_status() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        weft_tokio::accept(tcp).await
    });
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    timeout(LIMIT, tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::Handshake(HandshakeError::MissingHeader("Upgrade")))
    ));
}

#[tokio::test]
async fn bytes_sent_with_the_request_reach_the_connection() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = weft_tokio::accept(tcp).await.unwrap();
        ws.next().await.unwrap().unwrap()
    });
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut bytes = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    bytes.extend(client_bytes(|conn| conn.send_text("early").unwrap()));
    tcp.write_all(&bytes).await.unwrap();
    let message = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(message, Message::text("early"));
}

#[tokio::test]
async fn keepalive_ends_a_connection_whose_peer_went_silent() {
    let (listener, addr) = common::listener().await;
    let config =
        Config::default().keepalive(Some(Duration::from_millis(100)), Duration::from_millis(200));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = accept_with(tcp, config, |_| Ok(Accept::new()))
            .await
            .unwrap();
        let start = Instant::now();
        let mut messages = Vec::new();
        while let Some(message) = ws.next().await {
            messages.push(message.unwrap());
        }
        (messages, ws.close_reason(), start.elapsed())
    });
    // The peer completes the handshake, then neither reads nor writes.
    let (mut tcp, mut conn) = raw_client(addr, Config::default()).await;
    let (messages, reason, elapsed) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(messages.is_empty(), "{messages:?}");
    assert_eq!(reason, Some(CloseReason::TimedOut(Timeout::Pong)));
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

    // What the silent peer was sent: a keepalive ping, then a close with
    // 1011, then the end of the stream.
    let mut bytes = Vec::new();
    timeout(LIMIT, tcp.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    conn.handle_data(Instant::now(), &bytes);
    conn.handle_eof(Instant::now());
    assert!(matches!(conn.poll_event(), Some(Event::Ping(_))));
    match conn.poll_event() {
        Some(Event::CloseReceived(frame)) => assert_eq!(frame.code, CloseCode::INTERNAL_ERROR),
        other => panic!("expected the close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_peer_vanishing_mid_message_is_an_abnormal_closure() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = weft_tokio::accept(tcp).await.unwrap();
        let mut messages = Vec::new();
        while let Some(message) = ws.next().await {
            messages.push(message.unwrap());
        }
        (messages, ws.close_reason())
    });
    let (mut tcp, _) = raw_client(addr, Config::default()).await;
    let frame = client_bytes(|conn| conn.send_binary(vec![7u8; 1000]).unwrap());
    tcp.write_all(&frame[..frame.len() / 2]).await.unwrap();
    drop(tcp);
    let (messages, reason) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(messages.is_empty());
    assert_eq!(reason, Some(CloseReason::Abnormal));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_timeout_runs_while_the_reader_waits() {
    let (listener, addr) = common::listener().await;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    // A server that completes the handshake, then ignores everything.
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = weft_tokio::accept(tcp).await.unwrap();
        let _ = done_rx.await;
        drop(ws);
    });
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let (client, _) = connect_with(
        &format!("ws://{addr}/"),
        ClientOptions::new().config(config),
    )
    .await
    .unwrap();
    let (mut sender, mut receiver) = client.split();
    // The reader is blocked on a read with no timer armed when the close
    // starts the close timeout from the other task.
    let reader = tokio::spawn(async move {
        while receiver.next().await.is_some() {}
        receiver.close_reason()
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    sender.send(Message::Close(None)).await.unwrap();
    let reason = timeout(LIMIT, reader).await.unwrap().unwrap();
    assert_eq!(reason, Some(CloseReason::TimedOut(Timeout::Close)));
    assert!(start.elapsed() < Duration::from_secs(5));
    let _ = done_tx.send(());
}

#[tokio::test]
async fn the_handshake_timeout_bounds_both_ends() {
    // A client whose server accepts TCP and never answers.
    let (listener, addr) = common::listener().await;
    let hold = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(tcp);
    });
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(200)));
    let start = Instant::now();
    let error = connect_with(
        &format!("ws://{addr}/"),
        ClientOptions::new().config(config.clone()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            Error::HandshakeTimeout { timeout: Some(t) } if t == Duration::from_millis(200)
        ),
        "{error:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    hold.abort();

    // A server whose client connects and sends nothing: answered with 408.
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        accept_with(tcp, config, |_| Ok(Accept::new())).await
    });
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut response = Vec::new();
    timeout(LIMIT, tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with(b"HTTP/1.1 408 "));
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::HandshakeTimeout { timeout: Some(_) })
    ));
}

#[tokio::test]
async fn sending_waits_while_the_peer_does_not_read() {
    let (listener, addr) = common::listener().await;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    // A server that completes the handshake and then never reads.
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = weft_tokio::accept(tcp).await.unwrap();
        let _ = done_rx.await;
        drop(ws);
    });
    // Without compression, so that the zeros below fill the socket.
    let options = weft_tokio::ClientOptions::new().config(Config::default());
    let (mut client, _) = weft_tokio::connect_with(&format!("ws://{addr}/"), options)
        .await
        .unwrap();
    let message = Message::binary(vec![0u8; 16 * 1024]);
    let mut fed = 0usize;
    while let Ok(result) = timeout(Duration::from_millis(300), client.feed(message.clone())).await {
        result.unwrap();
        fed += 1;
        assert!(fed < 100_000, "sending never waited");
    }
    // What waits in memory is bounded by the high-water mark plus one message.
    let queued = client.buffered_amount();
    assert!(queued > 64 * 1024, "{queued}");
    assert!(queued <= 64 * 1024 + 16 * 1024 + 14, "{queued}");
    assert!(fed * 16 * 1024 > queued);
    let _ = done_tx.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_message_round_trips() {
    let config = Config::default()
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20);
    let (mut client, server) = pair(config).await;
    let server = tokio::spawn(echo(server));
    let payload: Bytes = (0..64usize << 20).map(|i| (i % 253) as u8).collect();
    client.send(Message::Binary(payload.clone())).await.unwrap();
    let echoed = timeout(LIMIT, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Binary(echoed) = echoed else {
        panic!("expected a binary message");
    };
    assert_eq!(echoed.len(), 64 << 20);
    assert!(echoed == payload);
    client.send(Message::Close(None)).await.unwrap();
    while client.next().await.is_some() {}
    assert_eq!(client.close_reason(), clean(CloseCode::NORMAL, ""));
    server.await.unwrap();
}

#[tokio::test]
async fn from_upgraded_streams_talk_over_any_transport() {
    let (a, b) = tokio::io::duplex(4096);
    let mut client = from_upgraded(a, Role::Client, Config::default());
    let server = tokio::spawn(echo(from_upgraded(b, Role::Server, Config::default())));
    assert_eq!(client.role(), Role::Client);
    let big = Message::binary(vec![9u8; 100_000]);
    client.send(Message::text("over a pipe")).await.unwrap();
    client.send(big.clone()).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::text("over a pipe")
    );
    assert_eq!(client.next().await.unwrap().unwrap(), big);
    client.send(Message::Close(None)).await.unwrap();
    while client.next().await.is_some() {}
    assert_eq!(client.close_reason(), clean(CloseCode::NORMAL, ""));
    let server = server.await.unwrap();
    assert_eq!(server.close_reason(), clean(CloseCode::NORMAL, ""));
}

#[tokio::test]
async fn next_event_reports_the_terminal_event() {
    let (mut client, server) = pair(Config::default()).await;
    let server = tokio::spawn(echo(server));
    client.send(Message::Close(None)).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = client.next_event().await {
        events.push(event.unwrap());
    }
    assert_eq!(
        events,
        [Event::Closed(CloseReason::Clean(CloseFrame::new(
            CloseCode::NORMAL,
            ""
        )))]
    );
    server.await.unwrap();
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert!(matches!(
        connect("ftp://example.com/").await,
        Err(Error::Url(_))
    ));
    assert!(matches!(connect("ws://").await, Err(Error::Url(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_from_a_peer_that_never_reads_costs_bounded_memory() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        weft_tokio::accept(tcp).await.unwrap()
    });
    // A peer that floods pings and never reads the pongs.
    let (mut tcp, _) = raw_client(addr, Config::default()).await;
    let (sender, mut receiver) = server.await.unwrap().split();
    let reader = tokio::spawn(async move {
        let mut pings = 0usize;
        while let Some(Ok(Message::Ping(_))) = receiver.next().await {
            pings += 1;
        }
        pings
    });
    let burst = client_bytes(|conn| {
        for _ in 0..1000 {
            conn.ping(vec![b'p'; 125]).unwrap();
        }
    });
    // Far more pongs than the socket buffers hold: the server keeps
    // reading, and once its writes back up it keeps one pong, not all.
    for _ in 0..300 {
        timeout(Duration::from_secs(10), tcp.write_all(&burst))
            .await
            .expect("the server stopped reading")
            .unwrap();
    }
    let queued = sender.buffered_amount();
    assert!(queued <= 64 * 1024 + 1024, "{queued}");
    drop(tcp);
    reader.abort();
}

/// A decision the handshake cannot write (a status that refuses nothing, a
/// subprotocol the client did not offer) reaches the client as a 500, and
/// the server's `accept_with` fails with the reason.
#[tokio::test]
async fn an_answer_that_cannot_be_written_is_a_500() {
    type Decide = fn(&weft_tokio::IncomingRequest) -> Result<Accept, Reject>;
    let decisions: [Decide; 2] = [
        |_| Err(Reject::new(99)),
        |_| Ok(Accept::new().subprotocol("never-offered")),
    ];
    for decide in decisions {
        let (listener, addr) = common::listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            accept_with(tcp, Config::default(), decide).await.err()
        });
        let error = connect(&format!("ws://{addr}/")).await.unwrap_err();
        let Error::Refused(response) = error else {
            panic!("expected a 500, got {error:?}");
        };
        assert_eq!(response.status, 500);
        assert!(matches!(
            server.await.unwrap(),
            Some(Error::Handshake(HandshakeError::InvalidInput(_)))
        ));
    }
}

/// The adapters ping after 20 s of silence by default, and a keepalive
/// ping's pong measures the round trip, which the stream exposes.
#[tokio::test]
async fn keepalive_is_on_by_default_and_measures_the_round_trip() {
    let defaults = weft_tokio::default_config();
    assert_eq!(defaults.keepalive_interval, Some(Duration::from_secs(20)));
    assert_eq!(defaults.pong_timeout, Duration::from_secs(20));

    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = defaults.keepalive(Some(Duration::from_millis(50)), LIMIT);
        let mut ws = accept_with(tcp, config, |_| Ok(Accept::new()))
            .await
            .unwrap();
        assert_eq!(ws.latency(), None);
        // Reading runs the timers: wait for a ping's pong, then close.
        let latency = loop {
            if let Some(latency) = ws.latency() {
                break latency;
            }
            let _ = timeout(Duration::from_millis(20), ws.next()).await;
        };
        ws.close().await.unwrap();
        while let Some(message) = timeout(LIMIT, ws.next()).await.unwrap() {
            message.unwrap();
        }
        latency
    });
    let (mut client, _) = connect(&format!("ws://{addr}/")).await.unwrap();
    let mut pings = 0;
    while let Some(message) = timeout(LIMIT, client.next()).await.unwrap() {
        pings += usize::from(matches!(message.unwrap(), Message::Ping(_)));
    }
    let latency = timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(pings >= 1);
    assert_eq!(latency.smoothed, latency.last, "one round trip measured");
    assert!(latency.last < LIMIT);
}
