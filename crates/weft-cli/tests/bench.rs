//! `weft bench` run as a user runs it, against `weft serve --echo` and a
//! raw TCP echo on loopback: what it counts, what it reports, and how it
//! fails.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use serde_json::Value;

use support::*;

fn bench(args: &[&str]) -> Output {
    Command::new(WEFT).arg("bench").args(args).output().unwrap()
}

fn report(output: &Output) -> Value {
    let out = String::from_utf8_lossy(&output.stdout);
    let line = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output: {output:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn a_counted_run_echoes_every_message_and_reports_the_percentiles() {
    let server = Server::start(&["--echo"]);
    let output = bench(&[
        &server.url("/"),
        "--conns",
        "3",
        "--size",
        "100",
        "--messages",
        "500",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = report(&output);
    assert_eq!(report["messages"], 500);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["conns"], 3);
    assert_eq!(report["kind"], "binary");
    let q = |name: &str| report[name].as_f64().unwrap();
    assert!(q("p50_us") > 0.0);
    assert!(q("p50_us") <= q("p90_us") && q("p90_us") <= q("p99_us"));
    assert!(q("p99_us") <= q("p999_us") && q("p999_us") <= q("max_us"));
    assert!(q("msgs_per_sec") > 0.0);
}

#[test]
fn text_at_a_target_rate_and_the_summary_for_people() {
    let server = Server::start(&[]);
    let output = bench(&[
        &server.url("/"),
        "--text",
        "--conns",
        "2",
        "--rate",
        "400",
        "--duration",
        "0.5",
        "--warmup",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("2 connections, 16 B text"), "{out}");
    assert!(out.contains("400 messages/s"), "{out}");
    assert!(out.contains("round trip  p50 "), "{out}");
    assert!(out.contains("errors      0"), "{out}");
}

#[test]
fn a_raw_tcp_echo_is_loaded_without_framing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 || stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let output = bench(&[
        &format!("tcp://{addr}"),
        "--messages",
        "200",
        "--size",
        "1000",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = report(&output);
    assert_eq!(
        (&report["kind"], &report["messages"]),
        (&"raw".into(), &200.into())
    );
}

#[test]
fn idle_connections_are_opened_held_and_closed_cleanly() {
    let server = Server::start(&[]);
    let output = bench(&[
        &server.url("/"),
        "--idle",
        "--conns",
        "20",
        "--duration",
        "0.2",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.starts_with("idle open=20 errors=0\n"), "{out}");
}

#[test]
fn connections_that_fail_are_errors_and_exit_1() {
    // The chat serves its WebSocket at /ws only: / is refused with 404.
    let server = Server::start(&["--chat"]);
    let output = bench(&[
        &server.url("/"),
        "--conns",
        "2",
        "--messages",
        "10",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(report(&output)["errors"], 2);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("404"),
        "{output:?}"
    );
    let output = bench(&["wss://localhost/"]);
    assert_eq!(output.status.code(), Some(2));
}
