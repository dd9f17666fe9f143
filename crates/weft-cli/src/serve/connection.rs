//! One connection of `weft serve`: TLS if configured, a plain HTTP answer
//! or the upgrade with its checks, then the mode's work (echo, broadcast,
//! chat) until the connection ends or the server shuts down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use weft_tokio::{Accept, CloseCode, CloseFrame, Message, Reject, WebSocketStream};

use super::chat::{self, Request};
use super::hub::{Inbox, TOO_SLOW};
use super::request_head::{self, Head, Rewind};
use super::site::CHAT_SOCKET;
use super::{Mode, Settings};

/// How long a client may take over its TLS handshake or its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of what a client sends after a plain request is read and
/// dropped before its connection closes, and for how long at most.
const DRAIN_LIMIT: usize = 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a client may take to take one message (or to answer a close).
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves one accepted TCP connection.
pub(super) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    settings: Arc<Settings>,
    stopping: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    match &settings.tls {
        Some(acceptor) => {
            let Ok(Ok(tls)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(tcp)).await else {
                return;
            };
            route(tls, peer, settings, stopping).await;
        }
        None => route(tcp, peer, settings, stopping).await,
    }
}

/// Plain HTTP to the site, everything else to the engine.
async fn route<S>(
    mut stream: S,
    peer: SocketAddr,
    settings: Arc<Settings>,
    stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if !settings.site.serves_http() {
        return upgrade(stream, peer, settings, stopping).await;
    }
    let read = tokio::time::timeout(HEAD_TIMEOUT, request_head::read(&mut stream)).await;
    let Ok(Ok(Some((head, bytes)))) = read else {
        return;
    };
    match head {
        Head::Engine => upgrade(Rewind::new(bytes, stream), peer, settings, stopping).await,
        Head::Plain {
            method,
            path,
            query,
        } => {
            let _ = settings
                .site
                .answer(&mut stream, &method, &path, query.as_deref())
                .await;
            let _ = stream.shutdown().await;
            // What the client still sends (a body, a pipelined request) is
            // read and dropped for a moment: closing with it unread would
            // reset the connection, and the answer with it.
            let mut sink = [0u8; 4096];
            let draining = async {
                let mut left = DRAIN_LIMIT;
                while left > 0 {
                    match stream.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, draining).await;
        }
    }
}

/// The opening handshake with the server's checks, then the mode's work.
async fn upgrade<S>(
    stream: S,
    peer: SocketAddr,
    settings: Arc<Settings>,
    stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let permit = settings
        .slots
        .as_ref()
        .and_then(|slots| slots.clone().try_acquire_owned().ok());
    let full = settings.slots.is_some() && permit.is_none();
    let chat = matches!(settings.mode, Mode::Chat(_));
    // A broadcast client is a member from before its 101 is sent: once it
    // sees the upgrade succeed, it hears every message sent after.
    let mut membership = None;
    let accepted = weft_tokio::accept_with(stream, settings.config.clone(), |request| {
        if full {
            return Err(Reject::new(503).body("too many connections; try again later\n"));
        }
        if let Some(origin) = request.origin() {
            if !settings.origin_policy.allows(origin, request.host()) {
                return Err(Reject::new(403).body(format!("origin {origin} is not allowed\n")));
            }
        }
        if chat && request.path().split('?').next() != Some(CHAT_SOCKET) {
            return Err(
                Reject::new(404).body(format!("the chat's WebSocket is at {CHAT_SOCKET}\n"))
            );
        }
        if let Mode::Broadcast(hub) = &settings.mode {
            membership = Some(lock(hub).join());
        }
        Ok(Accept::new())
    })
    .await;
    let mut ws = match accepted {
        Ok(ws) => ws,
        Err(_) => {
            if let (Mode::Broadcast(hub), Some(inbox)) = (&settings.mode, membership) {
                lock(hub).leave(inbox.id);
            }
            return;
        }
    };
    ws.record_peer(peer);
    match &settings.mode {
        Mode::Echo => echo(ws, stopping).await,
        Mode::Broadcast(hub) => {
            let Some(inbox) = membership else {
                return;
            };
            let id = inbox.id;
            member(&mut ws, inbox, stopping, |message| {
                if message.is_data() {
                    lock(hub).publish(&message, Some(id));
                }
                None
            })
            .await;
            lock(hub).leave(id);
        }
        Mode::Chat(room) => {
            let Some(nick) = chat_join(&mut ws, stopping.clone()).await else {
                return;
            };
            let inbox = lock(room).join(&nick);
            let id = inbox.id;
            member(&mut ws, inbox, stopping, |message| match message {
                Message::Text(text) => match chat::parse(&text) {
                    Ok(Request::Say(text)) => {
                        lock(room).say(id, &text);
                        None
                    }
                    Ok(Request::Join(_)) => Some(chat::error("already joined")),
                    Err(e) => Some(chat::error(&e)),
                },
                Message::Binary(_) => Some(chat::error("the chat speaks JSON text messages")),
                _ => None,
            })
            .await;
            lock(room).leave(id);
        }
    }
    drop(permit);
}

/// A lock whose holder cannot have panicked halfway (nothing done under
/// it panics), taken even if poisoned.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `--echo`: every data message back to its sender.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(message)) if message.is_data() => {
                    if !send(&mut ws, message).await {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            _ = stopping.changed() => return going_away(ws).await,
        }
    }
}

/// A member of a hub: its messages go to `on_message` (whose answer, if
/// any, goes back to it alone), its inbox's messages go out to it, until
/// it leaves, the server stops or it is too slow.
async fn member<S, F>(
    ws: &mut WebSocketStream<S>,
    mut inbox: Inbox,
    mut stopping: watch::Receiver<bool>,
    mut on_message: F,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Message) -> Option<Message>,
{
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(message)) => {
                    if let Some(answer) = on_message(message) {
                        if !send(ws, answer).await {
                            return;
                        }
                    }
                }
                Some(Err(_)) | None => return,
            },
            queued = inbox.recv() => match queued {
                Some(message) => {
                    if !send(ws, message).await {
                        return;
                    }
                }
                // Removed from the hub with its queue full, and what the
                // queue held is sent.
                None => {
                    let frame = if inbox.overflowed() {
                        let queued = inbox.capacity();
                        let reason = format!("too slow: its queue (at most {queued} messages, {} MiB) is full", inbox.max_bytes() >> 20);
                        CloseFrame::new(TOO_SLOW, reason)
                    } else {
                        CloseFrame::new(CloseCode::GOING_AWAY, "removed")
                    };
                    return close(ws, frame).await;
                }
            },
            _ = stopping.changed() => {
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                return close(ws, frame).await;
            }
        }
    }
}

/// A chat client until it has joined: its nickname, or `None` if it left
/// first or the server stopped.
async fn chat_join<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    mut stopping: watch::Receiver<bool>,
) -> Option<String> {
    loop {
        tokio::select! {
            message = ws.next() => {
                let answer = match message? {
                    Ok(Message::Text(text)) => match chat::parse(&text) {
                        Ok(Request::Join(nick)) => return Some(nick),
                        Ok(Request::Say(_)) => chat::error("join first: {\"type\":\"join\",\"nick\":..}"),
                        Err(e) => chat::error(&e),
                    },
                    Ok(Message::Binary(_)) => chat::error("the chat speaks JSON text messages"),
                    Ok(_) => continue,
                    Err(_) => return None,
                };
                if !send(ws, answer).await {
                    return None;
                }
            }
            _ = stopping.changed() => {
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                close(ws, frame).await;
                return None;
            }
        }
    }
}

/// Closes with 1001 on shutdown.
async fn going_away<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) {
    let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
    close(&mut ws, frame).await;
}

/// Sends `message`, giving up (the connection is dropped) if the client
/// has not taken it within [`SEND_TIMEOUT`]: a client that stops reading
/// holds its task, its queue and the server's shutdown no longer than
/// that. `false` if the connection is over.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    message: Message,
) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, ws.send(message)).await,
        Ok(Ok(()))
    )
}

/// Sends `frame` and reads on until the closing handshake completes, each
/// bounded by [`SEND_TIMEOUT`].
async fn close<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, frame: CloseFrame) {
    if send(ws, Message::Close(Some(frame))).await {
        let reading = async { while ws.next().await.is_some() {} };
        let _ = tokio::time::timeout(SEND_TIMEOUT, reading).await;
    }
}
