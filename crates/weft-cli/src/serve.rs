//! `weft serve ADDR`: an echo server, with the checks a public one needs
//! (allowed origins, a connection limit, a message size limit), that
//! closes every connection with 1001 on Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use weft_tokio::{Accept, CloseCode, CloseFrame, Config, Message, Reject};

use crate::exit::Exit;

/// `weft serve`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on, such as 127.0.0.1:9001 (port 0: any free port).
    addr: SocketAddr,
    /// Echo text and binary messages (the default).
    #[arg(long)]
    echo: bool,
    /// The most connections at once; more are refused with 503.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// An Origin allowed to connect (repeatable); a request from a browser
    /// with any other Origin is refused with 403. Default: any.
    #[arg(long = "allowed-origin", value_name = "O")]
    allowed_origins: Vec<String>,
    /// The largest message accepted, in bytes (default 64 MiB); a larger one
    /// fails its connection with 1009.
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// Do not accept permessage-deflate.
    #[arg(long)]
    no_deflate: bool,
}

/// What every connection's task needs.
struct Settings {
    config: Config,
    allowed_origins: Vec<String>,
    slots: Option<Arc<Semaphore>>,
}

/// Runs `weft serve` until Ctrl-C.
pub(crate) async fn run(args: ServeArgs) -> Exit {
    let _ = args.echo;
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
    if let Some(max) = args.max_message_size {
        config = config.max_message_size(max).max_frame_size(max);
    }
    let settings = Arc::new(Settings {
        config,
        allowed_origins: args.allowed_origins,
        slots: args.max_connections.map(|n| Arc::new(Semaphore::new(n))),
    });
    println!("listening on ws://{local}");
    let (shutdown, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(serve_one(tcp, peer, settings.clone(), stopping.clone()));
                }
                Err(e) => eprintln!("weft: accept failed: {e}"),
            },
            // Finished connections are collected as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = &mut ctrl_c => break,
        }
    }
    eprintln!(
        "weft: shutting down: closing {} connections with 1001",
        connections.len()
    );
    let _ = shutdown.send(true);
    while connections.join_next().await.is_some() {}
    Exit::Ok
}

/// One connection: the upgrade with its checks, then echoes until it ends
/// or the server shuts down.
async fn serve_one(
    tcp: TcpStream,
    peer: SocketAddr,
    settings: Arc<Settings>,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let permit = settings
        .slots
        .as_ref()
        .and_then(|slots| slots.clone().try_acquire_owned().ok());
    let full = settings.slots.is_some() && permit.is_none();
    let accepted = weft_tokio::accept_with(tcp, settings.config.clone(), |request| {
        if full {
            return Err(Reject::new(503).body("too many connections; try again later\n"));
        }
        if let Some(origin) = request.origin() {
            let allowed = &settings.allowed_origins;
            if !allowed.is_empty() && !allowed.iter().any(|o| o == origin) {
                return Err(Reject::new(403).body(format!("origin {origin} is not allowed\n")));
            }
        }
        Ok(Accept::new())
    })
    .await;
    let Ok(mut ws) = accepted else {
        return;
    };
    ws.record_peer(peer);
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(message)) if message.is_data() => {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = stopping.changed() => {
                let going_away = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                let _ = ws.send(Message::Close(Some(going_away))).await;
                // Reading on completes the closing handshake (bounded by the
                // close timeout).
                while ws.next().await.is_some() {}
                break;
            }
        }
    }
    drop(permit);
}
