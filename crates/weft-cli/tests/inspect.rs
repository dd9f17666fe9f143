//! `weft inspect` run as a user runs it: every step against a real
//! server, and the step a failure is reported at, with its exit code.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use weft_test_support::cert::expired_cert;
use weft_test_support::one_shot::{closed_port, respond_once};
use weft_test_support::test_cert;

use support::*;

fn inspect(args: &[&str]) -> Output {
    Command::new(WEFT)
        .arg("inspect")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The step names at the start of the lines, in order.
fn steps(output: &Output) -> Vec<String> {
    stdout(output)
        .lines()
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_step_of_a_healthy_server_is_reported_in_order() {
    let server = Server::start(&["--echo"]);
    let url = format!("ws://localhost:{}/path?q=1", server.addr.port());
    let output = inspect(&["--subprotocol", "chat", &url]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        steps(&output),
        ["resolve", "connect", "upgrade", "ping", "close", "ok"]
    );
    let out = stdout(&output);
    assert!(out.contains("localhost -> "), "{out}");
    assert!(out.contains("/path?q=1 101 Switching Protocols"), "{out}");
    assert!(out.contains("< Sec-WebSocket-Accept: "), "{out}");
    assert!(out.contains("extensions permessage-deflate"), "{out}");
    assert!(
        out.contains("the server answered 1000 normal closure"),
        "{out}"
    );
}

#[test]
fn json_gives_one_object_with_every_step() {
    let server = Server::start(&["--no-deflate"]);
    let output = inspect(&["--json", &server.url("/")]);
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["resolve", "connect", "upgrade", "ping", "close"]);
    assert_eq!(report["steps"][2]["extensions"], serde_json::json!([]));
    assert_eq!(report["steps"][4]["code"], 1000);
    assert!(report["steps"][3]["ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn wss_shows_the_tls_session_and_the_certificate_chain() {
    let cert = test_cert();
    let files = TlsFiles::write(&cert, "inspect");
    let server = files.serve();
    let url = format!("wss://localhost:{}/", server.addr.port());
    let output = inspect(&["--ca", &files.cert, &url]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        steps(&output),
        ["resolve", "connect", "tls", "upgrade", "ping", "close", "ok"]
    );
    let out = stdout(&output);
    assert!(out.contains("TLS 1.3, TLS13_"), "{out}");
    assert!(out.contains("ALPN http/1.1"), "{out}");
    assert!(
        out.contains("certificate 0: ") && out.contains("[localhost]"),
        "{out}"
    );
    assert!(out.contains("expires in "), "{out}");

    // Not trusted: the failure is at the TLS step, with the chain shown.
    let output = inspect(&[&url]);
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    let out = stdout(&output);
    assert!(out.contains("FAILED at tls: "), "{out}");
    assert!(out.contains("certificate 0: "), "{out}");
}

#[test]
fn an_expired_certificate_is_shown_as_expired() {
    let cert = expired_cert();
    let files = TlsFiles::write(&cert, "inspect-expired");
    let server = files.serve();
    let url = format!("wss://localhost:{}/", server.addr.port());
    let output = inspect(&["--ca", &files.cert, &url]);
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    let out = stdout(&output);
    assert!(out.contains("FAILED at tls: "), "{out}");
    assert!(out.contains("expired"), "{out}");
    assert!(out.contains("EXPIRED"), "{out}");
}

#[test]
fn failures_name_their_step_and_exit_with_their_class() {
    let addr = closed_port();
    let output = inspect(&[&format!("ws://{addr}/")]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stdout(&output).contains("FAILED at connect: "),
        "{}",
        stdout(&output)
    );

    let addr = respond_once("HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope");
    let output = inspect(&["--json", &format!("ws://{addr}/")]);
    assert_eq!(output.status.code(), Some(5));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["failed_step"], "upgrade");
    assert_eq!(report["class"], "refused");
    assert!(
        report["error"].as_str().unwrap().contains("403"),
        "{report}"
    );

    let output = inspect(&["ws://no-such-host.invalid/"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stdout(&output).contains("FAILED at resolve: "),
        "{}",
        stdout(&output)
    );
}
