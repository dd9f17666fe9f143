//! The command line of `loadgen`: what to connect to, how many
//! connections, what to send, for how long; [`USAGE`] is its `--help`.

use std::fmt;
use std::time::Duration;

use weft_tokio::WsUrl;

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
}
