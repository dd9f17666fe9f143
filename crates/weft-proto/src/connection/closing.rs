//! The closing handshake (RFC 6455 section 7) as one machine: every phase
//! and every transition between them.
//!
//! ```text
//!                              +--------+
//!             close() (1)      |  Open  |    peer's close frame
//!          +-------------------+        +---------------------+
//!          |                   +--------+                     |
//!          v                                     auto-close   |  auto-close off
//!   +-------------+                          +-------(2)------+-------+
//!   |  CloseSent  |                          |                        v
//!   +------+------+                          |               +---------------+
//!          | peer's close frame              |               | CloseReceived |
//!          |                                 |               +-------+-------+
//!          |                                 |                       | close() (2)
//!          v                                 v                       v
//!   ======================== both close frames exchanged ========================
//!          | server (3)                                client (3) |
//!          |                                                      v
//!          |                                              +-------------+
//!          |                                              | AwaitingEof |
//!          |                                              +------+------+
//!          |                                 transport ends, or  |
//!          |                                 the deadline passes |
//!          v                                                     v
//!   +--------------------------------------------------------------------+
//!   |                               Closed                               |
//!   +--------------------------------------------------------------------+
//!     ^ from any phase: a protocol violation (7.1.7), a timer, or the
//!       transport ending before the handshake is done (7.1.5: 1006)
//! ```
//!
//! 1. Our close frame is queued; nothing may follow it (5.5.1).
//! 2. The echo is queued: "If an endpoint receives a Close frame and did not
//!    previously send a Close frame, the endpoint MUST send a Close frame in
//!    response" (5.5.1).
//! 3. "The server MUST close the underlying TCP connection immediately; the
//!    client SHOULD wait for the server to close the connection" (7.1.1).
//!
//! `Closed` is where the terminal [`Event::Closed`] comes from: it is
//! delivered once, its reason is kept for [`Connection::close_reason`], and
//! the half-close of the transport is signalled once.
//!
//! With the `tracing` feature, every change of phase is logged at DEBUG,
//! failing the connection at WARN, and the end once, at INFO, with who
//! started it (the end that sent the first close frame, or what ended the
//! connection without one).
//!
//! [`Connection::close_reason`]: super::Connection::close_reason

use std::time::Instant;

use super::send::Sender;
use crate::close::{CloseCode, CloseFrame, CloseReason, Timeout};
use crate::logging;
use crate::message::Event;
use crate::role::Role;

/// Where a connection stands in the closing handshake (RFC 6455 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's; messages may still arrive.
    CloseSent,
    /// The peer's close frame arrived and auto-close is off: the application
    /// owes the reply ([`Connection::close`](super::Connection::close)) and
    /// may still send until then.
    CloseReceived,
    /// Close frames were exchanged, or the connection failed or timed out.
    /// Only the transport remains to be closed.
    Closed,
}

/// The phases of the diagram above. Deadlines are `None` when the close
/// timeout is too long for an `Instant`: never.
#[derive(Debug)]
pub(super) enum Phase {
    Open,
    CloseSent {
        deadline: Option<Instant>,
    },
    /// The application owes the reply to the peer's close, by the deadline.
    CloseReceived {
        frame: CloseFrame,
        deadline: Option<Instant>,
    },
    /// Both close frames exchanged; a client waits for the server to close
    /// the transport first, up to the deadline.
    AwaitingEof {
        frame: CloseFrame,
        deadline: Option<Instant>,
    },
    Closed(Ended),
}

/// How the connection ended, and which of the two signals of its end have
/// been handed out.
#[derive(Debug)]
pub(super) struct Ended {
    reason: CloseReason,
    /// `Event::Closed` has been returned.
    delivered: bool,
    /// `poll_shutdown` has returned `true`.
    shut_down: bool,
}

impl Phase {
    /// The phase's name, as the log of its changes shows it.
    fn name(&self) -> &'static str {
        match self {
            Phase::Open => "Open",
            Phase::CloseSent { .. } => "CloseSent",
            Phase::CloseReceived { .. } => "CloseReceived",
            Phase::AwaitingEof { .. } => "AwaitingEof",
            Phase::Closed(_) => "Closed",
        }
    }
}

/// Which end sent the first close frame: who started the closing handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Starter {
    Us,
    Peer,
}

/// The closing handshake's machine. Only the methods below change its phase.
#[derive(Debug)]
pub(super) struct Closing {
    phase: Phase,
    /// Who started the closing handshake, once one of the ends has: what
    /// the log of the connection's end reports as its initiator.
    started_by: Option<Starter>,
}

impl Closing {
    pub(super) fn new() -> Closing {
        Closing {
            phase: Phase::Open,
            started_by: None,
        }
    }

    pub(super) fn phase(&self) -> &Phase {
        &self.phase
    }

    pub(super) fn state(&self) -> State {
        match self.phase {
            Phase::Open => State::Open,
            Phase::CloseSent { .. } => State::CloseSent,
            Phase::CloseReceived { .. } => State::CloseReceived,
            Phase::AwaitingEof { .. } | Phase::Closed(_) => State::Closed,
        }
    }

    /// Whether frames from the peer are still read: until its close frame.
    #[inline]
    pub(super) fn is_reading(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseSent { .. })
    }

    /// Whether the application may still send: our close frame is not
    /// queued and the connection has not ended.
    pub(super) fn may_send(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseReceived { .. })
    }

    /// Whether the terminal event has been returned.
    pub(super) fn is_terminated(&self) -> bool {
        matches!(
            self.phase,
            Phase::Closed(Ended {
                delivered: true,
                ..
            })
        )
    }

    /// Why the connection ended, once it has.
    pub(super) fn reason(&self) -> Option<&CloseReason> {
        match &self.phase {
            Phase::Closed(ended) => Some(&ended.reason),
            _ => None,
        }
    }

    /// The deadline of the closing handshake, while one runs.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::CloseSent { deadline }
            | Phase::CloseReceived { deadline, .. }
            | Phase::AwaitingEof { deadline, .. } => *deadline,
            Phase::Open | Phase::Closed(_) => None,
        }
    }

    // ----- transitions -----

    /// The application's `close`: starts the handshake (Open), or answers
    /// the peer's close (CloseReceived). Callers check `may_send` first.
    pub(super) fn close(
        &mut self,
        send: &mut Sender,
        role: Role,
        code: CloseCode,
        reason: &str,
        deadline: Option<Instant>,
    ) {
        send.queue_close(Some(code), reason);
        let from = self.phase.name();
        match std::mem::replace(&mut self.phase, Phase::Open) {
            Phase::Open => {
                self.started_by = Some(Starter::Us);
                self.enter(from, Phase::CloseSent { deadline });
            }
            Phase::CloseReceived { frame, .. } => self.exchanged(from, send, role, frame, deadline),
            other => {
                debug_assert!(false, "close() in {other:?}: callers check may_send");
                self.phase = other;
            }
        }
    }

    /// The peer's close frame arrived. Returns the event the application is
    /// told of it by, if any: none when it answers our own close.
    pub(super) fn peer_closed(
        &mut self,
        send: &mut Sender,
        role: Role,
        frame: CloseFrame,
        auto_close: bool,
        deadline: Option<Instant>,
    ) -> Option<Event> {
        let from = self.phase.name();
        if matches!(self.phase, Phase::Open) {
            self.started_by = Some(Starter::Peer);
        }
        match std::mem::replace(&mut self.phase, Phase::Open) {
            Phase::Open if auto_close => {
                // Echo the code; an empty close gets an empty one.
                let code = (frame.code != CloseCode::NO_STATUS).then_some(frame.code);
                send.queue_close(code, "");
                self.exchanged(from, send, role, frame.clone(), deadline);
                Some(Event::CloseReceived(frame))
            }
            Phase::Open => {
                let phase = Phase::CloseReceived {
                    frame: frame.clone(),
                    deadline,
                };
                self.enter(from, phase);
                Some(Event::CloseReceived(frame))
            }
            Phase::CloseSent { .. } => {
                self.exchanged(from, send, role, frame, deadline);
                None
            }
            other => {
                debug_assert!(
                    false,
                    "a close frame read in {other:?}: nothing is read there"
                );
                self.phase = other;
                None
            }
        }
    }

    /// Both close frames have been exchanged (RFC 6455 7.1.1): a server
    /// closes the transport now; a client waits for the server to.
    fn exchanged(
        &mut self,
        from: &'static str,
        send: &mut Sender,
        role: Role,
        frame: CloseFrame,
        deadline: Option<Instant>,
    ) {
        match role {
            Role::Server => self.end(from, send, CloseReason::Clean(frame)),
            Role::Client => self.enter(from, Phase::AwaitingEof { frame, deadline }),
        }
    }

    /// The transport's read side ended, after every frame received was
    /// delivered. Clean only once both close frames were exchanged (RFC 6455
    /// 7.1.1); a peer that closes the transport before our reply ends
    /// abnormally (7.1.5: 1006).
    pub(super) fn transport_ended(&mut self, send: &mut Sender) {
        let reason = match &self.phase {
            Phase::Closed(_) => return,
            Phase::AwaitingEof { frame, .. } => CloseReason::Clean(frame.clone()),
            _ => CloseReason::Abnormal,
        };
        self.end(self.phase.name(), send, reason);
    }

    /// The closing handshake's deadline passed at `now`: ends the
    /// connection as the phase has it. Returns whether it did.
    pub(super) fn deadline_passed(&mut self, send: &mut Sender, now: Instant) -> bool {
        if self.deadline().is_none_or(|d| now < d) {
            return false;
        }
        let reason = match &self.phase {
            // The application did not answer the peer's close in time: the
            // echo it owed goes out (RFC 6455 5.5.1), and the connection ends.
            Phase::CloseReceived { frame, .. } => {
                let code = (frame.code != CloseCode::NO_STATUS).then_some(frame.code);
                let reason = CloseReason::TimedOut(Timeout::Close);
                logging::failing(code, &reason);
                send.queue_close(code, "");
                reason
            }
            // RFC 6455 7.1.1: the server did not close the transport in
            // time, so the client does; the handshake itself was clean.
            Phase::AwaitingEof { frame, .. } => {
                logging::gave_up_waiting_for_eof();
                CloseReason::Clean(frame.clone())
            }
            // Our close went unanswered; nothing more is sent.
            _ => {
                let reason = CloseReason::TimedOut(Timeout::Close);
                logging::failing(None, &reason);
                reason
            }
        };
        self.end(self.phase.name(), send, reason);
        true
    }

    /// Fails the connection (RFC 6455 7.1.7): our close frame with `code`
    /// and `text` is queued unless one already was, and it ends.
    pub(super) fn fail(
        &mut self,
        send: &mut Sender,
        code: CloseCode,
        text: &str,
        reason: CloseReason,
    ) {
        let sent = self.may_send().then_some(code);
        logging::failing(sent, &reason);
        if sent.is_some() {
            send.queue_close(Some(code), text);
        }
        self.end(self.phase.name(), send, reason);
    }

    /// Moves to `phase` from the phase named `from`, and logs the change.
    fn enter(&mut self, from: &'static str, phase: Phase) {
        logging::phase_changed(from, phase.name());
        self.phase = phase;
    }

    /// Ends the connection: `Closed(reason)` becomes the next event. The
    /// end is logged once, here, with who started it.
    fn end(&mut self, from: &'static str, send: &mut Sender, reason: CloseReason) {
        send.forget_pong();
        let initiator = match (&reason, self.started_by) {
            (CloseReason::Protocol(_), _) => "protocol error",
            (CloseReason::TimedOut(Timeout::Pong | Timeout::Idle), _) => "timer",
            (_, Some(Starter::Us)) => "us",
            (_, Some(Starter::Peer)) => "peer",
            (CloseReason::TimedOut(_), None) => "timer",
            (_, None) => "transport",
        };
        let ended = Ended {
            reason,
            delivered: false,
            shut_down: false,
        };
        self.enter(from, Phase::Closed(ended));
        if let Phase::Closed(ended) = &self.phase {
            logging::closed(&ended.reason, initiator);
        }
    }

    // ----- the two signals of the end, each handed out once -----

    /// `Event::Closed`, the first time it is asked for once ended.
    pub(super) fn take_closed_event(&mut self) -> Option<Event> {
        match &mut self.phase {
            Phase::Closed(ended) if !ended.delivered => {
                ended.delivered = true;
                Some(Event::Closed(ended.reason.clone()))
            }
            _ => None,
        }
    }

    /// Whether `take_shutdown` would return `true`.
    pub(super) fn shutdown_due(&self, send: &Sender) -> bool {
        matches!(&self.phase, Phase::Closed(ended) if !ended.shut_down) && send.is_empty()
    }

    /// `true` once, when the connection has ended and `send` is drained:
    /// the moment to half-close the transport.
    pub(super) fn take_shutdown(&mut self, send: &Sender) -> bool {
        match &mut self.phase {
            Phase::Closed(ended) if !ended.shut_down && send.is_empty() => {
                ended.shut_down = true;
                true
            }
            _ => false,
        }
    }
}
