//! The `weft` binary run as a user runs it, against real servers on
//! loopback: its output, and its exit code for each class of failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use weft_test_support::one_shot::{closed_port, respond_once, tls_once};
use weft_test_support::test_cert;

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

/// `weft serve` on a free port, running until dropped (or interrupted).
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(flags: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", flags)
    }

    fn start_on(addr: &str, flags: &[&str]) -> Server {
        let mut child = Command::new(WEFT)
            .args(["serve", addr])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ws://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Ctrl-C, then the exit status and what it wrote to stderr.
    fn interrupt(mut self) -> (i32, String) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = wait(&mut self.child, Duration::from_secs(20));
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` to exit within `limit`; its exit code.
fn wait(child: &mut Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited, not killed");
        }
        assert!(Instant::now() < deadline, "weft did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `weft connect ARGS` with `input` on stdin, to its end.
fn connect(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(WEFT)
        .arg("connect")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `weft connect URL` with stdin left open: a client that stays connected.
fn connect_and_hold(args: &[&str]) -> (Child, ChildStdin) {
    let mut child = Command::new(WEFT)
        .arg("connect")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // An echo proves the connection is up.
    stdin.write_all(b"up?\n").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "up?\n");
    (child, stdin)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

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
        "> TEXT fin masked 5 B",
        "< TEXT fin 5 B",
        "> CLOSE fin masked 2 B",
        "< CLOSE fin 2 B",
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
    assert!(err.contains("closing 1 connections with 1001"), "{err}");
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
