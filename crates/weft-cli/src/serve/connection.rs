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

use weft_hub::{Kind, Since, Subscription};

use super::chat::{self, Request};
use super::request_head::{self, Head, Rewind};
use super::site::CHAT_SOCKET;
use super::{Mode, Settings};

/// The close code of a member removed for not keeping up: 1013, try again
/// later (a reconnecting client does).
const TOO_SLOW: CloseCode = CloseCode::TRY_AGAIN_LATER;

/// The hub topic of `--broadcast`.
const BROADCAST_TOPIC: &str = "broadcast";

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
    let membership = match &settings.mode {
        Mode::Broadcast(hub) => Some(hub.subscribe(BROADCAST_TOPIC, Since::Now).await),
        _ => None,
    };
    let accepted = weft_tokio::accept_with(stream, settings.config.clone(), |request| {
        if full {
            return Err(Reject::new(503).body("too many connections; try again later\n"));
        }
        if let Some(Err(e)) = &membership {
            return Err(Reject::new(503).body(format!("the broadcast is unavailable: {e}\n")));
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
        Ok(Accept::new())
    })
    .await;
    let Ok(mut ws) = accepted else {
        return;
    };
    ws.record_peer(peer);
    match &settings.mode {
        Mode::Echo => echo(ws, stopping).await,
        Mode::Broadcast(_) => {
            let Some(Ok(mut subscription)) = membership else {
                return;
            };
            member(&mut ws, &mut subscription, None, stopping, Role::Broadcast).await;
            subscription.leave().await;
        }
        Mode::Chat(hub) => {
            let Some((nick, since)) = chat_join(&mut ws, stopping.clone()).await else {
                return;
            };
            let since = match since {
                Some(from) => Since::Resume {
                    from,
                    else_recent: chat::HISTORY,
                },
                None => Since::Recent(chat::HISTORY),
            };
            let mut subscription = match hub.subscribe(chat::TOPIC, since).await {
                Ok(subscription) => subscription,
                Err(e) => {
                    let mut reason = format!("the chat is unavailable: {e}");
                    // A close reason holds at most 123 bytes.
                    let mut end = reason.len().min(120);
                    while !reason.is_char_boundary(end) {
                        end -= 1;
                    }
                    reason.truncate(end);
                    return close(&mut ws, CloseFrame::new(CloseCode::TRY_AGAIN_LATER, reason))
                        .await;
                }
            };
            let mut online: Vec<String> = match hub.presence(chat::TOPIC).await {
                Ok(online) => online
                    .iter()
                    .map(|nick| String::from_utf8_lossy(nick).into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            };
            online.push(nick.clone());
            let history = subscription.take_history();
            let position = subscription.position();
            let epoch = position.epoch.clone();
            let welcome = chat::welcome(
                &nick,
                hub.node(),
                &position,
                subscription.recovery(),
                &history,
                &online,
            );
            drop(history);
            if !send(&mut ws, welcome).await {
                return subscription.leave().await;
            }
            if let Err(e) = subscription.join_presence(nick.clone().into()).await {
                tracing::warn!(error = %e, "a chat member could not join the presence");
            }
            let role = Role::Chat { nick: &nick };
            member(&mut ws, &mut subscription, Some(epoch), stopping, role).await;
            subscription.leave().await;
        }
    }
    drop(permit);
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

/// What a member's messages are.
enum Role<'a> {
    /// Each goes to every other client.
    Broadcast,
    /// Chat requests of `nick`.
    Chat { nick: &'a str },
}

impl Role<'_> {
    /// Does what a member's `message` asks; the answer, if any, is for it
    /// alone.
    async fn handle(&self, subscription: &Subscription, message: Message) -> Option<Message> {
        match self {
            Role::Broadcast => {
                let (kind, payload) = match message {
                    Message::Text(text) => (Kind::Text, text.into()),
                    Message::Binary(data) => (Kind::Binary, data),
                    _ => return None,
                };
                // At most once: a message the backplane did not take is
                // dropped (the sender's connection goes on).
                if let Err(e) = subscription.publish(kind, payload, false).await {
                    tracing::warn!(error = %e, "a broadcast message was not published");
                }
                None
            }
            Role::Chat { nick } => match message {
                Message::Text(text) => match chat::parse(&text) {
                    Ok(Request::Say(text)) => {
                        let said = chat::said(nick, &text);
                        match subscription.publish(Kind::Text, said, true).await {
                            Ok(_) => None,
                            Err(e) => Some(chat::error(&format!("not sent: {e}: {text}"))),
                        }
                    }
                    Ok(Request::Join { .. }) => Some(chat::error("already joined")),
                    Err(e) => Some(chat::error(&e)),
                },
                Message::Binary(_) => Some(chat::error("the chat speaks JSON text messages")),
                _ => None,
            },
        }
    }
}

/// A member of a hub topic: its messages go to `role` (whose
/// answer, if any, goes back to it alone), the topic's messages go out to
/// it, until it leaves, the server stops, or the hub removes it (too slow,
/// or behind a gap its node could not read). With `epoch`,
/// a message of another epoch (the history was lost: Redis restarted
/// without persistence) closes it with 1012, so that its client comes back
/// and learns it did not recover.
async fn member<S>(
    ws: &mut WebSocketStream<S>,
    subscription: &mut Subscription,
    epoch: Option<weft_hub::Epoch>,
    mut stopping: watch::Receiver<bool>,
    role: Role<'_>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(message)) => {
                    if let Some(answer) = role.handle(subscription, message).await {
                        if !send(ws, answer).await {
                            return;
                        }
                    }
                }
                Some(Err(_)) | None => return,
            },
            queued = subscription.recv() => match queued {
                Some(delivery) => {
                    if epoch.as_ref().is_some_and(|epoch| *epoch != delivery.entry.epoch) {
                        let frame = CloseFrame::new(CloseCode::SERVICE_RESTART, "the history was reset");
                        return close(ws, frame).await;
                    }
                    if !send(ws, delivery.message).await {
                        return;
                    }
                }
                // Removed from the hub, and what the queue held is sent:
                // it missed messages its node could not read in time, so
                // it comes back and learns whether it recovered (1012);
                // or its queue was full (1013).
                None if subscription.lagged() => {
                    let frame = CloseFrame::new(CloseCode::SERVICE_RESTART, "missed messages: the history moved on");
                    return close(ws, frame).await;
                }
                None => {
                    let queued = subscription.queue_capacity();
                    let max_bytes = subscription.queue_bytes();
                    let reason = format!("too slow: its queue (at most {queued} messages, {} MiB) is full", max_bytes >> 20);
                    return close(ws, CloseFrame::new(TOO_SLOW, reason)).await;
                }
            },
            _ = stopping.changed() => {
                let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                return close(ws, frame).await;
            }
        }
    }
}

/// A chat client until it has joined: its nickname and the position it
/// resumes from, or `None` if it left first or the server stopped.
async fn chat_join<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    mut stopping: watch::Receiver<bool>,
) -> Option<(String, Option<weft_hub::Position>)> {
    loop {
        tokio::select! {
            message = ws.next() => {
                let answer = match message? {
                    Ok(Message::Text(text)) => match chat::parse(&text) {
                        Ok(Request::Join { nick, since }) => return Some((nick, since)),
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
