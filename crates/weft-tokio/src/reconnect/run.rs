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

use tokio::net::TcpStream;

use super::builder::{Hook, Provider};
use super::{Shared, Ws};
use crate::{connect_with, MaybeTlsStream, WsSender};

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
                        match session(ws, &shared, events).await {
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
        // A close asked for during the attempt (or as the connection was
        // lost) ends the client here, whatever the cause.
        if shared.close_requested() {
            finish(&shared, events, ClientEvent::Closed(None)).await;
            return;
        }
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
        let woken = shared.waker().notified();
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

/// What the session writes next.
enum Job {
    /// The next queued message.
    Write(MessageId, Message),
    /// Flush what was fed.
    Flush,
    /// The application's close (`None`: 1000), once the queue is written.
    Close(Option<weft_proto::CloseFrame>),
    /// Nothing to write.
    Idle,
}

/// An open connection: writes what is queued while it reads, hands on what
/// arrives, and closes when the application asks (after writing what was
/// queued before). Reading never waits for a write: a peer that stops
/// reading cannot stop the timers (keepalive, close timeout), which only
/// reading runs.
async fn session(ws: Ws, shared: &Shared, events: &mpsc::Sender<ClientEvent>) -> End {
    let (mut sender, mut receiver) = ws.split();
    let (mut unflushed, mut close_sent, mut write_failed) = (false, false, false);
    // Once no one reads the events, the client is closing: messages are
    // read and dropped until the closing handshake completes.
    let mut abandoned = false;
    loop {
        let woken = shared.waker().notified();
        if !abandoned && !report_dropped(shared, events).await {
            abandoned = true;
        }
        let job = if write_failed || close_sent {
            Job::Idle
        } else {
            let state = shared.lock();
            match state.outbox().next_unwritten() {
                Some((id, message)) => Job::Write(id, message.clone()),
                None if unflushed => Job::Flush,
                None if abandoned => Job::Close(None),
                None => match state.close_requested() {
                    Some(frame) => Job::Close(frame.clone()),
                    None => Job::Idle,
                },
            }
        };
        let idle = matches!(job, Job::Idle);
        tokio::select! {
            message = receiver.next() => match message {
                Some(Ok(message)) => {
                    if !abandoned && events.send(ClientEvent::Message(message)).await.is_err() {
                        abandoned = true;
                    }
                }
                Some(Err(e)) => return End::Lost(Disconnect::Transport(e)),
                None => {
                    let reason = receiver.close_reason();
                    if abandoned {
                        return End::Abandoned;
                    }
                    if close_sent || shared.close_requested() {
                        return End::Closed(reason);
                    }
                    return End::Lost(Disconnect::Closed(reason.unwrap_or(CloseReason::Abnormal)));
                }
            },
            // Cancel-safe: a message fed is marked written at once, and one
            // whose feed was cancelled is still the next unwritten.
            done = run_job(&mut sender, job), if !idle => match done {
                Ok(Some(id)) => {
                    // A message dropped while it was being written is
                    // reported dropped, not written.
                    let held = shared.lock().outbox_mut().written(id);
                    unflushed = true;
                    if held && !abandoned && events.send(ClientEvent::Written(id)).await.is_err() {
                        abandoned = true;
                    }
                }
                Ok(None) => {
                    if unflushed {
                        unflushed = false;
                    } else {
                        close_sent = true;
                    }
                }
                // The connection is failing: reading says how it ended.
                Err(_) => write_failed = true,
            },
            () = woken => {}
        }
    }
}

/// Does one job: `Some(id)` once a message is fed to the connection,
/// `None` once a flush or the close is done.
async fn run_job(
    sender: &mut WsSender<MaybeTlsStream<TcpStream>>,
    job: Job,
) -> Result<Option<MessageId>, weft_io::Error> {
    match job {
        Job::Write(id, message) => {
            sender.feed(message).await?;
            Ok(Some(id))
        }
        Job::Flush => sender.flush().await.map(|()| None),
        Job::Close(frame) => sender.send(Message::Close(frame)).await.map(|()| None),
        Job::Idle => std::future::pending().await,
    }
}
