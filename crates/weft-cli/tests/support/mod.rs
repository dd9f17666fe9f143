//! What the tests of the `weft` binary share: the binary run as a user
//! runs it, `weft serve` on a free port, `weft connect` with its stdin.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use weft_test_support::cert::TestCert;

pub const WEFT: &str = env!("CARGO_BIN_EXE_weft");

/// `weft serve` on a free port, running until dropped (or interrupted).
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// ws or wss.
    pub scheme: String,
}

impl Server {
    pub fn start(flags: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", flags)
    }

    pub fn start_on(addr: &str, flags: &[&str]) -> Server {
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
        let (scheme, addr) = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|url| url.split_once("://"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server {
            scheme: scheme.to_owned(),
            addr: addr.parse().unwrap(),
            child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Sends the signal `name` (INT, TERM).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the server is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Ctrl-C, then the exit status and what it wrote to stderr.
    pub fn interrupt(self) -> (i32, String) {
        self.signal("INT");
        self.finish()
    }

    /// The exit status (within 20 s) and what it wrote to stderr.
    pub fn finish(mut self) -> (i32, String) {
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
pub fn wait(child: &mut Child, limit: Duration) -> i32 {
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
pub fn connect(args: &[&str], input: &[u8]) -> Output {
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
pub fn connect_and_hold(args: &[&str]) -> (Child, ChildStdin) {
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

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A certificate and its key written to files, for `--cert`, `--key` and
/// `--ca`; the files go when this is dropped.
pub struct TlsFiles {
    dir: PathBuf,
    /// The certificate's file.
    pub cert: String,
    /// The key's file.
    pub key: String,
}

impl TlsFiles {
    /// Writes `cert` under a directory of the temporary one named for
    /// `name` and this process.
    pub fn write(cert: &TestCert, name: &str) -> TlsFiles {
        let dir = std::env::temp_dir().join(format!("weft-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_file, &cert.cert_pem).unwrap();
        std::fs::write(&key_file, &cert.key_pem).unwrap();
        TlsFiles {
            cert: cert_file.to_str().unwrap().to_owned(),
            key: key_file.to_str().unwrap().to_owned(),
            dir,
        }
    }

    /// `weft serve --cert --key` with these files.
    pub fn serve(&self) -> Server {
        Server::start(&["--cert", &self.cert, "--key", &self.key])
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
