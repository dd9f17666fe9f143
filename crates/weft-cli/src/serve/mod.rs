//! `weft serve ADDR`: an echo server (the default), a broadcast server or
//! a chat room with its web page, over ws:// or wss://, with the checks a
//! public one needs (allowed origins, a connection limit, a message size
//! limit), that closes every connection with 1001 on Ctrl-C or SIGTERM.

mod chat;
mod connection;
mod request_head;
mod site;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use weft_tokio::{Config, OriginPolicy};

use crate::exit::Exit;
use site::Site;
use weft_hub::{Hub, HubOptions};

/// `weft serve`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on, such as 127.0.0.1:9001 (port 0: any free port).
    addr: SocketAddr,
    /// Echo text and binary messages (the default).
    #[arg(long, conflicts_with_all = ["broadcast", "chat"])]
    echo: bool,
    /// Send each message to every other client. A client that cannot keep
    /// up (its queue of --send-queue messages full) is closed with 1013.
    #[arg(long, conflicts_with = "chat")]
    broadcast: bool,
    /// A chat room: its web page at /, its WebSocket at /ws.
    #[arg(long)]
    chat: bool,
    /// Serve the files of DIR to plain HTTP requests.
    #[arg(long = "static", value_name = "DIR")]
    static_dir: Option<PathBuf>,
    /// A PEM certificate chain: serve wss:// (with --key).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// The most connections at once; more are refused with 503.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// An Origin allowed to connect (repeatable); a request from a browser
    /// with any other Origin is refused with 403. Default: an Origin of
    /// this server's own host and port (the request's Host).
    #[arg(
        long = "allowed-origin",
        value_name = "O",
        conflicts_with = "any_origin"
    )]
    allowed_origins: Vec<String>,
    /// Let pages of any origin connect (no cross-site check).
    #[arg(long)]
    any_origin: bool,
    /// The largest message accepted, in bytes (default 64 MiB; 1 MiB with
    /// --broadcast, 64 KiB with --chat); a larger one fails its connection
    /// with 1009.
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// With --broadcast or --chat: the messages queued for one client
    /// before it counts as too slow and is closed with 1013 (its queue also
    /// holds at most 16 MiB, or one message of the largest size).
    #[arg(long, value_name = "N", default_value_t = weft_hub::DEFAULT_QUEUE)]
    send_queue: usize,
    /// With --broadcast or --chat: share the clients' messages with every
    /// node using the same Redis (redis://HOST:PORT/DB), through one Redis
    /// stream per topic; nodes behind a load balancer form one service.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// With --chat: how many messages a client may miss and still resume
    /// after a disconnection (with --redis, each stream keeps at least
    /// 1024 entries, what the nodes read from).
    #[arg(long, value_name = "N", default_value_t = weft_hub::DEFAULT_HISTORY_LEN)]
    history_len: usize,
    /// With --chat: how long the history keeps a message, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = weft_hub::DEFAULT_HISTORY_AGE.as_secs())]
    history_age: u64,
    /// With --redis: how long a node's clients stay in the presence after
    /// its last heartbeat (one every third of it), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = weft_hub::DEFAULT_NODE_TTL.as_secs())]
    node_ttl: u64,
    /// Do not accept permessage-deflate.
    #[arg(long)]
    no_deflate: bool,
}

/// What the server does with each connection's messages.
pub(crate) enum Mode {
    /// Sends each back.
    Echo,
    /// Sends each to every other client, of every node.
    Broadcast(Hub),
    /// The chat room.
    Chat(Hub),
}

/// What every connection's task needs.
pub(crate) struct Settings {
    config: Config,
    origin_policy: OriginPolicy,
    slots: Option<Arc<Semaphore>>,
    mode: Mode,
    site: Site,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Runs `weft serve` until Ctrl-C.
pub(crate) async fn run(args: ServeArgs) -> Exit {
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => match tls::acceptor(cert, key) {
            Ok(acceptor) => Some(acceptor),
            Err(e) => {
                eprintln!("weft: {e}");
                return Exit::Usage;
            }
        },
        _ => None,
    };
    if let Some(dir) = &args.static_dir {
        if !dir.is_dir() {
            eprintln!("weft: --static {}: not a directory", dir.display());
            return Exit::Usage;
        }
    }
    let listener = match TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("weft: cannot listen on {}: {e}", args.addr);
            return Exit::Other;
        }
    };
    let local = listener.local_addr().unwrap_or(args.addr);
    let mut config = weft_io::default_config();
    if args.no_deflate {
        config = config.deflate(None);
    }
    // A message fanned out is held once per member: the default limit is
    // lower there than for an echo, and the chat's lower still.
    let max_message = args.max_message_size.or(if args.chat {
        Some(chat::MAX_MESSAGE)
    } else if args.broadcast {
        Some(MAX_BROADCAST_MESSAGE)
    } else {
        None
    });
    if let Some(max) = max_message {
        config = config.max_message_size(max).max_frame_size(max);
    }
    let queue_bytes = weft_hub::DEFAULT_QUEUE_BYTES.max(max_message.unwrap_or(0));
    if args.redis.is_some() && !(args.chat || args.broadcast) {
        eprintln!("weft: --redis shares the messages of --chat or --broadcast; give one of them");
        return Exit::Usage;
    }
    let mut options = HubOptions::new()
        .queue(args.send_queue)
        .queue_bytes(queue_bytes)
        .history_len(args.history_len)
        .history_age(Duration::from_secs(args.history_age))
        .node_ttl(Duration::from_secs(args.node_ttl));
    if args.chat {
        options = options.framer(chat::framer());
    } else {
        // The broadcast resumes nobody: it keeps no history to speak of.
        options = options.history_len(1);
    }
    let hub = match &args.redis {
        None => Hub::new(options),
        Some(url) => match Hub::redis(url, options).await {
            Ok(hub) => {
                eprintln!(
                    "weft: node {} shares its clients' messages through Redis at {url}",
                    hub.node()
                );
                hub
            }
            Err(e) => {
                eprintln!("weft: {e}");
                return match e.kind() {
                    weft_hub::ErrorKind::Config => Exit::Usage,
                    weft_hub::ErrorKind::Unavailable => Exit::Connect,
                    _ => Exit::Other,
                };
            }
        },
    };
    let mode = if args.chat {
        Mode::Chat(hub)
    } else if args.broadcast {
        Mode::Broadcast(hub)
    } else {
        Mode::Echo
    };
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let settings = Arc::new(Settings {
        config,
        origin_policy: match (args.any_origin, args.allowed_origins.is_empty()) {
            (true, _) => OriginPolicy::Any,
            (false, true) => OriginPolicy::SameHost,
            (false, false) => OriginPolicy::Allow(args.allowed_origins),
        },
        slots: args.max_connections.map(|n| Arc::new(Semaphore::new(n))),
        mode,
        site: Site {
            chat: args.chat,
            static_dir: args.static_dir,
        },
        tls,
    });
    // Listened for before the line is printed: whoever waits for it may
    // interrupt at once.
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("weft: cannot listen for signals: {e}");
            return Exit::Other;
        }
    };
    println!("listening on {scheme}://{local}");
    if args.chat {
        let page = if scheme == "wss" { "https" } else { "http" };
        eprintln!("weft: the chat page is at {page}://{local}/");
    }
    let (shutdown, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let task = connection::serve(tcp, peer, settings.clone(), stopping.clone());
                    connections.spawn(task);
                }
                Err(e) => {
                    // Out of descriptors, most likely: accepting again at
                    // once would fail again at once.
                    eprintln!("weft: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Finished connections are collected as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = signals.next() => break,
        }
    }
    eprintln!(
        "weft: shutting down: closing {} with 1001",
        count(connections.len())
    );
    let _ = shutdown.send(true);
    let grace = tokio::time::sleep(SHUTDOWN_GRACE);
    tokio::pin!(grace);
    while !connections.is_empty() {
        tokio::select! {
            _ = connections.join_next() => {}
            _ = &mut grace => {
                eprintln!("weft: {} did not close in time; dropping them", count(connections.len()));
                break;
            }
            _ = signals.next() => {
                eprintln!("weft: interrupted again; dropping {}", count(connections.len()));
                break;
            }
        }
    }
    connections.abort_all();
    Exit::Ok
}

/// `1 connection`, `2 connections`.
fn count(n: usize) -> String {
    match n {
        1 => "1 connection".to_owned(),
        n => format!("{n} connections"),
    }
}

/// How long to wait after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long the connections have to close on shutdown: each closing
/// handshake is bounded by the send timeout twice over.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(45);

/// The largest message `--broadcast` accepts unless told otherwise.
const MAX_BROADCAST_MESSAGE: usize = 1024 * 1024;

/// SIGINT (Ctrl-C) and SIGTERM (a service manager stopping the server).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal to stop.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
