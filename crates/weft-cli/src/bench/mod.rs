//! `weft bench URL`: a load generator for echo servers, over WebSocket or
//! raw TCP.
//!
//! Each of `--conns` connections sends one message of `--size` bytes,
//! waits for its echo, checks it, and sends the next (a closed loop), or,
//! with `--rate`, sends when each message is due at that rate over all
//! connections. It runs for `--warmup` then `--duration` seconds (round
//! trips ending in the measured window count), or until `--messages` have
//! been echoed (all count). Round-trip times go into an HDR histogram; the
//! summary gives messages/s, MB/s and p50/p90/p99/p99.9/max, for people
//! or (`--json`) as one line.
//!
//! Everything runs on one thread (a tokio `current_thread` runtime), so
//! that on a two-core machine the server under test has the other core.
//!
//! # How a WebSocket connection is driven
//!
//! By default each connection drives a `weft_proto::Connection` directly
//! over a tokio `TcpStream`: queue the message, write the transmit
//! (vectored), read until the echo is an event. A closed loop knows when
//! to read and when to write, so it needs none of the adapter's machinery,
//! and the client, which has one core to drive every connection, spends
//! as little as possible per message: what it measures is the server.
//! `--adapter` uses the `weft-tokio` client instead, to see what the
//! adapter costs a client. Neither offers permessage-deflate.
//!
//! # A target rate
//!
//! With `--rate R` each of N connections has a message due every N/R
//! seconds, still one in flight at a time. A message that goes out late
//! because the round trips before it were slow is timed from when it was
//! due, not from when it went out: a server that stalls makes the messages
//! behind the stall late, and their lateness counts (no coordinated
//! omission). Lateness within the timer's resolution ([`TIMER_SLACK`]) is
//! the client's, and not counted.
//!
//! # Checks
//!
//! The length of every echo is checked, and its content on the first round
//! trip and every [`CONTENT_CHECK_EVERY`]th one after. Each connection
//! sends its own pattern, so crossed echoes show. A failed connection, a
//! wrong echo, an echo that does not come within [`STALL_LIMIT`] after the
//! end, or a closing handshake that does not end cleanly is an error:
//! counted, the first few reported on stderr, and the exit status is 1.

mod args;
mod drivers;
mod progress;
mod summary;

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::task::JoinSet;

pub(crate) use args::BenchArgs;
use args::{Length, Options};
use drivers::{Client, Payload};
use progress::{Counter, Progress};
use summary::Summary;

use crate::exit::Exit;

/// The content of an echo is compared with what was sent on the first
/// round trip of each connection and on every this-many-th after it (the
/// length is checked on all of them).
pub(crate) const CONTENT_CHECK_EVERY: u64 = 16;

/// How long after the end of the run a connection may still wait for its
/// last echo, and how long opening or closing one may take, before it
/// counts as an error.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(5);

/// How many error messages are printed on stderr; the rest are counted.
const ERRORS_SHOWN: u64 = 10;

/// How late a timer may wake (tokio's resolution is a millisecond) before
/// a message counts as late.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// Round-trip times a connection keeps before adding them to the shared
/// histogram (one lock per this many).
const FLUSH_EVERY: usize = 1024;

/// Runs `weft bench` on a runtime of its own, on this thread.
pub(crate) fn run(args: BenchArgs) -> Exit {
    let options = match args.options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("weft: {e}");
            return Exit::Usage;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("weft: cannot start the runtime: {e}");
            return Exit::Other;
        }
    };
    let json = options.json;
    let summary = runtime.block_on(run_async(options));
    let printed = if json {
        writeln!(io::stdout(), "{}", summary.json())
    } else {
        writeln!(io::stdout(), "{summary}")
    };
    if summary.errors == 0 && printed.is_ok() {
        Exit::Ok
    } else {
        Exit::Other
    }
}

async fn run_async(options: Options) -> Summary {
    let mut errors = Errors::default();
    let clients = open_all(&options, &mut errors).await;
    let opened = clients.len();
    let rtts = Arc::new(Mutex::new(summary::histogram()));
    let elapsed;
    if options.idle {
        // Whoever waits for this line may have gone; holding on is harmless.
        let _ = writeln!(
            io::stdout(),
            "idle open={} errors={}",
            clients.len(),
            errors.count
        );
        let hold = match options.length {
            Length::Time { measured, .. } => measured,
            Length::Messages(_) => Duration::ZERO,
        };
        tokio::time::sleep(hold).await;
        elapsed = hold;
        close_all(clients, &mut errors).await;
    } else {
        // The payloads are made before the clock starts.
        let count = clients.len();
        let clients: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(n, (index, client))| {
                let payload = Payload::new(index, options.size, options.text);
                let quota = match options.length {
                    Length::Messages(total) => {
                        let share = total / count as u64;
                        Some(share + u64::from((n as u64) < total % count as u64))
                    }
                    Length::Time { .. } => None,
                };
                (index, client, payload, quota)
            })
            .collect();
        let start = Instant::now();
        let (from, until) = match options.length {
            Length::Time { warmup, measured } => (start + warmup, Some(start + warmup + measured)),
            Length::Messages(_) => (start, None),
        };
        // Each connection's messages are due every `conns / rate` seconds.
        let interval = options.rate.map(|rate| {
            Duration::try_from_secs_f64(count.max(1) as f64 / rate).unwrap_or(Duration::MAX)
        });
        let done = Counter::default();
        let progress = Progress::start(options.length, done.clone());
        let mut tasks = JoinSet::new();
        for (n, (index, client, payload, quota)) in clients.into_iter().enumerate() {
            // Spread the first messages of a rate over one interval.
            let first = interval.map_or(start, |i| start + i.mul_f64(n as f64 / count as f64));
            let plan = Plan {
                from,
                until,
                quota,
                first,
                interval,
                rtts: rtts.clone(),
                done: done.clone(),
            };
            tasks.spawn(drive(index, client, payload, plan));
        }
        let mut last = start;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => {
                    last = last.max(outcome.last);
                    if let Some(e) = outcome.error {
                        errors.add(e);
                    }
                }
                Err(e) => errors.add(format!("connection task failed: {e}")),
            }
        }
        drop(progress);
        elapsed = match options.length {
            Length::Time { measured, .. } => measured,
            Length::Messages(_) => last.duration_since(start),
        };
    }
    let rtts = std::mem::replace(&mut *lock(&rtts), summary::histogram());
    Summary {
        options,
        elapsed,
        rtts,
        opened,
        errors: errors.count,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
            eprintln!("weft bench: {message}");
        } else if self.count == ERRORS_SHOWN + 1 {
            eprintln!("weft bench: (further errors are only counted)");
        }
    }
}

/// One connection's part of the run.
struct Plan {
    /// Round trips ending from here on count...
    from: Instant,
    /// ...until here; `None`: until the quota is done.
    until: Option<Instant>,
    /// How many round trips, when counted rather than timed.
    quota: Option<u64>,
    /// When the first message is due (with a rate).
    first: Instant,
    /// The time between two messages' due times; `None`: a closed loop.
    interval: Option<Duration>,
    rtts: Arc<Mutex<Histogram<u64>>>,
    done: Counter,
}

/// How one connection ended: when its last round trip did, and whether
/// it failed.
struct Outcome {
    last: Instant,
    error: Option<String>,
}

/// Runs round trips until the plan's end; the whole run is bounded by the
/// end plus [`STALL_LIMIT`] (or, counting messages, by the stall limit for
/// each). Then closes the connection.
async fn drive(index: usize, mut client: Client, payload: Payload, plan: Plan) -> Outcome {
    let mut kept: Vec<Duration> = Vec::with_capacity(FLUSH_EVERY);
    let flush = |kept: &mut Vec<Duration>| {
        let mut histogram = lock(&plan.rtts);
        for rtt in kept.drain(..) {
            summary::record(&mut histogram, rtt);
        }
    };
    let mut last = Instant::now();
    let run = async {
        let mut round: u64 = 0;
        let mut due = plan.first;
        loop {
            if plan.quota.is_some_and(|quota| round >= quota) {
                return Ok(());
            }
            if let Some(interval) = plan.interval {
                tokio::time::sleep_until(due.into()).await;
                due += interval;
            }
            let now = Instant::now();
            let sent = match plan.interval {
                // Late because the round trips before it were: timed from
                // when it was due. Within the timer's resolution: from now.
                Some(interval) if now.duration_since(due - interval) > TIMER_SLACK => {
                    due - interval
                }
                _ => now,
            };
            if plan.until.is_some_and(|until| Instant::now() >= until) {
                return Ok(());
            }
            let check = round.is_multiple_of(CONTENT_CHECK_EVERY);
            let trip = client.round_trip(&payload, check);
            match plan.until {
                Some(_) => trip.await?,
                None => tokio::time::timeout(STALL_LIMIT, trip)
                    .await
                    .map_err(|_| format!("no echo within {} s", STALL_LIMIT.as_secs()))??,
            }
            round += 1;
            let done = Instant::now();
            last = done;
            plan.done.fetch_add(1, Ordering::Relaxed);
            if done >= plan.from && plan.until.is_none_or(|until| done <= until) {
                kept.push(done.duration_since(sent));
                if kept.len() == FLUSH_EVERY {
                    flush(&mut kept);
                }
            }
        }
    };
    let result = match plan.until {
        Some(until) => tokio::time::timeout_at((until + STALL_LIMIT).into(), run).await,
        None => Ok(run.await),
    };
    flush(&mut kept);
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
        last,
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
            None => {
                clients.sort_by_key(|(index, _)| *index);
                return clients;
            }
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
