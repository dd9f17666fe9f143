//! The thread behind a [`ReconnectingClient`](super::ReconnectingClient):
//! connect, run the hook, read while a writer thread writes the queue, and
//! after a loss ask the supervisor whether and when to try again.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use weft_io::reconnect::{ClientEvent, Disconnect, Supervisor};
use weft_io::ClientOptions;
use weft_proto::CloseReason;

use super::builder::{Hook, Provider};
use super::clock::Clock;
use super::writer::write_loop;
use super::{Shared, Ws};
use crate::connect_with;

/// The longest the thread sleeps before looking for a close or messages
/// dropped meanwhile.
const SLICE: Duration = Duration::from_millis(100);

/// What the thread runs with.
pub(super) struct Parts {
    pub(super) url: String,
    pub(super) options: ClientOptions,
    pub(super) supervisor: Supervisor,
    pub(super) hook: Option<Hook>,
    pub(super) provider: Option<Provider>,
    pub(super) clock: Box<dyn Clock>,
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

/// Runs the client until it gives up, the application closes, or the
/// handle is dropped.
pub(super) fn run(mut parts: Parts, shared: Arc<Shared>, events: SyncSender<ClientEvent>) {
    loop {
        if shared.close_requested() {
            finish(&shared, &events, ClientEvent::Closed(None));
            return;
        }
        let attempt = parts.supervisor.attempt(parts.clock.now());
        #[cfg(feature = "tracing")]
        tracing::info!(attempt, "connecting");
        if events.send(ClientEvent::Connecting { attempt }).is_err() {
            return;
        }
        let (url, options) = match &mut parts.provider {
            Some(provider) => provider(attempt),
            None => (parts.url.clone(), parts.options.clone()),
        };
        let cause = match connect_with(&url, options) {
            Err(e) => Disconnect::Failed(e),
            Ok((mut ws, response)) => {
                let hooked = match &mut parts.hook {
                    Some(hook) => hook(&mut ws),
                    None => Ok(()),
                };
                match hooked {
                    Err(e) => Disconnect::Failed(e),
                    Ok(()) => {
                        parts.supervisor.connected(parts.clock.now());
                        #[cfg(feature = "tracing")]
                        tracing::info!(attempt, "connected");
                        let connected = ClientEvent::Connected { attempt, response };
                        if events.send(connected).is_err() {
                            return;
                        }
                        match session(ws, &shared, &events) {
                            End::Lost(cause) => cause,
                            End::Closed(reason) => {
                                finish(&shared, &events, ClientEvent::Closed(reason));
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
            finish(&shared, &events, ClientEvent::Closed(None));
            return;
        }
        match parts.supervisor.after(&cause, parts.clock.now()) {
            None => {
                #[cfg(feature = "tracing")]
                tracing::warn!(%cause, "giving up");
                finish(&shared, &events, ClientEvent::GaveUp { cause });
                return;
            }
            Some(retry_in) => {
                #[cfg(feature = "tracing")]
                tracing::info!(%cause, ?retry_in, "disconnected; will reconnect");
                if events
                    .send(ClientEvent::Disconnected { cause, retry_in })
                    .is_err()
                {
                    return;
                }
                if !wait(retry_in, &*parts.clock, &shared, &events) {
                    return;
                }
            }
        }
    }
}

/// Ends the client: every message still held is dropped and reported,
/// then `last` (`GaveUp` or `Closed`) is the last event.
fn finish(shared: &Shared, events: &SyncSender<ClientEvent>, last: ClientEvent) {
    let dropped = shared.lock().finish();
    for id in dropped {
        if events.send(ClientEvent::Dropped(id)).is_err() {
            return;
        }
    }
    let _ = events.send(last);
}

/// Waits `delay` on `clock` before the next attempt, in slices, reporting
/// dropped messages as they happen. `false`: the application closed
/// (reported) or left.
fn wait(
    delay: Duration,
    clock: &dyn Clock,
    shared: &Shared,
    events: &SyncSender<ClientEvent>,
) -> bool {
    let mut left = delay;
    loop {
        for id in shared.lock().take_dropped() {
            if events.send(ClientEvent::Dropped(id)).is_err() {
                return false;
            }
        }
        if shared.close_requested() {
            finish(shared, events, ClientEvent::Closed(None));
            return false;
        }
        if left.is_zero() {
            return true;
        }
        let step = left.min(SLICE);
        clock.sleep(step);
        left -= step;
    }
}

/// An open connection: a writer thread writes the queue while this one
/// reads and hands on what arrives.
fn session(ws: Ws, shared: &Arc<Shared>, events: &SyncSender<ClientEvent>) -> End {
    // A handle on the socket, to wake a writer blocked on a peer that does
    // not read once the connection is over.
    let socket = ws.get_ref().tcp().try_clone().ok();
    let (mut reader, writer) = match ws.split() {
        Ok(halves) => halves,
        Err(e) => return End::Lost(Disconnect::Failed(e)),
    };
    shared.lock().start_session();
    let writer = {
        let (shared, events) = (shared.clone(), events.clone());
        std::thread::Builder::new()
            .name("weft-reconnect-writer".into())
            .spawn(move || write_loop(writer, &shared, &events))
    };
    let writer = match writer {
        Ok(writer) => writer,
        Err(e) => return End::Lost(Disconnect::Failed(e.into())),
    };
    // Once no one reads the events, the client is closing (the handle
    // asked for it as it was dropped): messages are read and dropped until
    // the closing handshake completes.
    let mut abandoned = false;
    let end = loop {
        match reader.read() {
            Ok(Some(message)) => {
                if !abandoned && events.send(ClientEvent::Message(message)).is_err() {
                    abandoned = true;
                }
            }
            Ok(None) => {
                let reason = reader.close_reason();
                if abandoned {
                    break End::Abandoned;
                }
                if shared.close_requested() {
                    break End::Closed(reason);
                }
                break End::Lost(Disconnect::Closed(reason.unwrap_or(CloseReason::Abnormal)));
            }
            Err(_) if abandoned => break End::Abandoned,
            Err(e) => break End::Lost(Disconnect::Transport(e)),
        }
    };
    shared.lock().end_session();
    shared.wake();
    // The connection is over: a writer blocked on a peer that does not
    // read wakes with an error once the socket is shut down.
    if let Some(socket) = socket {
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }
    let _ = writer.join();
    end
}
