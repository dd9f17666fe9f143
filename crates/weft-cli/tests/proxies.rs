//! `weft connect` through real proxies: `--proxy`, the environment's
//! proxy variables, `no_proxy`, `--no-proxy`, the loopback rule, and what
//! a refusal looks like. tinyproxy and microsocks are Debian's packages:
//! `tests/proxies/run.sh` installs them and runs these tests, which a
//! plain `cargo test` skips.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use support::*;
use weft_test_support::real_proxy::{non_loopback_ip, RealProxy};

/// Every proxy variable `weft` reads, so that the tests' own environment
/// does not leak in.
const VARIABLES: [&str; 12] = [
    "ws_proxy",
    "WS_PROXY",
    "wss_proxy",
    "WSS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// `weft connect ARGS` with exactly the proxy variables `env`, `input` on
/// stdin.
fn connect_env(args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
    let mut command = Command::new(WEFT);
    command.arg("connect").args(args);
    for name in VARIABLES {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Lines of `log` containing `needle`.
fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|line| line.contains(needle)).count()
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn the_proxy_flag_carries_the_session() {
    let server = Server::start(&[]);
    let microsocks = RealProxy::microsocks(Some(("bob", "pw")));
    let proxy = microsocks.url("socks5h", "bob:pw@");
    let output = connect_env(
        &["-v", "--proxy", &proxy, &server.url("/")],
        &[],
        b"through socks\n",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"through socks\n");
    let err = stderr(&output);
    // -v names the proxy, its password hidden.
    assert!(
        err.contains(&format!(
            "weft: through the proxy socks5h://bob:***@{}",
            microsocks.addr
        )),
        "{err}"
    );
    assert!(!err.contains("bob:pw"), "{err}");
    microsocks.expect_in_log(&format!("connected to {}", server.addr), 1);
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn a_refusal_shows_the_proxy_s_status_and_headers_and_exits_5() {
    let server = Server::start(&[]);
    let tinyproxy = RealProxy::tinyproxy("BasicAuth alice s3cret\n");
    let output = connect_env(
        &["--proxy", &tinyproxy.url("http", ""), &server.url("/")],
        &[],
        b"",
    );
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("the proxy refused the CONNECT with 407"),
        "{err}"
    );
    assert!(
        err.contains("< HTTP/1.1 407 Proxy Authentication Required"),
        "{err}"
    );
    assert!(
        err.contains("< Proxy-Authenticate: Basic realm=\"Tinyproxy\""),
        "{err}"
    );
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn an_unusable_proxy_url_is_a_usage_error() {
    let output = connect_env(
        &["--proxy", "https://proxy:3128", "ws://127.0.0.1:9/"],
        &[],
        b"",
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("HTTPS proxies"),
        "{}",
        stderr(&output)
    );
    // From the environment, the variable is named.
    let output = connect_env(&["ws://192.0.2.7:9/"], &[("ALL_PROXY", "ftp://x")], b"");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("$ALL_PROXY"),
        "{}",
        stderr(&output)
    );
}

#[test]
#[ignore = "needs tinyproxy and microsocks (tests/proxies/run.sh)"]
fn the_environment_s_proxy_is_used_except_for_loopback_no_proxy_and_no_proxy_flag() {
    let tinyproxy = RealProxy::tinyproxy("");
    let proxy = tinyproxy.url("http", "");
    // Loopback never takes the environment's proxy.
    let local = Server::start(&[]);
    let output = connect_env(&[&local.url("/")], &[("ws_proxy", &proxy)], b"direct\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(count(&tinyproxy.log(), "Request (file descriptor"), 0);

    let Some(ip) = non_loopback_ip() else {
        eprintln!("no address but loopback: the rest of this test needs one");
        return;
    };
    let server = Server::start_on(&format!("{ip}:0"), &[]);
    let url = server.url("/");
    let connect_line = format!("CONNECT {} HTTP/1.1", server.addr);
    for (name, value) in [
        ("ws_proxy", proxy.as_str()),
        ("HTTP_PROXY", &proxy),
        ("all_proxy", &proxy),
    ] {
        let before = count(&tinyproxy.log(), &connect_line);
        let output = connect_env(&[&url], &[(name, value)], b"via env\n");
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        assert_eq!(output.stdout, b"via env\n");
        tinyproxy.expect_in_log(&connect_line, before + 1);
    }
    // ws:// does not read https_proxy.
    let before = count(&tinyproxy.log(), &connect_line);
    let output = connect_env(&[&url], &[("https_proxy", "http://127.0.0.1:9")], b"x\n");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // no_proxy and --no-proxy go around it.
    let ip_text = ip.to_string();
    for (args, env) in [
        (
            vec![url.as_str()],
            vec![("ws_proxy", proxy.as_str()), ("no_proxy", ip_text.as_str())],
        ),
        (
            vec![url.as_str()],
            vec![("ws_proxy", proxy.as_str()), ("NO_PROXY", "*")],
        ),
        (
            vec!["--no-proxy", url.as_str()],
            vec![("ws_proxy", proxy.as_str())],
        ),
    ] {
        let output = connect_env(&args, &env, b"around\n");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} {env:?}: {}",
            stderr(&output)
        );
        assert_eq!(output.stdout, b"around\n");
    }
    assert_eq!(count(&tinyproxy.log(), &connect_line), before);
}
