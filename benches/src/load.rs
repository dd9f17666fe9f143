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

use std::fmt;
use std::io::{self, IoSlice, Write};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use weft_proto::handshake::{ClientHandshake, OutgoingRequest};
use weft_proto::{CloseCode, Config, Connection, Event, Utf8Bytes};
use weft_tokio::{ClientOptions, Message, OsRandom, WsUrl};

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

/// The read buffer of a connection under load. Idle connections have none.
const READ_BUF: usize = 64 * 1024;

/// The usage text of the `loadgen` binary.
pub const USAGE: &str = "\
usage: loadgen (--url ws://HOST:PORT/PATH | --raw HOST:PORT) [options]

  --url URL        WebSocket echo server to load
  --raw ADDR       raw TCP echo server: send SIZE bytes, read SIZE bytes back
  --conns N        connections, each with one message in flight (default 1)
  --size S         message size in bytes (default 16)
  --duration D     measured seconds, after the warm-up (default 5)
  --warmup W       seconds run but not counted (default 1)
  --idle           open N connections, print `loadgen idle open=N errors=E`
                   once all are open, hold them (sending nothing) for D
                   seconds or until killed
  --text           send text messages instead of binary ones
  --adapter        drive WebSocket connections with the weft-tokio client
                   instead of weft-proto directly over TCP
  --batch B        connections being opened at any time (default 100,
                   below the 128 listen backlog of TcpListener::bind)

Prints one summary line; exits with status 1 if any error occurred.";

/// What to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A WebSocket server at this `ws://` URL.
    Ws(WsUrl),
    /// A raw TCP echo server at `host:port`.
    Raw(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Ws(url) => {
                let host = url.host_header();
                // The Host header leaves out the default port; the summary
                // names it, so that every line says where it went.
                if host.ends_with(&format!(":{}", url.port)) {
                    write!(f, "ws://{host}{}", url.target)
                } else {
                    write!(f, "ws://{host}:{}{}", url.port, url.target)
                }
            }
            Target::Raw(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

/// How WebSocket connections are driven (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
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

/// What to run: the parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The server.
    pub target: Target,
    /// How many connections, each with one message in flight.
    pub conns: usize,
    /// The size of each message in bytes (at least 1).
    pub size: usize,
    /// How long the measured window lasts (in idle mode: how long the
    /// connections are held).
    pub duration: Duration,
    /// How long the load runs before the measured window starts.
    pub warmup: Duration,
    /// Open the connections and hold them without sending anything.
    pub idle: bool,
    /// Send text messages (WebSocket only).
    pub text: bool,
    /// How WebSocket connections are driven.
    pub driver: Driver,
    /// How many connections are being opened at any time (the TCP connect
    /// and the handshake); another starts as soon as one is open. Keep it
    /// below the server's listen backlog (128 for a listener bound with
    /// `std` or tokio's `TcpListener::bind`), or the kernel drops SYNs
    /// and each drop costs the connection a one-second retransmission.
    pub batch: usize,
}

impl Options {
    /// Parses the arguments after the program name. `Err` carries what was
    /// wrong, or [`USAGE`] for `--help`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut args = args.into_iter();
        let mut target = None;
        let mut options = Options {
            target: Target::Raw(String::new()),
            conns: 1,
            size: 16,
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            idle: false,
            text: false,
            driver: Driver::Proto,
            batch: 100,
        };
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = || -> Result<String, String> {
                match inline {
                    Some(v) => Ok(v.to_owned()),
                    None => args.next().ok_or(format!("{flag} needs a value")),
                }
            };
            match flag.as_str() {
                "--url" => {
                    let url = WsUrl::parse(&value()?).map_err(|e| e.to_string())?;
                    if url.secure {
                        return Err(
                            "wss:// is not supported: the comparison is over plain TCP".into()
                        );
                    }
                    target = Some(Target::Ws(url));
                }
                "--raw" => target = Some(Target::Raw(value()?)),
                "--conns" => options.conns = number(&flag, &value()?)?,
                "--size" => options.size = number(&flag, &value()?)?,
                "--duration" => options.duration = seconds(&flag, &value()?)?,
                "--warmup" => options.warmup = seconds(&flag, &value()?)?,
                "--batch" => options.batch = number(&flag, &value()?)?,
                "--idle" => options.idle = true,
                "--text" => options.text = true,
                "--adapter" => options.driver = Driver::Adapter,
                "-h" | "--help" => return Err(USAGE.into()),
                _ => return Err(format!("unknown argument {arg:?}")),
            }
        }
        options.target = target.ok_or("give the server with --url or --raw")?;
        if options.conns == 0 || options.size == 0 || options.batch == 0 {
            return Err("--conns, --size and --batch must be at least 1".into());
        }
        if options.text && matches!(options.target, Target::Raw(_)) {
            return Err("--text applies to WebSocket targets only".into());
        }
        Ok(options)
    }
}

fn number(flag: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a whole number"))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or(format!("{flag}: {value:?} is not a number of seconds"))
}

/// The result of a run; its `Display` is the one summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The server.
    pub target: Target,
    /// How WebSocket connections were driven.
    pub driver: Driver,
    /// Whether text messages were sent.
    pub text: bool,
    /// Connections asked for.
    pub conns: usize,
    /// Message size in bytes.
    pub size: usize,
    /// The measured window.
    pub duration: Duration,
    /// Round trips completed inside the measured window.
    pub messages: u64,
    /// Round-trip time percentiles in microseconds: 50th, 99th, 99.9th
    /// and the maximum (zero when nothing was measured).
    pub p50_us: f64,
    /// See [`Summary::p50_us`].
    pub p99_us: f64,
    /// See [`Summary::p50_us`].
    pub p999_us: f64,
    /// See [`Summary::p50_us`].
    pub max_us: f64,
    /// Failed connections, wrong echoes, stalls, unclean closes.
    pub errors: u64,
}

impl Summary {
    /// Round trips per second in the measured window.
    pub fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.duration.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Payload megabytes (10^6 bytes) echoed per second, counted once (the
    /// bytes sent; as many came back).
    pub fn mb_per_sec(&self) -> f64 {
        self.msgs_per_sec() * self.size as f64 / 1e6
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match (&self.target, self.text) {
            (Target::Raw(_), _) => "raw",
            (Target::Ws(_), true) => "text",
            (Target::Ws(_), false) => "binary",
        };
        let driver = match self.target {
            Target::Raw(_) => "tcp".to_owned(),
            Target::Ws(_) => self.driver.to_string(),
        };
        write!(
            f,
            "loadgen target={} driver={driver} kind={kind} conns={} size={} duration={} \
             messages={} msgs_per_sec={:.1} mb_per_sec={:.1} p50_us={:.1} p99_us={:.1} \
             p999_us={:.1} max_us={:.1} errors={}",
            self.target,
            self.conns,
            self.size,
            self.duration.as_secs_f64(),
            self.messages,
            self.msgs_per_sec(),
            self.mb_per_sec(),
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.errors,
        )
    }
}

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

/// The `q` quantile (0 < q ≤ 1) of sorted values, by the nearest rank.
fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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

/// The message a connection sends again and again: a pattern of its own.
struct Payload {
    bytes: Bytes,
    /// The same bytes as text, when sending text.
    text: Option<Utf8Bytes>,
}

impl Payload {
    fn new(index: usize, size: usize, text: bool) -> Payload {
        if text {
            let s: String = (0..size)
                .map(|i| char::from(b'a' + ((index * 7 + i) % 26) as u8))
                .collect();
            let text = Utf8Bytes::from(s);
            Payload {
                bytes: text.as_bytes().clone(),
                text: Some(text),
            }
        } else {
            // A simple generator, seeded by the connection's index.
            let mut x = (index as u32).wrapping_mul(0x9e37_79b9) | 1;
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            Payload {
                bytes: bytes.into(),
                text: None,
            }
        }
    }

    /// Checks an echo: always its length, its content when `content`.
    fn check(&self, echo: &[u8], content: bool) -> Result<(), String> {
        if echo.len() != self.bytes.len() {
            return Err(format!(
                "echo of {} bytes for a message of {}",
                echo.len(),
                self.bytes.len()
            ));
        }
        if content && echo != &self.bytes[..] {
            let at = echo
                .iter()
                .zip(self.bytes.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(format!("echo differs from the message sent at byte {at}"));
        }
        Ok(())
    }
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

/// One connection of whichever kind.
enum Client {
    Raw(RawClient),
    Proto(Box<ProtoClient>),
    Adapter(Box<weft_tokio::WebSocketStream<weft_tokio::MaybeTlsStream<TcpStream>>>),
}

/// The client's protocol settings: the core's defaults (64 MiB messages,
/// no compression offered).
fn client_config() -> Config {
    Config::default()
}

impl Client {
    async fn open(target: &Target, driver: Driver) -> Result<Client, String> {
        match (target, driver) {
            (Target::Raw(addr), _) => {
                let tcp = TcpStream::connect(addr.as_str())
                    .await
                    .map_err(|e| format!("connecting to {addr}: {e}"))?;
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                Ok(Client::Raw(RawClient {
                    tcp,
                    buf: Vec::new(),
                }))
            }
            (Target::Ws(url), Driver::Proto) => {
                Ok(Client::Proto(Box::new(ProtoClient::open(url).await?)))
            }
            (Target::Ws(url), Driver::Adapter) => {
                let options = ClientOptions::new().config(client_config());
                let (ws, _response) = weft_tokio::connect_with(&target.to_string(), options)
                    .await
                    .map_err(|e| format!("connecting to {}: {e}", url.authority()))?;
                Ok(Client::Adapter(Box::new(ws)))
            }
        }
    }

    /// Sends the payload once and waits for its echo.
    async fn round_trip(&mut self, payload: &Payload, content: bool) -> Result<(), String> {
        match self {
            Client::Raw(raw) => raw.round_trip(payload, content).await,
            Client::Proto(ws) => ws.round_trip(payload, content).await,
            Client::Adapter(ws) => {
                let message = match &payload.text {
                    Some(text) => Message::Text(text.clone()),
                    None => Message::Binary(payload.bytes.clone()),
                };
                ws.send(message).await.map_err(|e| e.to_string())?;
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Binary(echo))) if payload.text.is_none() => {
                            return payload.check(&echo, content)
                        }
                        Some(Ok(Message::Text(echo))) if payload.text.is_some() => {
                            return payload.check(echo.as_bytes(), content)
                        }
                        Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                            return Err("the echo is not of the kind sent".into())
                        }
                        Some(Ok(Message::Close(frame))) => {
                            return Err(format!("the server closed: {frame:?}"))
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(e.to_string()),
                        None => {
                            return Err(match ws.close_reason() {
                                Some(reason) => format!("the connection ended: {reason}"),
                                None => "the connection ended".into(),
                            })
                        }
                    }
                }
            }
        }
    }

    /// Ends the connection: a closing handshake that must end cleanly (the
    /// server answers the close and closes TCP), or for raw TCP a
    /// half-close answered by the server's end of stream.
    async fn close(&mut self) -> Result<(), String> {
        match self {
            Client::Raw(raw) => raw.close().await,
            Client::Proto(ws) => ws.close().await,
            Client::Adapter(ws) => {
                ws.send(Message::Close(None))
                    .await
                    .map_err(|e| format!("sending the close: {e}"))?;
                while let Some(message) = ws.next().await {
                    message.map_err(|e| format!("while closing: {e}"))?;
                }
                match ws.close_reason() {
                    Some(reason) if reason.is_clean() => Ok(()),
                    Some(reason) => Err(format!("unclean close: {reason}")),
                    None => Err("the connection ended without a close reason".into()),
                }
            }
        }
    }
}

/// Raw TCP: write the payload, read exactly as many bytes back.
struct RawClient {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    async fn round_trip(&mut self, payload: &Payload, content: bool) -> Result<(), String> {
        let size = payload.bytes.len();
        if self.buf.len() != size {
            self.buf = vec![0; size];
        }
        self.tcp
            .write_all(&payload.bytes)
            .await
            .map_err(|e| format!("writing: {e}"))?;
        self.tcp
            .read_exact(&mut self.buf)
            .await
            .map_err(|e| format!("reading the echo: {e}"))?;
        payload.check(&self.buf, content)
    }

    async fn close(&mut self) -> Result<(), String> {
        self.tcp
            .shutdown()
            .await
            .map_err(|e| format!("shutting down: {e}"))?;
        let mut rest = [0u8; 1024];
        match self.tcp.read(&mut rest).await {
            Ok(0) => Ok(()),
            Ok(n) => Err(format!("{n} unexpected bytes after the last echo")),
            Err(e) => Err(format!("waiting for the end of stream: {e}")),
        }
    }
}

/// A `weft_proto::Connection` driven by hand over a tokio `TcpStream`.
struct ProtoClient {
    tcp: TcpStream,
    conn: Connection,
    /// Empty until the first round trip, so idle connections stay small.
    buf: Vec<u8>,
}

impl ProtoClient {
    async fn open(url: &WsUrl) -> Result<ProtoClient, String> {
        let io = |what: &'static str| move |e: io::Error| format!("{what}: {e}");
        let mut tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("connecting to {}: {e}", url.authority()))?;
        tcp.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
        let mut random = OsRandom::new().map_err(io("randomness"))?;
        let request = OutgoingRequest::new(url.host_header(), url.target.clone());
        let mut handshake =
            ClientHandshake::new(request, client_config(), random.nonce(), Instant::now())
                .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        handshake.write_request(&mut head);
        tcp.write_all(&head)
            .await
            .map_err(io("writing the handshake"))?;
        let mut buf = [0u8; 4096];
        loop {
            let n = tcp
                .read(&mut buf)
                .await
                .map_err(io("reading the handshake"))?;
            if n == 0 {
                return Err(handshake.handle_eof().to_string());
            }
            if handshake
                .handle_data(&buf[..n])
                .map_err(|e| e.to_string())?
                .is_some()
            {
                break;
            }
        }
        let conn = handshake
            .into_connection(random, Instant::now())
            .map_err(|e| e.to_string())?;
        Ok(ProtoClient {
            tcp,
            conn,
            buf: Vec::new(),
        })
    }

    /// Writes everything the connection has queued, vectored.
    async fn flush(&mut self) -> Result<(), String> {
        while let Some(mut transmit) = self.conn.poll_transmit() {
            while transmit.has_remaining() {
                let mut slices = [IoSlice::new(&[]); 8];
                let n = transmit.chunks_vectored(&mut slices);
                let written = self
                    .tcp
                    .write_vectored(&slices[..n])
                    .await
                    .map_err(|e| format!("writing: {e}"))?;
                if written == 0 {
                    return Err("writing: the socket accepted no bytes".into());
                }
                transmit.advance(written);
            }
        }
        if self.conn.poll_shutdown() {
            let _ = self.tcp.shutdown().await;
        }
        Ok(())
    }

    /// Reads once and feeds the bytes (or the end of stream) to the core.
    async fn read(&mut self) -> Result<(), String> {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BUF];
        }
        let n = self
            .tcp
            .read(&mut self.buf)
            .await
            .map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            self.conn.handle_eof(Instant::now());
        } else {
            self.conn.handle_data(Instant::now(), &self.buf[..n]);
        }
        Ok(())
    }

    async fn round_trip(&mut self, payload: &Payload, content: bool) -> Result<(), String> {
        let queued = match &payload.text {
            Some(text) => self.conn.send_text(text.clone()),
            None => self.conn.send_binary(payload.bytes.clone()),
        };
        queued.map_err(|e| format!("sending: {e}"))?;
        self.flush().await?;
        loop {
            while let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Binary(echo) if payload.text.is_none() => {
                        return payload.check(&echo, content)
                    }
                    Event::Text(echo) if payload.text.is_some() => {
                        return payload.check(echo.as_bytes(), content)
                    }
                    Event::Text(_) | Event::Binary(_) => {
                        return Err("the echo is not of the kind sent".into())
                    }
                    Event::CloseReceived(frame) => {
                        return Err(format!("the server closed: {frame}"))
                    }
                    Event::Closed(reason) => return Err(format!("the connection ended: {reason}")),
                    // Pings are answered by the core (written by the flush
                    // below); pongs and anything else are not echoes.
                    _ => {}
                }
            }
            self.flush().await?;
            self.read().await?;
        }
    }

    async fn close(&mut self) -> Result<(), String> {
        self.conn
            .close(Instant::now(), CloseCode::NORMAL, "")
            .map_err(|e| format!("closing: {e}"))?;
        loop {
            self.flush().await?;
            while let Some(event) = self.conn.poll_event() {
                if let Event::Closed(reason) = event {
                    self.flush().await?;
                    return if reason.is_clean() {
                        Ok(())
                    } else {
                        Err(format!("unclean close: {reason}"))
                    };
                }
            }
            self.flush().await?;
            self.read().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let o = parse(&["--url", "ws://127.0.0.1:9000/"]).unwrap();
        assert_eq!((o.conns, o.size, o.idle, o.text), (1, 16, false, false));
        assert_eq!(o.duration, Duration::from_secs(5));
        assert_eq!(o.warmup, Duration::from_secs(1));
        assert_eq!(o.target.to_string(), "ws://127.0.0.1:9000/");

        let o = parse(&[
            "--raw",
            "127.0.0.1:9001",
            "--conns=100",
            "--size",
            "65536",
            "--duration",
            "0.5",
            "--warmup",
            "0",
            "--idle",
        ])
        .unwrap();
        assert_eq!(o.target, Target::Raw("127.0.0.1:9001".into()));
        assert_eq!((o.conns, o.size, o.idle), (100, 65536, true));
        assert_eq!(o.duration, Duration::from_millis(500));
        assert_eq!(o.warmup, Duration::ZERO);

        assert!(parse(&[]).is_err());
        assert!(parse(&["--url", "wss://example.com/"]).is_err());
        assert!(parse(&["--raw", "127.0.0.1:1", "--text"]).is_err());
        assert!(parse(&["--url", "ws://h/", "--size", "0"]).is_err());
        assert!(parse(&["--url", "ws://h/", "--bogus"]).is_err());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(percentile(&[7], 0.001), 7);
    }

    #[test]
    fn payloads_differ_by_connection_and_check() {
        let a = Payload::new(0, 64, false);
        let b = Payload::new(1, 64, false);
        assert_ne!(a.bytes, b.bytes);
        assert!(a.check(&a.bytes, true).is_ok());
        assert!(a.check(&b.bytes, true).is_err());
        assert!(a.check(&b.bytes, false).is_ok());
        assert!(a.check(&a.bytes[1..], false).is_err());
        let t = Payload::new(3, 10, true);
        assert!(t.text.as_ref().unwrap().as_str().is_ascii());
    }
}
