//! `weft serve` run as a user runs it, with real clients on loopback.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use weft_test_support::test_cert;
use weft_tokio::{CloseCode, MaybeTlsStream, Message, WebSocketStream};

use support::*;

type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client of `url`, as a library user has one.
async fn client(url: &str) -> Client {
    weft_tokio::connect(url).await.unwrap().0
}

/// The next data message, within 10 s.
async fn next_data(ws: &mut Client) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .unwrap();
        if message.is_data() {
            return message;
        }
    }
}

/// The next chat event, as JSON.
async fn next_event(ws: &mut Client) -> Value {
    match next_data(ws).await {
        Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("{other:?}"),
    }
}

async fn say(ws: &mut Client, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// A plain HTTP request, and the whole answer.
fn http(server: &Server, request: &str) -> String {
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    answer
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_origin_not_allowed_is_refused_with_403() {
    let server = Server::start(&["--allowed-origin", "https://good.example"]);
    let output = connect(&["--origin", "https://evil.example", &server.url("/")], b"");
    assert_eq!(output.status.code(), Some(5));
    assert!(stderr(&output).contains("403"));
    let output = connect(
        &["--origin", "https://good.example", &server.url("/")],
        b"ok\n",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"ok\n");
}

/// By default a browser's Origin must name this server's own host and
/// port (the request's Host); `--any-origin` lifts the check.
#[test]
fn by_default_only_the_servers_own_origin_may_connect() {
    let server = Server::start(&[]);
    let url = server.url("/");
    let own = format!(
        "http://{}",
        url.trim_start_matches("ws://").trim_end_matches('/')
    );
    let output = connect(&["--origin", &own, &url], b"ok\n");
    assert_eq!(output.status.code(), Some(0), "{own}: {}", stderr(&output));
    assert_eq!(output.stdout, b"ok\n");
    let output = connect(&["--origin", "https://evil.example", &url], b"");
    assert_eq!(output.status.code(), Some(5));
    assert!(stderr(&output).contains("403"), "{}", stderr(&output));
    // Not a browser: no Origin, no check.
    let output = connect(&[&url], b"ok\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let open = Server::start(&["--any-origin"]);
    let output = connect(
        &["--origin", "https://evil.example", &open.url("/")],
        b"ok\n",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn connections_over_the_limit_are_refused_with_503() {
    let server = Server::start(&["--max-connections", "1"]);
    let (mut first, stdin) = connect_and_hold(&[&server.url("/")]);
    let output = connect(&[&server.url("/")], b"");
    assert_eq!(output.status.code(), Some(5));
    assert!(stderr(&output).contains("503"), "{}", stderr(&output));
    drop(stdin);
    assert_eq!(wait(&mut first, Duration::from_secs(10)), 0);
}

#[test]
fn ctrl_c_closes_every_connection_with_1001_and_exits_0() {
    let server = Server::start(&[]);
    let (mut client, _stdin) = connect_and_hold(&["-v", &server.url("/")]);
    let (status, err) = server.interrupt();
    assert_eq!(status, 0, "{err}");
    assert!(err.contains("closing 1 connection with 1001"), "{err}");
    // The client sees a clean close with 1001, going away: exit 0.
    assert_eq!(wait(&mut client, Duration::from_secs(10)), 0);
    let mut out = String::new();
    client
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("1001"), "{out}");
}

#[test]
fn broadcast_sends_each_message_to_every_other_client() {
    let server = Server::start(&["--broadcast"]);
    runtime().block_on(async {
        let mut a = client(&server.url("/")).await;
        let mut b = client(&server.url("/")).await;
        let mut c = client(&server.url("/")).await;
        // Joined: each is heard by the others.
        a.send(Message::text("from a ✓")).await.unwrap();
        assert_eq!(next_data(&mut b).await, Message::text("from a ✓"));
        assert_eq!(next_data(&mut c).await, Message::text("from a ✓"));
        b.send(Message::binary(vec![0, 255])).await.unwrap();
        // a's next message is b's: its own was not sent back to it.
        assert_eq!(next_data(&mut a).await, Message::binary(vec![0, 255]));
        assert_eq!(next_data(&mut c).await, Message::binary(vec![0, 255]));
    });
}

#[test]
fn a_broadcast_client_that_cannot_keep_up_is_closed_with_1013_and_the_others_get_everything() {
    let server = Server::start(&["--broadcast", "--send-queue", "8", "--no-deflate"]);
    runtime().block_on(async {
        let mut sender = client(&server.url("/")).await;
        let mut fast = client(&server.url("/")).await;
        // Reads nothing until the end: its socket buffers fill, then its
        // queue of 8.
        let mut slow = client(&server.url("/")).await;
        let big = vec![7u8; 64 * 1024];
        let count = 400;
        // In step: the fast one has each message before the next is sent,
        // so that it keeps up whatever the machine's speed.
        for i in 0..count {
            let mut data = big.clone();
            data[0] = i as u8;
            sender.send(Message::binary(data)).await.unwrap();
            match next_data(&mut fast).await {
                Message::Binary(data) => assert_eq!(data[0], i as u8),
                other => panic!("{other:?}"),
            }
        }
        // The slow one gets what was queued for it, then the close.
        let mut received = 0;
        loop {
            match slow.next().await {
                Some(Ok(Message::Binary(_))) => received += 1,
                Some(Ok(Message::Close(frame))) => {
                    let frame = frame.unwrap();
                    assert_eq!(frame.code, CloseCode::TRY_AGAIN_LATER);
                    assert!(frame.reason.contains("too slow"), "{}", frame.reason);
                    break;
                }
                other => panic!("{other:?} after {received} messages"),
            }
        }
        assert!(received < count, "{received}");
    });
}

#[test]
fn chat_serves_its_page_and_plain_http_gets_ordinary_answers() {
    let server = Server::start(&["--chat"]);
    let page = http(&server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.contains("Content-Type: text/html; charset=utf-8"),
        "{page}"
    );
    assert!(page.contains("chat.js"), "{page}");
    let script = http(&server, "GET /chat.js?v=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(script.contains("text/javascript"), "{script}");
    assert!(script.contains("WebSocket"), "{script}");
    let head = http(&server, "HEAD /chat.css HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let missing = http(&server, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
    let post = http(
        &server,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(
        post.starts_with("HTTP/1.1 405 ") && post.contains("Allow: GET, HEAD"),
        "{post}"
    );
    // A body the server does not want is read and dropped, so that the
    // answer is not lost to a reset.
    let body = "x".repeat(200_000);
    let post = http(
        &server,
        &format!("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n{body}"),
    );
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    let plain = http(&server, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        plain.starts_with("HTTP/1.1 426 ") && plain.contains("Upgrade: websocket"),
        "{plain}"
    );
    // A WebSocket anywhere but /ws: 404, as weft connect reports it.
    let output = connect(&[&server.url("/elsewhere")], b"");
    assert_eq!(output.status.code(), Some(5));
    assert!(stderr(&output).contains("404"), "{}", stderr(&output));
}

#[test]
fn chat_members_hear_each_other_and_newcomers_get_the_history() {
    let server = Server::start(&["--chat"]);
    runtime().block_on(async {
        let mut ada = client(&server.url("/ws")).await;
        // Before joining, only a join is understood.
        say(&mut ada, serde_json::json!({"type": "say", "text": "hi"})).await;
        assert_eq!(next_event(&mut ada).await["type"], "error");
        say(&mut ada, serde_json::json!({"type": "join", "nick": "ada"})).await;
        let welcome = next_event(&mut ada).await;
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["history"], serde_json::json!([]));
        say(
            &mut ada,
            serde_json::json!({"type": "say", "text": "héllo ✓ 🚀"}),
        )
        .await;
        let echo = next_event(&mut ada).await;
        assert_eq!(
            (&echo["nick"], &echo["text"]),
            (&"ada".into(), &"héllo ✓ 🚀".into())
        );

        let mut bob = client(&server.url("/ws")).await;
        say(&mut bob, serde_json::json!({"type": "join", "nick": "bob"})).await;
        let welcome = next_event(&mut bob).await;
        // The history: ada's joining, then what she said.
        assert_eq!(welcome["history"][0]["type"], "join");
        assert_eq!(welcome["history"][1]["text"], "héllo ✓ 🚀");
        assert_eq!(welcome["history"][1]["offset"], echo["offset"]);
        assert_eq!(welcome["recovered"], serde_json::Value::Null);
        assert_eq!(welcome["online"], serde_json::json!(["ada", "bob"]));
        let joined = next_event(&mut ada).await;
        assert_eq!(
            (&joined["type"], &joined["nick"]),
            (&"join".into(), &"bob".into())
        );
        say(
            &mut bob,
            serde_json::json!({"type": "say", "text": "hi ada"}),
        )
        .await;
        assert_eq!(next_event(&mut ada).await["text"], "hi ada");
        let seen = next_event(&mut bob).await;
        assert_eq!(seen["text"], "hi ada");
        bob.close().await.unwrap();
        let left = next_event(&mut ada).await;
        assert_eq!(
            (&left["type"], &left["nick"]),
            (&"leave".into(), &"bob".into())
        );
        // bob comes back after the last item he saw: he gets exactly what
        // he missed, in order.
        for text in ["one", "two"] {
            say(&mut ada, serde_json::json!({"type": "say", "text": text})).await;
            assert_eq!(next_event(&mut ada).await["text"], text);
        }
        let mut bob = client(&server.url("/ws")).await;
        let since = serde_json::json!({"epoch": welcome["epoch"], "offset": seen["offset"]});
        say(
            &mut bob,
            serde_json::json!({"type": "join", "nick": "bob", "since": since}),
        )
        .await;
        let back = next_event(&mut bob).await;
        assert_eq!(back["recovered"], true, "{back}");
        let missed: Vec<(&str, &str)> = back["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                (
                    item["type"].as_str().unwrap(),
                    item["text"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            missed,
            [("leave", ""), ("message", "one"), ("message", "two")]
        );
        // A position of another epoch (as after a restart): not recovered.
        let mut carol = client(&server.url("/ws")).await;
        let since = serde_json::json!({"epoch": "0123456789abcdef", "offset": seen["offset"]});
        say(
            &mut carol,
            serde_json::json!({"type": "join", "nick": "carol", "since": since}),
        )
        .await;
        let welcome = next_event(&mut carol).await;
        assert_eq!(welcome["recovered"], false);
        assert_eq!(
            welcome["history"].as_array().unwrap().last().unwrap()["type"],
            "join"
        );
    });
}

#[test]
fn static_files_are_served_beside_the_websocket_and_nothing_outside_their_directory() {
    let dir = std::env::temp_dir().join(format!("weft-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("public")).unwrap();
    std::fs::write(dir.join("public/hello.txt"), "héllo\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    let public = dir.join("public");
    let server = Server::start(&["--static", public.to_str().unwrap()]);
    let file = http(&server, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(file.starts_with("HTTP/1.1 200 OK\r\n"), "{file}");
    assert!(file.contains("Content-Type: text/plain"), "{file}");
    assert!(file.ends_with("\r\n\r\nhéllo\n"), "{file}");
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"] {
        let answer = http(&server, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(answer.starts_with("HTTP/1.1 404 "), "{path}: {answer}");
        assert!(!answer.contains("secret"), "{path}: {answer}");
    }
    // The WebSocket still echoes on the same port.
    let output = connect(&[&server.url("/")], b"echo me\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"echo me\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cert_and_key_serve_wss() {
    let cert = test_cert();
    let files = TlsFiles::write(&cert, "wss");
    let server = files.serve();
    assert_eq!(server.scheme, "wss");
    let url = format!("wss://localhost:{}/", server.addr.port());
    let output = connect(&["--ca", &files.cert, &url], "sécurité\n".as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, "sécurité\n".as_bytes());
    // Without trusting the certificate: a TLS failure.
    let output = connect(&[&url], b"");
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
}

#[test]
fn sigterm_closes_every_connection_with_1001_too() {
    let server = Server::start(&[]);
    let (mut client, _stdin) = connect_and_hold(&["-v", &server.url("/")]);
    server.signal("TERM");
    let (status, err) = server.finish();
    assert_eq!(status, 0, "{err}");
    assert_eq!(wait(&mut client, Duration::from_secs(10)), 0);
}

#[test]
fn a_client_that_never_reads_cannot_hold_the_server_after_a_second_ctrl_c() {
    let mut server = Server::start(&[]);
    // A client that sends without end and reads nothing: the echo of its
    // messages fills the socket buffers, and the server's send waits.
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let writer = tcp.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut writer = writer;
        // Binary frames of 64 KiB, masked with a zero key.
        let mut frame = vec![0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        frame.extend_from_slice(&[7u8; 65536]);
        while writer.write_all(&frame).is_ok() {}
    });
    std::thread::sleep(Duration::from_millis(1500));
    server.signal("INT");
    // Its connection is stuck in a send: the server waits for it...
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.is_running());
    // ...until a second Ctrl-C, which drops it.
    server.signal("INT");
    let (status, err) = server.finish();
    assert_eq!(status, 0, "{err}");
    assert!(
        err.contains("interrupted again; dropping 1 connection"),
        "{err}"
    );
    drop(tcp);
}
