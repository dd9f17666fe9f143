//! A closed-loop load generator for echo servers, over WebSocket or raw TCP.
//!
//! Each of `conns` connections sends one message of `size` bytes, waits
//! for its echo, checks it, and sends the next, for `warmup` and then
//! `duration` seconds. Every round trip that completes inside the measured
//! window is counted and its time recorded (in nanoseconds, per
//! connection, merged and sorted at the end). [`run`] returns a
//! [`Summary`] whose `Display` is one machine-readable line:
//!
//! ```text
//! loadgen target=ws://127.0.0.1:9000/ driver=proto kind=binary conns=100 size=1024 duration=5 messages=123456 msgs_per_sec=24691.2 mb_per_sec=25.3 p50_us=3900.0 p99_us=8100.0 p999_us=9000.0 max_us=12000.0 errors=0
//! ```
//!
//! Everything runs on one thread (a tokio `current_thread` runtime), so
//! that on a two-core machine the server under test has the other core.
//!
//! # How a WebSocket connection is driven
//!
//! By default ([`Driver::Proto`]) each connection drives a
//! [`weft_proto::Connection`] directly over a [`tokio::net::TcpStream`]:
//! queue the message, write the transmit (vectored), read until the echo
//! is an event. A closed loop knows when to read and when to write, so it
//! needs none of the adapter's machinery (the shared state behind a mutex,
//! the waker fan-out for two halves, the timer), and the client, which has
//! only one core to drive every connection, spends as little as possible
//! per message: what it measures is the server. [`Driver::Adapter`]
//! (`--adapter`) uses the `weft-tokio` client instead, to see what the
//! adapter costs a client.
//!
//! Neither driver offers permessage-deflate: none of the peers compared
//! implements it, so every server runs uncompressed.
//!
//! # Checks
//!
//! The length of every echo is checked, and its content on the first round
//! trip and every [`CONTENT_CHECK_EVERY`]th one after. Each connection
//! sends its own pattern, so crossed echoes show. A failed connection, a
//! wrong echo, an echo that does not come within [`STALL_LIMIT`] after the
//! end, or a closing handshake that does not end cleanly is an error:
//! counted in [`Summary::errors`] and the first few reported on stderr.
//!
//! # Where things are
//!
//! This module opens the connections, drives each through its round trips
//! and closes them. The command line is parsed in `options`, the round-trip
//! times summed up in `statistics`, and each kind of connection (raw TCP,
//! the core by hand, the adapter) driven in `drivers`.

mod drivers;
mod options;
mod statistics;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use drivers::{Client, Payload};
pub use options::{Driver, Options, Target, USAGE};
use statistics::percentile;
pub use statistics::Summary;

/// The content of an echo is compared with what was sent on the first
/// round trip of each connection and on every this-many-th after it (the
/// length is checked on all of them).
pub const CONTENT_CHECK_EVERY: u64 = 16;

/// How long after the end of the measured window a connection may still
/// wait for its last echo, and how long opening or closing one may take,
/// before it counts as an error.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);

/// How many error messages are printed on stderr; the rest are counted.
const ERRORS_SHOWN: u64 = 10;

/// Runs the load described by `options` on a new single-threaded tokio
/// runtime and returns its summary. In idle mode it prints
/// `loadgen idle open=N errors=E` on stdout once every connection is open.
pub fn run(options: &Options) -> io::Result<Summary> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(run_async(options.clone())))
}

/// [`run`] on the caller's runtime (which should be a `current_thread` one
/// for the measurement to leave the other cores to the server).
pub async fn run_async(options: Options) -> Summary {
    let mut errors = Errors::default();
    let clients = open_all(&options, &mut errors).await;

    let mut rtts: Vec<u32> = Vec::new();
    if options.idle {
        // Whoever waits for this line may have gone; holding on is harmless.
        let _ = writeln!(
            io::stdout(),
            "loadgen idle open={} errors={}",
            clients.len(),
            errors.count
        );
        tokio::time::sleep(options.duration).await;
        close_all(clients, &mut errors).await;
    } else {
        // The payloads are made before the clock starts.
        let clients: Vec<_> = clients
            .into_iter()
            .map(|(index, client)| {
                let payload = Payload::new(index, options.size, options.text);
                (index, client, payload)
            })
            .collect();
        let start = Instant::now();
        let window = Window {
            from: start + options.warmup,
            until: start + options.warmup + options.duration,
        };
        let mut tasks = JoinSet::new();
        for (index, client, payload) in clients {
            tasks.spawn(drive(index, client, payload, window));
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => {
                    rtts.extend_from_slice(&outcome.rtts);
                    if let Some(e) = outcome.error {
                        errors.add(e);
                    }
                }
                Err(e) => errors.add(format!("connection task failed: {e}")),
            }
        }
    }

    rtts.sort_unstable();
    let us = |q: f64| percentile(&rtts, q) as f64 / 1e3;
    Summary {
        target: options.target,
        driver: options.driver,
        text: options.text,
        conns: options.conns,
        size: options.size,
        duration: options.duration,
        messages: rtts.len() as u64,
        p50_us: us(0.50),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: us(1.0),
        errors: errors.count,
    }
}

/// Counts errors and prints the first few.
#[derive(Default)]
struct Errors {
    count: u64,
}

impl Errors {
    fn add(&mut self, message: String) {
        self.count += 1;
        if self.count <= ERRORS_SHOWN {
            eprintln!("loadgen: {message}");
        } else if self.count == ERRORS_SHOWN + 1 {
            eprintln!("loadgen: (further errors are only counted)");
        }
    }
}

/// The measured window: round trips completing in `from..=until` count.
#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

/// What one connection measured, and how it ended.
struct Outcome {
    /// Round-trip times in nanoseconds (saturating at `u32::MAX`, 4.3 s).
    rtts: Vec<u32>,
    error: Option<String>,
}

/// Runs round trips until the window ends; the whole run is bounded by
/// the window's end plus [`STALL_LIMIT`]. Then closes the connection.
async fn drive(index: usize, mut client: Client, payload: Payload, window: Window) -> Outcome {
    let mut rtts = Vec::new();
    let deadline = window.until + STALL_LIMIT;
    let run = async {
        let mut round: u64 = 0;
        loop {
            let sent = Instant::now();
            if sent >= window.until {
                return Ok(());
            }
            client
                .round_trip(&payload, round.is_multiple_of(CONTENT_CHECK_EVERY))
                .await?;
            round += 1;
            let done = Instant::now();
            if done >= window.from && done <= window.until {
                let ns = done.duration_since(sent).as_nanos();
                rtts.push(u32::try_from(ns).unwrap_or(u32::MAX));
            }
        }
    };
    let result = tokio::time::timeout_at(deadline.into(), run).await;
    let error = match result {
        Ok(Ok(())) => tokio::time::timeout(STALL_LIMIT, client.close())
            .await
            .unwrap_or_else(|_| Err("the closing handshake did not finish".into()))
            .err(),
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!(
            "no echo within {} s after the end of the run",
            STALL_LIMIT.as_secs()
        )),
    };
    Outcome {
        rtts,
        error: error.map(|e| format!("connection {index}: {e}")),
    }
}

/// Opens every connection, at most `batch` at a time (a new one starts as
/// soon as one is open); failures are counted. Each client comes with its
/// index (which picks its payload pattern).
async fn open_all(options: &Options, errors: &mut Errors) -> Vec<(usize, Client)> {
    let mut clients = Vec::with_capacity(options.conns);
    let mut opening = JoinSet::new();
    let mut next = 0;
    loop {
        while next < options.conns && opening.len() < options.batch {
            let target = options.target.clone();
            let driver = options.driver;
            let index = next;
            opening.spawn(async move {
                let opened = tokio::time::timeout(STALL_LIMIT, Client::open(&target, driver))
                    .await
                    .unwrap_or_else(|_| Err("opening timed out".into()));
                (index, opened)
            });
            next += 1;
        }
        match opening.join_next().await {
            Some(Ok((index, Ok(client)))) => clients.push((index, client)),
            Some(Ok((index, Err(e)))) => errors.add(format!("connection {index}: {e}")),
            Some(Err(e)) => errors.add(format!("connect task failed: {e}")),
            None => return clients,
        }
    }
}

/// Closes every connection, `STALL_LIMIT` each at most, all at once.
async fn close_all(clients: Vec<(usize, Client)>, errors: &mut Errors) {
    let mut tasks = JoinSet::new();
    for (index, mut client) in clients {
        tasks.spawn(async move {
            let closed = tokio::time::timeout(STALL_LIMIT, client.close())
                .await
                .unwrap_or_else(|_| Err("the closing handshake did not finish".into()));
            closed.map_err(|e| format!("connection {index}: {e}"))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.add(e),
            Err(e) => errors.add(format!("close task failed: {e}")),
        }
    }
}
