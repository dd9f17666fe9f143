//! The broadcast benchmark's clients: N subscribers and one publisher
//! against a broadcast server (`broadcast_*` examples), on one thread.
//!
//! ```sh
//! broadcast_load [--port P | --ports P1,P2,..] [--clients N] [--messages M] [--size S] [--window W]
//! ```
//!
//! With `--ports`, the subscribers are spread over several servers in turn
//! (nodes sharing a backplane, `weft serve --broadcast --redis`) and the
//! publisher writes to the first: `fanout` then includes the trip through
//! the backplane. The subscribers connect first; then the publisher sends M binary
//! messages of S bytes, keeping at most W of them not yet received by every
//! subscriber. Each subscriber only counts the bytes it reads (every frame
//! is the same length; the first frame's header is checked), so the
//! clients do as little work per message as can be done, and the server is
//! what is measured. Prints one line:
//!
//! ```text
//! clients=N messages=M size=S delivered_per_s=D fanout_p50_ms=.. fanout_p99_ms=.. fanout_max_ms=.. complete=K dropped=X
//! ```
//!
//! `delivered_per_s`: messages received by subscribers per second, from the
//! first message sent to the last received by everyone. `fanout`: for each
//! message, the time from the publisher's write until the last subscriber
//! has it whole. `complete`: messages every subscriber received (M when
//! nothing went wrong); `dropped`: subscribers whose connection ended.
//! Once every subscriber is connected it prints `subscribed` to stderr and
//! waits a second before publishing, so that a script can read the
//! server's CPU time there (benches/scripts/broadcast_compare.sh does).

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::LocalSet;

/// Any 16 bytes, base64: the server's answer is not checked beyond its 101.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The publisher's masking key.
const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

struct Args {
    ports: Vec<u16>,
    clients: usize,
    messages: usize,
    size: usize,
    window: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        ports: vec![9001],
        clients: 10_000,
        messages: 200,
        size: 16,
        window: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        if flag == "--ports" {
            a.ports = value
                .split(',')
                .map(|p| p.parse().map_err(|_| format!("--ports: not a port: {p}")))
                .collect::<Result<_, _>>()?;
            continue;
        }
        let n: usize = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--port" => a.ports = vec![u16::try_from(n).map_err(|_| "--port: too large")?],
            "--clients" => a.clients = n.max(1),
            "--messages" => a.messages = n.max(1),
            "--size" => a.size = n,
            "--window" => a.window = n.max(1),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

/// Opens a WebSocket: the handshake written and its 101 read; returns the
/// stream and whatever followed the 101's head.
async fn open(addr: SocketAddr) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 101") {
                let line = String::from_utf8_lossy(&head[..head.len().min(40)]).into_owned();
                return Err(io::Error::other(format!("refused: {line}")));
            }
            return Ok((tcp, head[end + 4..].to_vec()));
        }
        if head.len() > 16 * 1024 {
            return Err(io::Error::other("response head too long"));
        }
    }
}

/// The header of a final binary frame of `size` bytes, masked or not.
fn header(size: usize, mask: Option<[u8; 4]>) -> Vec<u8> {
    let bit = if mask.is_some() { 0x80 } else { 0 };
    let mut h = vec![0x82];
    match size {
        0..=125 => h.push(bit | size as u8),
        126..=0xFFFF => {
            h.push(bit | 126);
            h.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            h.push(bit | 127);
            h.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        h.extend_from_slice(&key);
    }
    h
}

/// What the subscribers have received, shared on the one thread.
struct Tally {
    /// Subscribers still connected.
    alive: usize,
    dropped: usize,
    /// Per message: subscribers that have it whole, and when the last did.
    arrived: Vec<usize>,
    done_at: Vec<Option<Instant>>,
    /// Messages every subscriber has (they complete in order).
    complete: usize,
}

impl Tally {
    /// Marks messages done once every live subscriber has them.
    fn settle(&mut self, now: Instant) -> bool {
        let before = self.complete;
        while self.complete < self.arrived.len() && self.arrived[self.complete] >= self.alive {
            self.done_at[self.complete] = Some(now);
            self.complete += 1;
        }
        self.complete > before
    }
}

async fn subscribe(
    mut tcp: TcpStream,
    leftover: Vec<u8>,
    expected: Rc<Vec<u8>>,
    frame_len: usize,
    tally: Rc<RefCell<Tally>>,
    progress: Rc<Notify>,
    finish: Rc<Notify>,
) {
    let messages = tally.borrow().arrived.len();
    let mut head = leftover[..leftover.len().min(expected.len())].to_vec();
    let mut received = leftover.len();
    let mut done = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if head != expected[..head.len()] {
            eprintln!("unexpected frame header {head:02x?}, expected {expected:02x?}");
            break;
        }
        let whole = (received / frame_len).min(messages);
        if whole > done {
            let now = Instant::now();
            let mut t = tally.borrow_mut();
            for k in done..whole {
                t.arrived[k] += 1;
            }
            if t.settle(now) {
                progress.notify_waiters();
            }
            done = whole;
        }
        if done == messages {
            // Stay connected until every subscriber is done.
            finish.notified().await;
            return;
        }
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if head.len() < expected.len() {
                    let take = (expected.len() - head.len()).min(n);
                    head.extend_from_slice(&buf[..take]);
                }
                received += n;
            }
        }
    }
    let mut t = tally.borrow_mut();
    t.alive -= 1;
    t.dropped += 1;
    t.settle(Instant::now());
    progress.notify_waiters();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn run(a: Args) -> io::Result<()> {
    let addrs: Vec<SocketAddr> = a
        .ports
        .iter()
        .map(|&port| SocketAddr::from(([127, 0, 0, 1], port)))
        .collect();
    let expected = Rc::new(header(a.size, None));
    let frame_len = expected.len() + a.size;
    let tally = Rc::new(RefCell::new(Tally {
        alive: a.clients,
        dropped: 0,
        arrived: vec![0; a.messages],
        done_at: vec![None; a.messages],
        complete: 0,
    }));
    let progress = Rc::new(Notify::new());
    let finish = Rc::new(Notify::new());
    // Connect in batches, so the server's backlog never overflows.
    let mut opened = 0;
    while opened < a.clients {
        let batch = (a.clients - opened).min(250);
        let mut tasks = Vec::new();
        for i in opened..opened + batch {
            tasks.push(tokio::task::spawn_local(open(addrs[i % addrs.len()])));
        }
        for task in tasks {
            let (tcp, leftover) = task.await.map_err(io::Error::other)??;
            tokio::task::spawn_local(subscribe(
                tcp,
                leftover,
                expected.clone(),
                frame_len,
                tally.clone(),
                progress.clone(),
                finish.clone(),
            ));
        }
        opened += batch;
    }
    let (mut publisher, _) = open(addrs[0]).await?;
    // Every server adds a member right after its 101; let the last settle.
    // The line tells a script that the server's CPU time from now on is
    // the broadcast's.
    eprintln!("subscribed");
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let mut frame = header(a.size, Some(MASK));
    frame.extend((0..a.size).map(|i| (i as u8) ^ MASK[i % 4]));
    let mut sent_at = Vec::with_capacity(a.messages);
    let deadline = Instant::now() + Duration::from_secs(120);
    for k in 0..a.messages {
        loop {
            let notified = progress.notified();
            if k < tally.borrow().complete + a.window {
                break;
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                break;
            }
        }
        sent_at.push(Instant::now());
        publisher.write_all(&frame).await?;
    }
    loop {
        let notified = progress.notified();
        if tally.borrow().complete == a.messages {
            break;
        }
        if tokio::time::timeout_at(deadline.into(), notified)
            .await
            .is_err()
        {
            break;
        }
    }
    finish.notify_waiters();
    let t = tally.borrow();
    let mut fanout: Vec<f64> = (0..t.complete)
        .filter_map(|k| Some((t.done_at[k]? - sent_at[k]).as_secs_f64() * 1e3))
        .collect();
    fanout.sort_by(|x, y| x.total_cmp(y));
    let delivered_per_s = match (t.complete.checked_sub(1), sent_at.first()) {
        (Some(last), Some(first)) => match t.done_at[last] {
            Some(end) => (t.complete * t.alive) as f64 / (end - *first).as_secs_f64(),
            None => 0.0,
        },
        _ => 0.0,
    };
    println!(
        "clients={} messages={} size={} delivered_per_s={:.0} fanout_p50_ms={:.2} \
         fanout_p99_ms={:.2} fanout_max_ms={:.2} complete={} dropped={}",
        a.clients,
        a.messages,
        a.size,
        delivered_per_s,
        percentile(&fanout, 0.5),
        percentile(&fanout, 0.99),
        fanout.last().copied().unwrap_or(f64::NAN),
        t.complete,
        t.dropped
    );
    Ok(())
}

fn main() -> io::Result<()> {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\nusage: broadcast_load [--port P | --ports P1,P2] [--clients N] [--messages M] [--size S] [--window W]");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    LocalSet::new().block_on(&runtime, run(a))
}
