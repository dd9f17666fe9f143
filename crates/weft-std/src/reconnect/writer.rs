//! The writing thread of an open connection: writes the queue in order,
//! reports what was written or dropped, and sends the application's
//! close.

use std::sync::mpsc::SyncSender;

use weft_io::reconnect::{ClientEvent, MessageId};
use weft_io::Message;
use weft_proto::{CloseCode, CloseFrame};

use super::Shared;
use crate::MaybeTlsStream;
use crate::WsWriter;

/// What the writer does next.
enum Job {
    Report(Vec<MessageId>),
    Write(MessageId, Message),
    Close(Option<CloseFrame>),
    Stop,
}

/// Writes until the session ends (or a write fails: the reader then sees
/// the connection end and says why).
pub(super) fn write_loop(
    writer: WsWriter<MaybeTlsStream>,
    shared: &Shared,
    events: &SyncSender<ClientEvent>,
) {
    // No more writing once the close is sent or a write failed.
    let mut done = false;
    // No more events once no one reads them; the writing goes on, so that
    // the close the dropped handle asked for still goes out.
    let mut abandoned = false;
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if state.session_over() {
                    break Job::Stop;
                }
                let dropped = state.take_dropped();
                if !dropped.is_empty() && !abandoned {
                    break Job::Report(dropped);
                }
                if !done {
                    // What was queued before the close goes out first.
                    if let Some((id, message)) = state.outbox().next_unwritten() {
                        break Job::Write(id, message.clone());
                    }
                    if let Some(frame) = state.close_requested().cloned() {
                        break Job::Close(frame);
                    }
                }
                state = shared
                    .waker()
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        };
        match job {
            Job::Stop => return,
            Job::Report(dropped) => {
                for id in dropped {
                    if events.send(ClientEvent::Dropped(id)).is_err() {
                        abandoned = true;
                        break;
                    }
                }
            }
            Job::Close(frame) => {
                done = true;
                let (code, reason) = match &frame {
                    Some(frame) => (frame.code, frame.reason.as_str()),
                    None => (CloseCode::NORMAL, ""),
                };
                // A failure is the connection already ending; the reader
                // reports how.
                let _ = writer.close(code, reason);
            }
            Job::Write(id, message) => {
                if writer.send(message).is_err() {
                    // The reader sees the connection end and says why; the
                    // message stays unwritten, for the next connection.
                    done = true;
                    continue;
                }
                // A message dropped while it was being written is reported
                // dropped, not written.
                let held = shared.lock().outbox_mut().written(id);
                if held && !abandoned && events.send(ClientEvent::Written(id)).is_err() {
                    abandoned = true;
                }
            }
        }
    }
}
