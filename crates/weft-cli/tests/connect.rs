//! `weft connect` run as a user runs it, against real servers on loopback:
//! its output, and its exit code for each class of failure.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::*;
use weft_test_support::one_shot::{closed_port, respond_once, tls_once};
use weft_test_support::test_cert;

#[test]
fn lines_cross_an_echo_server_byte_exact_and_the_close_is_clean() {
    let server = Server::start(&[]);
    let input = "hello\nnaïve ünïcödé ✓ 𝄞 日本語\n\nlast line\n";
    let output = connect(&[&server.url("/echo")], input.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), input);
}

#[test]
fn binary_lines_go_out_as_hex_and_come_back_as_hex() {
    let server = Server::start(&["--echo"]);
    let output = connect(
        &["--binary", "--hex", &server.url("/")],
        b"00ff10\nDEAD beef\n",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "00ff10\ndeadbeef\n"
    );
    // --raw prints the bytes themselves.
    let output = connect(&["--binary", "--raw", &server.url("/")], b"raw bytes\n");
    assert_eq!(output.stdout, b"raw bytes");
}

#[test]
fn verbose_prints_the_handshake_and_what_was_agreed() {
    let server = Server::start(&[]);
    let output = connect(&["-v", "-H", "X-Trace: 7", &server.url("/v")], b"x\n");
    let err = stderr(&output);
    assert!(err.contains("> GET /v HTTP/1.1"), "{err}");
    assert!(err.contains("> X-Trace: 7"), "{err}");
    assert!(err.contains("< HTTP/1.1 101 Switching Protocols"), "{err}");
    assert!(err.contains("extensions permessage-deflate"), "{err}");
    let output = connect(&["-v", "--no-deflate", &server.url("/v")], b"x\n");
    assert!(
        stderr(&output).contains("extensions none"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn double_verbose_traces_every_frame_from_the_engine() {
    let server = Server::start(&[]);
    let output = connect(&["-vv", &server.url("/")], b"hello\n");
    assert_eq!(output.status.code(), Some(0));
    let err = stderr(&output);
    // Each frame line is the time since start, then the frame.
    let frames: Vec<&str> = err
        .lines()
        .filter_map(|line| line.trim_start().split_once(' '))
        .filter(|(time, _)| time.parse::<f64>().is_ok())
        .map(|(_, frame)| frame)
        .collect();
    for want in [
        r#"> TEXT fin masked 5 B "hello""#,
        r#"< TEXT fin 5 B "hello""#,
        "> CLOSE fin masked 2 B code 1000 normal closure",
        "< CLOSE fin 2 B code 1000 normal closure",
    ] {
        assert!(frames.contains(&want), "{want:?} not in {frames:?}");
    }
}

#[test]
fn a_port_nothing_listens_on_exits_3() {
    let addr = closed_port();
    let output = connect(&[&format!("ws://{addr}/")], b"");
    assert_eq!(output.status.code(), Some(3));
    assert!(stderr(&output).contains(&format!("connection refused by {addr}")));
}

#[test]
fn a_refused_upgrade_exits_5_with_the_status_headers_and_body() {
    let addr = respond_once(
        "HTTP/1.1 403 Forbidden\r\nX-Reason: no token\r\nContent-Length: 7\r\n\r\ndenied\n",
    );
    let output = connect(&[&format!("ws://{addr}/")], b"");
    assert_eq!(output.status.code(), Some(5));
    let err = stderr(&output);
    assert!(err.contains("< HTTP/1.1 403 Forbidden"), "{err}");
    assert!(err.contains("< X-Reason: no token"), "{err}");
    assert!(err.contains("denied"), "{err}");
}

#[test]
fn a_response_that_is_no_websocket_acceptance_exits_6() {
    let addr = respond_once(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
    );
    let output = connect(&[&format!("ws://{addr}/")], b"");
    assert_eq!(output.status.code(), Some(6));
    assert!(stderr(&output).contains("Sec-WebSocket-Accept"));
}

#[test]
fn an_untrusted_certificate_exits_4_and_ca_or_insecure_get_past_it() {
    let cert = test_cert();
    let addr = tls_once(&cert);
    let url = format!("wss://localhost:{}/", addr.port());
    let output = connect(&[&url], b"");
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(stderr(&output).contains("not signed by a trusted authority"));

    // Trusted with --ca, TLS succeeds; the one-shot server then closes, so
    // the WebSocket handshake fails (6), not TLS (4).
    let pem = std::env::temp_dir().join(format!("weft-cli-test-{}.pem", std::process::id()));
    std::fs::write(&pem, &cert.cert_pem).unwrap();
    let addr = tls_once(&cert);
    let url = format!("wss://localhost:{}/", addr.port());
    let output = connect(&["--ca", pem.to_str().unwrap(), &url], b"");
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    std::fs::remove_file(&pem).unwrap();

    let addr = tls_once(&cert);
    let url = format!("wss://localhost:{}/", addr.port());
    let output = connect(&["--insecure", &url], b"");
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(stderr(&output).contains("not verified"));
}

#[test]
fn every_line_reaches_an_echo_server_that_crashes_and_comes_back() {
    let server = Server::start(&[]);
    let addr = server.addr.to_string();
    let url = server.url("/");
    let mut client = Command::new(WEFT)
        .args([
            "connect",
            "--reconnect",
            "--resend-until-echo",
            "--backoff-initial",
            "0.05",
            "--backoff-max",
            "0.2",
            &url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    let lines: Vec<String> = (0..60).map(|i| format!("line {i}")).collect();
    for line in &lines[..20] {
        writeln!(stdin, "{line}").unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    // The server dies (SIGKILL: no close frame) and comes back on its port.
    drop(server);
    for line in &lines[20..40] {
        writeln!(stdin, "{line}").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let _back = Server::start_on(&addr, &[]);
    for line in &lines[40..] {
        writeln!(stdin, "{line}").unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(stdin);
    assert_eq!(wait(&mut client, Duration::from_secs(30)), 0);
    let mut out = String::new();
    client
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    client
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let echoed: std::collections::HashSet<&str> = out.lines().collect();
    for line in &lines {
        assert!(
            echoed.contains(line.as_str()),
            "{line} never echoed; stderr:\n{err}"
        );
    }
    assert!(err.contains("reconnecting in"), "{err}");
    assert!(err.matches("weft: connected").count() >= 2, "{err}");
}

/// The JSON objects `weft connect --jsonl` printed, one a line.
fn events(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

#[test]
fn jsonl_reports_every_event_and_frame_as_one_object_a_line() {
    let server = Server::start(&[]);
    let output = connect(&["--jsonl", "-vv", &server.url("/")], "ünï\n".as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&output);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            let kind = e["event"].as_str().unwrap();
            let detail = match kind {
                "state" => e["state"].as_str().unwrap(),
                "frame" => e["direction"].as_str().unwrap(),
                _ => e["type"].as_str().unwrap_or(""),
            };
            (kind, detail)
        })
        .collect();
    // Our close goes out before the echo of the line comes back, or after.
    let sent = kinds.iter().filter(|k| **k == ("frame", "sent")).count();
    let received = kinds
        .iter()
        .filter(|k| **k == ("frame", "received"))
        .count();
    assert_eq!((sent, received), (2, 2), "{kinds:?}");
    assert_eq!(kinds[0], ("state", "connecting"));
    assert_eq!(kinds[1], ("state", "open"));
    assert!(kinds.contains(&("message", "text")), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&("state", "closed")));

    let message = events.iter().find(|e| e["event"] == "message").unwrap();
    assert_eq!(message["data"], "ünï");
    let open = &events[1];
    assert_eq!(open["status"], 101);
    assert_eq!(open["extensions"][0], "permessage-deflate");
    let closed = events.last().unwrap();
    assert_eq!(closed["code"], 1000);
    assert_eq!(closed["clean"], true);
    assert_eq!(closed["exit"], 0);
    let close_frame = events
        .iter()
        .find(|e| e["event"] == "frame" && e["direction"] == "received" && e["opcode"] == "close")
        .unwrap();
    assert_eq!(close_frame["close_code"], 1000);
    assert_eq!(close_frame["fin"], true);
    assert_eq!(close_frame["masked"], false);
    assert_eq!(close_frame["payload_len"], 2);
    // Every object has its time, and times do not go back.
    let times: Vec<f64> = events.iter().map(|e| e["t"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn jsonl_reports_a_failure_with_its_class_and_exit_code() {
    let response = "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Why: origin\r\n\r\nnot ok";
    let addr = respond_once(response.as_bytes().to_vec());
    let output = connect(&["--jsonl", &format!("ws://{addr}/")], b"");
    assert_eq!(output.status.code(), Some(5));
    let events = events(&output);
    let error = events.last().unwrap();
    assert_eq!(error["event"], "error");
    assert_eq!(error["class"], "refused");
    assert_eq!(error["exit"], 5);
    assert_eq!(error["status"], 403);
    assert_eq!(error["body"], "not ok");
    assert!(error["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "X-Why" && h[1] == "origin"));
}

#[test]
fn a_line_that_cannot_be_sent_is_reported_the_rest_go_and_the_exit_is_1() {
    let server = Server::start(&[]);
    // Line 2 is not UTF-8: not text, so not sent; lines 1 and 3 are.
    let output = connect(&[&server.url("/")], b"first\na\xffb\nthird\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(output.stdout, b"first\nthird\n");
    assert!(
        stderr(&output).contains("line 2 not sent: not UTF-8"),
        "{}",
        stderr(&output)
    );
    // As binary, the same bytes go as they are.
    let output = connect(&["--binary", "--raw", &server.url("/")], b"a\xffb\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"a\xffb");
    // A line that is not hex, with --hex.
    let output = connect(&["--binary", "--hex", &server.url("/")], b"00ff\nzz\n01\n");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(output.stdout, b"00ff\n01\n");
    assert!(
        stderr(&output).contains("line 2 not sent"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn keepalive_pongs_are_shown_only_with_verbose() {
    let server = Server::start(&[]);
    for (flags, shown) in [(&[][..], false), (&["-v"][..], true)] {
        let mut args = vec!["--ping-interval", "0.1"];
        args.extend_from_slice(flags);
        let url = server.url("/");
        args.push(&url);
        let (mut child, stdin) = connect_and_hold(&args);
        std::thread::sleep(Duration::from_millis(500));
        drop(stdin);
        assert_eq!(wait(&mut child, Duration::from_secs(10)), 0);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(err.contains("< pong"), shown, "{flags:?}: {err}");
    }
}

#[test]
fn more_lines_than_the_reconnecting_queue_holds_wait_for_room_and_all_go() {
    let server = Server::start(&[]);
    // The queue holds 1024 messages; with --resend-until-echo each stays
    // in it until its echo comes back.
    let input: String = (0..3000).map(|i| format!("line {i}\n")).collect();
    for flags in [
        &["--reconnect"][..],
        &["--reconnect", "--resend-until-echo"][..],
    ] {
        let mut args = flags.to_vec();
        let url = server.url("/");
        args.push(&url);
        let output = connect(&args, input.as_bytes());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{flags:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            input,
            "{flags:?}"
        );
    }
}
