//! A real Redis (Debian's `redis-server`) for the hub's tests, on a free
//! loopback port with its files in a directory of its own: started,
//! stopped, killed and restarted on the same port as a test says.
//! `tests/hub/run.sh` installs it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::real_proxy::{free_port, scratch_dir};

/// What Redis keeps across a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing: a restart loses every key.
    None,
    /// An append-only file written on every command (`appendfsync
    /// always`): a restart keeps every key written before it.
    AppendOnly,
}

/// A `redis-server` process.
pub struct RealRedis {
    child: Option<Child>,
    dir: PathBuf,
    persistence: Persistence,
    /// Where it listens (loopback).
    pub addr: SocketAddr,
}

impl RealRedis {
    /// Redis on a free loopback port.
    pub fn start(persistence: Persistence) -> RealRedis {
        let mut redis = RealRedis {
            child: None,
            dir: scratch_dir("redis"),
            persistence,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
        };
        redis.run();
        redis
    }

    /// Its URL, `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn run(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &self.addr.port().to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--dir", &self.dir.display().to_string(), "--save", ""])
            .args(["--logfile", "redis.log"]);
        match self.persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::AppendOnly => {
                command.args(["--appendonly", "yes", "--appendfsync", "always"])
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (tests/hub/run.sh installs it)");
        self.child = Some(child);
        let start = Instant::now();
        while self.command("PING").as_deref() != Some("+PONG") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not answer on {}: {}",
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one inline command and returns the first line of the answer,
    /// `None` if Redis cannot be reached.
    pub fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        Some(line.trim_end().to_owned())
    }

    /// Stops it as a crash would (SIGKILL): with [`Persistence::AppendOnly`]
    /// every command answered is in the file all the same.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(
            self.command("PING").is_none(),
            "redis still answers after being killed"
        );
    }

    /// Starts it again on the same port after [`RealRedis::kill`].
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart follows kill");
        self.run();
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
