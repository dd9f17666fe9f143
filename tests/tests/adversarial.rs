//! Hostile peers against both adapters' servers: each test asserts the
//! server's reaction (status, close code, closed socket) and that it still
//! serves a fresh client afterwards.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use weft_proto::{Config, Connection, Event};
use weft_std::Message;
use weft_test_support::raw_client;
use weft_tests::hostile_config;

/// The servers under test: each echoes, one connection per thread or task.
#[derive(Clone, Copy, Debug)]
enum Server {
    Std,
    Tokio,
}

fn start(server: Server) -> SocketAddr {
    match server {
        Server::Std => weft_tests::std_echo_server(hostile_config()),
        Server::Tokio => weft_tests::tokio_echo_server(hostile_config()),
    }
}

/// A well-behaved client gets its echo: the server is still serving.
fn still_serves(addr: SocketAddr) {
    let (mut ws, _) = weft_std::connect(&format!("ws://{addr}/")).unwrap();
    ws.send("still there?").unwrap();
    assert_eq!(ws.read().unwrap(), Some(Message::text("still there?")));
}

/// Reads until the server closes the connection; returns what it sent.
fn read_to_close(tcp: &mut TcpStream, limit: Duration) -> Vec<u8> {
    tcp.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!(
                "the server did not close the connection: {e} after {:?}",
                started.elapsed()
            ),
        }
    }
}

fn both(test: impl Fn(Server, SocketAddr)) {
    for server in [Server::Std, Server::Tokio] {
        let addr = start(server);
        test(server, addr);
        still_serves(addr);
    }
}

#[test]
fn a_handshake_sent_one_byte_at_a_time_is_cut_off_by_the_timeout() {
    both(|server, addr| {
        let mut tcp = TcpStream::connect(addr).unwrap();
        let request = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n";
        let started = Instant::now();
        for byte in request {
            if tcp.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(40));
            if started.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        let response = read_to_close(&mut tcp, Duration::from_secs(5));
        assert!(
            response.starts_with(b"HTTP/1.1 408 "),
            "{server:?}: {:?}",
            String::from_utf8_lossy(&response)
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{server:?}");
    });
}

#[test]
fn a_header_block_over_the_limit_is_answered_431() {
    both(|server, addr| {
        let mut tcp = TcpStream::connect(addr).unwrap();
        let mut request = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..200 {
            request.extend_from_slice(format!("X-Padding-{i}: {}\r\n", "x".repeat(64)).as_bytes());
        }
        let _ = tcp.write_all(&request);
        let response = read_to_close(&mut tcp, Duration::from_secs(5));
        assert!(
            response.starts_with(b"HTTP/1.1 431 "),
            "{server:?}: {:?}",
            String::from_utf8_lossy(&response)
        );
    });
}

/// The first close frame among what a server sent, and its code.
fn close_code(bytes: &[u8]) -> Option<u16> {
    let mut conn = Connection::client(Config::default(), || [0; 4], Instant::now());
    conn.handle_data(Instant::now(), bytes);
    while let Some(event) = conn.poll_event() {
        if let Event::CloseReceived(frame) = event {
            return Some(frame.code.0);
        }
    }
    None
}

#[test]
fn a_length_claim_of_two_to_the_62_is_refused_with_1009() {
    both(|server, addr| {
        let (mut tcp, _) = raw_client(addr);
        let mut header = vec![0x82, 0xFF];
        header.extend_from_slice(&(1u64 << 62).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        tcp.write_all(&header).unwrap();
        let sent = read_to_close(&mut tcp, Duration::from_secs(5));
        assert_eq!(close_code(&sent), Some(1009), "{server:?}");
    });
}

#[test]
fn a_hundred_thousand_one_byte_fragments_make_one_message() {
    both(|server, addr| {
        let (mut tcp, mut conn) = raw_client(addr);
        let mut wire = Vec::new();
        for i in 0..100_000u32 {
            let (opcode, fin) = match i {
                0 => (0x2, 0),
                99_999 => (0x0, 0x80),
                _ => (0x0, 0),
            };
            wire.extend_from_slice(&[fin | opcode, 0x81, 1, 2, 3, 4, (i as u8) ^ 1]);
        }
        let writer = {
            let mut tcp = tcp.try_clone().unwrap();
            std::thread::spawn(move || tcp.write_all(&wire).unwrap())
        };
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let message = loop {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "{server:?}: closed before the echo");
            conn.handle_data(Instant::now(), &buf[..n]);
            if let Some(Event::Binary(b)) = conn.poll_event() {
                break b;
            }
        };
        writer.join().unwrap();
        assert_eq!(message.len(), 100_000, "{server:?}");
        assert!(
            message.iter().enumerate().all(|(i, b)| *b == i as u8),
            "{server:?}"
        );
    });
}

#[test]
fn a_ping_flood_from_a_client_that_never_reads_stalls_without_hurting_others() {
    both(|_server, addr| {
        let (mut tcp, _) = raw_client(addr);
        let ping = [0x89, 0xFD, 1, 2, 3, 4]
            .into_iter()
            .chain([7u8; 125])
            .collect::<Vec<_>>();
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 1000)
            .collect();
        tcp.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        // Far more pongs than any socket buffer: the server either keeps
        // reading with one pending pong, or stops reading; either way it
        // does not run away, and others are served meanwhile.
        for _ in 0..300 {
            if tcp.write_all(&burst).is_err() {
                break;
            }
        }
        still_serves(addr);
    });
}

#[test]
fn a_client_that_stops_reading_while_the_server_sends_does_not_hurt_others() {
    both(|_server, addr| {
        let (mut tcp, mut conn) = raw_client(addr);
        // Ask for echoes of 64 MiB in all, then never read them.
        for _ in 0..64 {
            conn.send_binary(vec![0u8; 1 << 20]).unwrap();
        }
        tcp.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        while let Some(t) = conn.poll_transmit() {
            if tcp.write_all(&t.to_vec()).is_err() {
                break;
            }
        }
        still_serves(addr);
    });
}
