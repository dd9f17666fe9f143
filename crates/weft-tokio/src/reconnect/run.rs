//! The task behind a [`ReconnectingClient`](super::ReconnectingClient):
//! connect, run the hook, write the queue, read, and after a loss ask the
//! supervisor whether and when to try again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use weft_io::reconnect::{ClientEvent, Disconnect, MessageId, Supervisor};
use weft_io::{ClientOptions, Message};
use weft_proto::CloseReason;

use super::builder::{Hook, Provider};
use super::shared::Shared;
use super::Ws;
use crate::connect_with;

/// What the task runs with.
pub(super) struct Parts {
    pub(super) url: String,
    pub(super) options: ClientOptions,
    pub(super) supervisor: Supervisor,
    pub(super) hook: Option<Hook>,
    pub(super) provider: Option<Provider>,
}

/// How a connection's session ended.
enum End {
    /// Lost: reconnect if the supervisor says so.
    Lost(Disconnect),
    /// The application closed; the reason the connection ended with.
    Closed(Option<CloseReason>),
    /// No one reads the events any more.
    Abandoned,
}

/// Now, on tokio's clock (paused in tests).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Runs the client until it gives up, the application closes, or the
/// handle is dropped.
pub(super) async fn run(mut parts: Parts, shared: Arc<Shared>, events: mpsc::Sender<ClientEvent>) {
    let events = &events;
    loop {
        if shared.close_requested() {
            finish(&shared, events, ClientEvent::Closed(None)).await;
            return;
        }
        let attempt = parts.supervisor.attempt(now());
        #[cfg(feature = "tracing")]
        tracing::info!(attempt, "connecting");
        if events
            .send(ClientEvent::Connecting { attempt })
            .await
            .is_err()
        {
            return;
        }
        let (url, options) = match &mut parts.provider {
            Some(provider) => provider(attempt),
            None => (parts.url.clone(), parts.options.clone()),
        };
        let cause = match connect_with(&url, options).await {
            Err(e) => Disconnect::Failed(e),
            Ok((mut ws, response)) => {
                let hooked = match &mut parts.hook {
                    Some(hook) => hook(&mut ws).await,
                    None => Ok(()),
                };
                match hooked {
                    Err(e) => Disconnect::Failed(e),
                    Ok(()) => {
                        parts.supervisor.connected(now());
                        #[cfg(feature = "tracing")]
                        tracing::info!(attempt, "connected");
                        let connected = ClientEvent::Connected { attempt, response };
                        if events.send(connected).await.is_err() {
                            return;
                        }
                        match session(&mut ws, &shared, events).await {
                            End::Lost(cause) => cause,
                            End::Closed(reason) => {
                                finish(&shared, events, ClientEvent::Closed(reason)).await;
                                return;
                            }
                            End::Abandoned => return,
                        }
                    }
                }
            }
        };
        shared.lock().outbox_mut().disconnected();
        match parts.supervisor.after(&cause, now()) {
            None => {
                #[cfg(feature = "tracing")]
                tracing::warn!(%cause, "giving up");
                finish(&shared, events, ClientEvent::GaveUp { cause }).await;
                return;
            }
            Some(retry_in) => {
                #[cfg(feature = "tracing")]
                tracing::info!(%cause, ?retry_in, "disconnected; will reconnect");
                let lost = ClientEvent::Disconnected { cause, retry_in };
                if events.send(lost).await.is_err() {
                    return;
                }
                if !wait(retry_in, &shared, events).await {
                    return;
                }
            }
        }
    }
}

/// Waits `delay` before the next attempt, reporting dropped messages as
/// they happen. `false`: the application closed (reported) or left.
async fn wait(delay: Duration, shared: &Shared, events: &mpsc::Sender<ClientEvent>) -> bool {
    // A sleep, not a deadline: a server's Retry-After can be too long to
    // add to an Instant.
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        let woken = shared.wake.notified();
        if !report_dropped(shared, events).await {
            return false;
        }
        if shared.close_requested() {
            finish(shared, events, ClientEvent::Closed(None)).await;
            return false;
        }
        tokio::select! {
            () = &mut sleep => return true,
            () = woken => {}
        }
    }
}

/// Ends the client: every message still held is dropped and reported,
/// then `last` (`GaveUp` or `Closed`) is the last event.
async fn finish(shared: &Shared, events: &mpsc::Sender<ClientEvent>, last: ClientEvent) {
    let dropped = shared.lock().finish();
    for id in dropped {
        if events.send(ClientEvent::Dropped(id)).await.is_err() {
            return;
        }
    }
    let _ = events.send(last).await;
}

/// Reports the messages the queue dropped since the last report.
async fn report_dropped(shared: &Shared, events: &mpsc::Sender<ClientEvent>) -> bool {
    let dropped = shared.lock().take_dropped();
    for id in dropped {
        if events.send(ClientEvent::Dropped(id)).await.is_err() {
            return false;
        }
    }
    true
}

/// An open connection: writes what is queued, hands on what arrives, and
/// closes when the application asks.
async fn session(ws: &mut Ws, shared: &Shared, events: &mpsc::Sender<ClientEvent>) -> End {
    let mut closing = false;
    loop {
        let woken = shared.wake.notified();
        if !report_dropped(shared, events).await {
            return End::Abandoned;
        }
        if !closing {
            match write_queued(ws, shared).await {
                Ok(written) => {
                    for id in written {
                        if events.send(ClientEvent::Written(id)).await.is_err() {
                            return End::Abandoned;
                        }
                    }
                }
                // The connection failed while writing: reading says why.
                Err(_) => closing = true,
            }
            let close = shared.lock().close_requested().cloned();
            if let Some(frame) = close {
                closing = true;
                // A failure here is the connection already ending: reading
                // gives its reason.
                let _ = ws.send(Message::Close(frame)).await;
            }
        }
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(message)) => {
                    if events.send(ClientEvent::Message(message)).await.is_err() {
                        return End::Abandoned;
                    }
                }
                Some(Err(e)) => return End::Lost(Disconnect::Failed(e)),
                None => {
                    let reason = ws.close_reason();
                    if shared.close_requested() {
                        return End::Closed(reason);
                    }
                    return End::Lost(Disconnect::Closed(reason.unwrap_or(CloseReason::Abnormal)));
                }
            },
            () = woken, if !closing => {}
        }
    }
}

/// Writes every unwritten message in order and flushes; the ids written.
/// A message counts as written once the connection has taken it: an
/// at-most-once message is then forgotten, an at-least-once one waits for
/// its acknowledgement (and is written again after a reconnect).
async fn write_queued(ws: &mut Ws, shared: &Shared) -> Result<Vec<MessageId>, weft_io::Error> {
    let mut fed = Vec::new();
    loop {
        let next = {
            let state = shared.lock();
            state
                .outbox()
                .next_unwritten()
                .map(|(id, message)| (id, message.clone()))
        };
        let Some((id, message)) = next else { break };
        ws.feed(message).await?;
        shared.lock().outbox_mut().written(id);
        fed.push(id);
    }
    if !fed.is_empty() {
        ws.flush().await?;
    }
    Ok(fed)
}
