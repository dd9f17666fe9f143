//! `weft bench`'s command line: what to load, how many connections, what
//! to send, for how long or how many, at what rate.

use std::fmt;
use std::time::Duration;

use weft_io::WsUrl;

use crate::client_flags::seconds;

/// The longest run `weft bench` takes on, and the longest interval
/// between two messages of a connection at a rate.
const LONGEST_RUN: Duration = Duration::from_secs(365 * 24 * 3600);

/// `weft bench`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// The echo server: ws://HOST:PORT/PATH, or tcp://HOST:PORT for a raw
    /// TCP echo (SIZE bytes out, SIZE bytes back, no framing).
    url: String,
    /// Connections, each with one message in flight.
    #[arg(long, value_name = "N", default_value_t = 1)]
    conns: usize,
    /// Message size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16)]
    size: usize,
    /// Measured seconds, after the warm-up.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 5.0,
        conflicts_with = "messages"
    )]
    duration: f64,
    /// Seconds run but not measured, before the measured window.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 1.0,
        conflicts_with = "messages"
    )]
    warmup: f64,
    /// Send this many messages in all (spread over the connections), every
    /// one measured, instead of running for a duration.
    #[arg(long, value_name = "N")]
    messages: Option<u64>,
    /// A target rate in messages per second over all connections, instead
    /// of a closed loop; each round trip is timed from when it was due.
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// Send text messages instead of binary ones.
    #[arg(long)]
    text: bool,
    /// Open the connections, print `idle open=N errors=E` once all are
    /// open, and hold them, sending nothing, for --duration seconds.
    #[arg(long, conflicts_with_all = ["messages", "rate"])]
    idle: bool,
    /// Drive WebSocket connections with the weft-tokio client instead of
    /// weft-proto directly over TCP.
    #[arg(long)]
    adapter: bool,
    /// Connections being opened at any time (keep it below the server's
    /// listen backlog).
    #[arg(long, value_name = "N", default_value_t = 100)]
    batch: usize,
    /// One JSON line at the end instead of the summary for people.
    #[arg(long)]
    json: bool,
}

/// What to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A WebSocket server at this `ws://` URL.
    Ws(WsUrl),
    /// A raw TCP echo server at `host:port`.
    Raw(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Ws(url) => write!(f, "ws://{}{}", url.authority(), url.target),
            Target::Raw(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

/// How WebSocket connections are driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Driver {
    /// `weft-proto`'s `Connection` over a tokio `TcpStream`, by hand.
    Proto,
    /// The `weft-tokio` client (`connect_with`, `Sink` and `Stream`).
    Adapter,
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Driver::Proto => "proto",
            Driver::Adapter => "adapter",
        })
    }
}

/// When the run ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Length {
    /// After the warm-up, then the measured window.
    Time {
        warmup: Duration,
        measured: Duration,
    },
    /// After this many round trips in all, every one measured.
    Messages(u64),
}

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Options {
    pub(crate) target: Target,
    pub(crate) conns: usize,
    pub(crate) size: usize,
    pub(crate) length: Length,
    /// Messages per second over all connections; `None`: closed loop.
    pub(crate) rate: Option<f64>,
    pub(crate) idle: bool,
    pub(crate) text: bool,
    pub(crate) driver: Driver,
    pub(crate) batch: usize,
    pub(crate) json: bool,
}

impl BenchArgs {
    /// The run the arguments describe, or what is wrong with them.
    pub(crate) fn options(&self) -> Result<Options, String> {
        let target = match self.url.strip_prefix("tcp://") {
            Some(addr) => Target::Raw(addr.trim_end_matches('/').to_owned()),
            None => {
                let url = WsUrl::parse(&self.url).map_err(|e| e.to_string())?;
                if url.secure {
                    return Err("weft bench loads ws:// and tcp:// servers (no TLS)".into());
                }
                Target::Ws(url)
            }
        };
        if self.conns == 0 || self.size == 0 || self.batch == 0 {
            return Err("--conns, --size and --batch must be at least 1".into());
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!("--rate {rate}: not a positive number"));
            }
        }
        let length = match self.messages {
            Some(0) => return Err("--messages must be at least 1".into()),
            Some(n) => Length::Messages(n),
            None => {
                let warmup = seconds("warmup", self.warmup)?;
                let measured = seconds("duration", self.duration)?;
                if warmup + measured > LONGEST_RUN {
                    return Err("--warmup and --duration add up to more than a year".into());
                }
                Length::Time { warmup, measured }
            }
        };
        if let Some(rate) = self.rate {
            // Each connection's interval between two messages.
            let interval = Duration::try_from_secs_f64(self.conns as f64 / rate);
            if !interval.is_ok_and(|i| i <= LONGEST_RUN) {
                return Err(format!(
                    "--rate {rate}: too low for {} connections",
                    self.conns
                ));
            }
        }
        Ok(Options {
            target,
            conns: self.conns,
            size: self.size,
            length,
            rate: self.rate,
            idle: self.idle,
            text: self.text,
            driver: if self.adapter {
                Driver::Adapter
            } else {
                Driver::Proto
            },
            batch: self.batch,
            json: self.json,
        })
    }
}
