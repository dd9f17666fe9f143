//! The fault proxy against a small echo server: bytes pass unchanged, and
//! each fault is seen by the client (and, where it reaches it, by the
//! server) as the proxy documents.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use weft_test_support::FaultProxy;

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(5);

/// How a connection to the echo server ended, as the server saw it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    Eof,
    Error(ErrorKind),
}

/// What the echo server saw, over all its connections.
#[derive(Default)]
struct Log {
    accepted: AtomicUsize,
    /// The length of every read that returned bytes, in order.
    reads: Mutex<Vec<usize>>,
    ends: Mutex<Vec<End>>,
}

/// An echo server on loopback: writes back whatever it reads, half-closes
/// on EOF, and logs what it saw. Its threads block in accept or read and
/// end with the test process.
struct Echo {
    addr: SocketAddr,
    log: Arc<Log>,
}

impl Echo {
    fn start() -> Echo {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Log::default());
        let accept_log = Arc::clone(&log);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                accept_log.accepted.fetch_add(1, Ordering::SeqCst);
                let log = Arc::clone(&accept_log);
                thread::spawn(move || echo(stream, &log));
            }
        });
        Echo { addr, log }
    }

    fn accepted(&self) -> usize {
        self.log.accepted.load(Ordering::SeqCst)
    }

    fn reads(&self) -> Vec<usize> {
        self.log.reads.lock().unwrap().clone()
    }

    /// Waits until a connection ended, and returns how the first did.
    fn first_end(&self) -> End {
        assert!(
            eventually(|| !self.log.ends.lock().unwrap().is_empty()),
            "the server saw no connection end"
        );
        self.log.ends.lock().unwrap()[0]
    }
}

fn echo(mut stream: TcpStream, log: &Log) {
    let mut buf = vec![0; 64 * 1024];
    let end = loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                let _ = stream.shutdown(Shutdown::Write);
                break End::Eof;
            }
            Ok(n) => {
                log.reads.lock().unwrap().push(n);
                if let Err(e) = stream.write_all(&buf[..n]) {
                    break End::Error(e.kind());
                }
            }
            Err(e) => break End::Error(e.kind()),
        }
    };
    log.ends.lock().unwrap().push(end);
}

/// Polls `done` until it holds or [`PATIENCE`] runs out; whether it holds.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    done()
}

/// A client of `addr` whose reads give up after [`PATIENCE`] rather than
/// hang a failing test.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// Sends `message` and reads it back, through the proxy and the echo
/// server.
fn ping(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).expect("write");
    let mut back = vec![0; message.len()];
    stream.read_exact(&mut back).expect("read echo");
    assert_eq!(back, message);
}

/// `len` bytes from xorshift: every byte value, no short period a lost or
/// repeated chunk could hide in.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

#[test]
fn large_payload_round_trips_unchanged() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let client = connect(proxy.addr());
    let sent = payload(4 << 20);

    // Writing and reading at once: the echo fills the client's receive
    // buffer long before the payload is all written.
    let mut writer = client.try_clone().expect("clone");
    let to_send = sent.clone();
    let writing = thread::spawn(move || {
        writer.write_all(&to_send).expect("write");
        // The FIN goes through the proxy, the server answers with its
        // own, and that ends the read below.
        writer.shutdown(Shutdown::Write).expect("half-close");
    });
    let mut received = Vec::new();
    (&client).read_to_end(&mut received).expect("read");
    writing.join().expect("writer");

    assert_eq!(received.len(), sent.len());
    assert!(received == sent, "the payload changed on the way");
    assert_eq!(echo.first_end(), End::Eof);
    assert!(proxy.wait_open(0, PATIENCE), "both directions closed");
}

#[test]
fn cut_gives_both_sides_eof() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let mut client = connect(proxy.addr());
    ping(&mut client, b"before the cut");

    proxy.cut();
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("EOF, not an error"), 0);
    assert_eq!(echo.first_end(), End::Eof);
    assert!(proxy.wait_open(0, PATIENCE));
}

#[test]
fn reset_gives_both_sides_connection_reset() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let mut client = connect(proxy.addr());
    ping(&mut client, b"before the reset");

    proxy.reset();
    let mut buf = [0; 16];
    let err = client
        .read(&mut buf)
        .expect_err("a reset, not EOF or bytes");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(echo.first_end(), End::Error(ErrorKind::ConnectionReset));
    assert!(proxy.wait_open(0, PATIENCE));
}

#[test]
fn reset_reaches_a_stalled_connection() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let mut client = connect(proxy.addr());
    ping(&mut client, b"before the stall");

    proxy.stall(true);
    client.write_all(b"held").expect("write");
    proxy.reset();
    let mut buf = [0; 16];
    let err = client
        .read(&mut buf)
        .expect_err("a reset, not EOF or bytes");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert!(proxy.wait_open(0, PATIENCE));
}

#[test]
fn reset_reaches_a_write_blocked_on_a_full_buffer() {
    // An upstream that accepts and never reads: the proxy's write to it
    // blocks once the socket buffers fill.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let proxy = FaultProxy::start(listener.local_addr().expect("addr")).expect("proxy");
    let mut client = connect(proxy.addr());
    let (_server, _) = listener.accept().expect("accept");

    let writing = thread::spawn(move || {
        let chunk = payload(64 * 1024);
        // Far more than loopback buffers hold, so this blocks until the
        // reset ends it.
        for _ in 0..1024 {
            client.write_all(&chunk)?;
        }
        Ok::<_, std::io::Error>(())
    });
    thread::sleep(Duration::from_millis(300));
    assert!(!writing.is_finished(), "the writes should be blocked");

    proxy.reset();
    assert!(proxy.wait_open(0, PATIENCE), "the blocked write noticed");
    let err = writing.join().expect("writer").expect_err("writing fails");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ),
        "{err:?}"
    );
}

#[test]
fn stall_holds_bytes_until_resumed() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let mut client = connect(proxy.addr());
    ping(&mut client, b"before the stall");
    let reads_before = echo.reads().len();

    proxy.stall(true);
    client.write_all(b"held").expect("write");
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut buf = [0; 16];
    let err = client.read(&mut buf).expect_err("nothing while stalled");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "a timeout, not {err:?}"
    );
    assert_eq!(echo.reads().len(), reads_before, "nothing reached upstream");
    assert_eq!(proxy.open(), 1, "a stall closes nothing");

    proxy.stall(false);
    client.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut back = [0; 4];
    client.read_exact(&mut back).expect("the held bytes");
    assert_eq!(&back, b"held");
}

#[test]
fn delay_holds_each_chunk() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let mut client = connect(proxy.addr());
    ping(&mut client, b"undelayed");

    proxy.delay(Duration::from_millis(150));
    let start = Instant::now();
    ping(&mut client, b"delayed");
    // Once on the way there, once on the way back.
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );

    proxy.delay(Duration::ZERO);
    let start = Instant::now();
    ping(&mut client, b"undelayed again");
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn split_writes_arrive_in_pieces() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let mut client = connect(proxy.addr());

    proxy.split_writes(Some(3));
    let message = b"thirty bytes, split in threes";
    ping(&mut client, message);
    let reads = echo.reads();
    assert_eq!(reads.iter().sum::<usize>(), message.len());
    // Pieces 1 ms apart arrive as separate reads unless the server was
    // kept from reading for the whole message; at least some must.
    assert!(reads.len() >= 2, "upstream read it whole: {reads:?}");

    proxy.split_writes(None);
    let whole = payload(1000);
    ping(&mut client, &whole);
}

#[test]
fn refuse_closes_without_connecting_upstream() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");

    proxy.refuse(true);
    let mut client = connect(proxy.addr());
    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("EOF"), 0);
    assert!(proxy.wait_connections(1, PATIENCE));
    assert_eq!(proxy.open(), 0);
    assert_eq!(echo.accepted(), 0, "a refused connection went upstream");

    proxy.refuse(false);
    let mut client = connect(proxy.addr());
    ping(&mut client, b"accepted again");
    assert_eq!(echo.accepted(), 1);
    assert_eq!(proxy.connections(), 2);
}

#[test]
fn counts_accepted_and_open_connections() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    assert_eq!((proxy.connections(), proxy.open()), (0, 0));

    let mut first = connect(proxy.addr());
    let mut second = connect(proxy.addr());
    ping(&mut first, b"one");
    ping(&mut second, b"two");
    assert!(proxy.wait_open(2, PATIENCE));
    assert_eq!(proxy.connections(), 2);

    // The client's FIN reaches the server, whose FIN comes back: both
    // directions end and the connection is no longer open.
    drop(first);
    assert!(proxy.wait_open(1, PATIENCE), "open: {}", proxy.open());

    proxy.cut();
    assert!(proxy.wait_open(0, PATIENCE), "open: {}", proxy.open());
    assert_eq!(proxy.connections(), 2, "closing does not uncount");
}

#[test]
fn set_upstream_redirects_new_connections() {
    let old = Echo::start();
    let new = Echo::start();
    let proxy = FaultProxy::start(old.addr).expect("proxy");
    let mut before = connect(proxy.addr());
    ping(&mut before, b"to the old server");

    proxy.set_upstream(new.addr);
    let mut after = connect(proxy.addr());
    ping(&mut after, b"to the new server");
    assert_eq!((old.accepted(), new.accepted()), (1, 1));

    // The open connection stays with the old server.
    let old_reads = old.reads().len();
    ping(&mut before, b"still the old server");
    assert!(old.reads().len() > old_reads);
    assert_eq!(new.reads().len(), 1);
}

#[test]
fn upstream_down_resets_the_client() {
    // A port nothing listens on: bound, then closed.
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("port");
    let proxy = FaultProxy::start(closed).expect("proxy");
    let mut client = connect(proxy.addr());
    let mut buf = [0; 16];
    let err = client.read(&mut buf).expect_err("a reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(proxy.open(), 0);
}

#[test]
fn drop_closes_connections_and_listener() {
    let echo = Echo::start();
    let proxy = FaultProxy::start(echo.addr).expect("proxy");
    let addr = proxy.addr();
    let mut client = connect(addr);
    ping(&mut client, b"before the drop");

    // A stalled forwarding thread waits on the condition variable; the
    // drop must wake it and join it.
    proxy.stall(true);
    client.write_all(b"held").expect("write");
    let start = Instant::now();
    drop(proxy);
    assert!(
        start.elapsed() < PATIENCE,
        "drop took {:?}",
        start.elapsed()
    );

    let mut buf = [0; 16];
    assert_eq!(client.read(&mut buf).expect("EOF"), 0);
    assert_eq!(echo.first_end(), End::Eof);
    let refused = TcpStream::connect(addr).map(drop);
    assert_eq!(
        refused.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused),
        "the listener is closed"
    );
}
