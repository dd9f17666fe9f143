//! Real proxies for the end-to-end proxy tests: tinyproxy (HTTP
//! `CONNECT`) and microsocks (SOCKS5), Debian's packages, each started on
//! a free loopback port with its own configuration in a directory of its
//! own, and stopped (by its process id) when dropped. Their logs say which
//! connections they made, so that a test can check that the proxy, and
//! not a direct connection, carried its traffic.
//!
//! `tests/proxies/run.sh` installs both; tests using them are `#[ignore]`d
//! in a plain `cargo test`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A proxy process and the files it was given.
pub struct RealProxy {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
    /// Where it listens (loopback).
    pub addr: SocketAddr,
}

impl RealProxy {
    /// tinyproxy on a free loopback port, with `extra` appended to its
    /// configuration (`BasicAuth user password`, `ConnectPort 1`, ...).
    /// It logs every request, and refusals, at level `Info`.
    pub fn tinyproxy(extra: &str) -> RealProxy {
        let dir = scratch_dir("tinyproxy");
        let port = free_port();
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Info\nMaxClients 32\n{extra}\n",
                log.display()
            ),
        )
        .expect("tinyproxy.conf");
        // -d: stay in the foreground, so that the process is ours to stop.
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy (tests/proxies/run.sh installs it)");
        RealProxy::ready(child, dir, log, port)
    }

    /// microsocks on a free loopback port, with a user name and password
    /// required if `credentials` are given. It logs each connection it
    /// makes (`client[N] 127.0.0.1: connected to HOST:PORT`) to stderr,
    /// kept in a file.
    pub fn microsocks(credentials: Option<(&str, &str)>) -> RealProxy {
        let dir = scratch_dir("microsocks");
        let port = free_port();
        let log = dir.join("microsocks.log");
        let mut command = Command::new("microsocks");
        command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
        if let Some((user, password)) = credentials {
            command.args(["-u", user, "-P", password]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("microsocks.log"))
            .spawn()
            .expect("microsocks (tests/proxies/run.sh installs it)");
        RealProxy::ready(child, dir, log, port)
    }

    /// Waits until the proxy accepts connections.
    fn ready(mut child: Child, dir: PathBuf, log: PathBuf, port: u16) -> RealProxy {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                panic!("the proxy exited ({status}) before listening on {addr}:\n{log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the proxy did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RealProxy {
            child,
            dir,
            log,
            addr,
        }
    }

    /// The proxy's URL with this scheme and userinfo (`""` for none, else
    /// `user:password@`).
    pub fn url(&self, scheme: &str, userinfo: &str) -> String {
        format!("{scheme}://{userinfo}{}", self.addr)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (up to 5 s) until the log has `count` lines containing
    /// `needle`, returning the log; panics with the log if it does not.
    pub fn expect_in_log(&self, needle: &str, count: usize) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            let seen = log.lines().filter(|line| line.contains(needle)).count();
            if seen >= count {
                return log;
            }
            if start.elapsed() > Duration::from_secs(5) {
                panic!("expected {count} log lines with {needle:?}, saw {seen}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RealProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A listener that accepts connections and never answers (it holds them
/// for a minute): a proxy that has hung.
pub fn silent_proxy() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            if held.len() > 64 {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(60));
    });
    addr
}

/// A port nothing listens on now (bound, then released).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A new empty directory under the system's temporary directory.
pub(crate) fn scratch_dir(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("weft-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// This machine's address on its default route, if it has one: a
/// destination that is not loopback, so that a proxy from the environment
/// applies to it. No packet is sent (a UDP socket is only connected).
pub fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
