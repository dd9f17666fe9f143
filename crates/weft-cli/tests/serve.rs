//! `weft serve` run as a user runs it, with real clients on loopback.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

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
