//! Hostile peers cannot make a server's memory grow: the echo server runs
//! in a process of its own (`test_echo_server`), and its resident memory is
//! read from /proc before and after the attack.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use weft_std::Message;
use weft_test_support::raw_client;

/// The server process; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(adapter: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_test_echo_server"))
            .arg(adapter)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start test_echo_server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("address line");
        let addr = line.trim().parse().expect("address");
        let server = Server { child, addr };
        // One full exchange first, so that the baseline includes the
        // runtime's and a connection's first allocations.
        server.still_serves();
        server
    }

    /// Resident memory in bytes, from /proc/PID/status.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS line");
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("VmRSS value");
        kib * 1024
    }

    fn still_serves(&self) {
        let (mut ws, _) = weft_std::connect(&format!("ws://{}/", self.addr)).unwrap();
        ws.send("still there?").unwrap();
        assert_eq!(ws.read().unwrap(), Some(Message::text("still there?")));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `chunk` up to `times` times, stopping at the first write that
/// blocks for two seconds; returns the bytes accepted.
fn write_until_blocked(tcp: &mut TcpStream, chunk: &[u8], times: usize) -> usize {
    tcp.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut written = 0;
    for _ in 0..times {
        match tcp.write(chunk) {
            Ok(n) => {
                written += n;
                if n < chunk.len() && tcp.write_all(&chunk[n..]).is_err() {
                    break;
                }
                written += chunk.len() - n;
            }
            Err(_) => break,
        }
    }
    written
}

const MIB: u64 = 1 << 20;

#[test]
fn a_ping_flood_that_never_reads_its_pongs_leaves_memory_flat() {
    for adapter in ["std", "tokio"] {
        let server = Server::start(adapter);
        let before = server.rss();
        let (mut tcp, _conn) = raw_client(server.addr);
        let ping: Vec<u8> = [0x89, 0xFD, 1, 2, 3, 4]
            .into_iter()
            .chain([7u8; 125])
            .collect();
        let burst = ping.repeat(1000);
        // Up to 39 MB of pings, asking for as many bytes of pongs.
        let sent = write_until_blocked(&mut tcp, &burst, 300);
        let after = server.rss();
        let grown = after.saturating_sub(before);
        assert!(
            grown < 8 * MIB,
            "{adapter}: resident memory grew by {grown} bytes after {sent} bytes of pings"
        );
        server.still_serves();
        drop(tcp);
    }
}

#[test]
fn a_peer_that_stops_reading_cannot_queue_echoes_in_the_server() {
    for adapter in ["std", "tokio"] {
        let server = Server::start(adapter);
        let before = server.rss();
        let (mut tcp, mut conn) = raw_client(server.addr);
        // 64 messages of 1 MiB (the server's limit) to echo; never read.
        conn.send_binary(vec![0u8; 1 << 20]).unwrap();
        let frame = conn.poll_transmit().unwrap().to_vec();
        let sent = write_until_blocked(&mut tcp, &frame, 64);
        let after = server.rss();
        let grown = after.saturating_sub(before);
        // The server stops reading once its writes block: the client's
        // writes block in turn, long before 64 MiB are in.
        assert!(
            (sent as u64) < 64 * MIB,
            "{adapter}: the server took all {sent} bytes without writing them"
        );
        // One message being read and one being written, plus slack.
        assert!(
            grown < 16 * MIB,
            "{adapter}: resident memory grew by {grown} bytes holding back {sent} bytes"
        );
        server.still_serves();
        drop(tcp);
    }
}
