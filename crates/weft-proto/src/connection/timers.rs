//! Timers: keepalive pings, the pong deadline, the idle timeout and the
//! closing handshake's deadlines, all computed from the `now` passed in.

use std::time::Instant;

use bytes::Bytes;

use super::closing::Phase;
use super::Connection;
use crate::close::{CloseCode, CloseReason, Timeout};
use crate::config::Config;
use crate::frame::OpCode;

#[derive(Debug)]
pub(super) struct Timers {
    /// When bytes last arrived (or the connection opened).
    last_received: Instant,
    /// The payload and deadline of the keepalive ping awaiting its pong
    /// (`None` for a pong timeout too long to represent).
    awaiting_pong: Option<(u64, Option<Instant>)>,
    /// Keepalive pings sent; the next one's payload.
    pings_sent: u64,
}

impl Timers {
    pub(super) fn new(now: Instant) -> Timers {
        Timers {
            last_received: now,
            awaiting_pong: None,
            pings_sent: 0,
        }
    }

    pub(super) fn received(&mut self, now: Instant) {
        self.last_received = self.last_received.max(now);
    }

    /// A pong settles the keepalive ping it answers (same payload, RFC 6455
    /// 5.5.3); other pongs are unsolicited heartbeats and settle nothing.
    pub(super) fn pong_received(&mut self, payload: &[u8]) {
        if let Some((sent, _)) = self.awaiting_pong {
            if payload == sent.to_be_bytes() {
                self.awaiting_pong = None;
            }
        }
    }

    /// When the next keepalive ping is due, or, while one is unanswered,
    /// its pong deadline (which waits while received bytes are unparsed:
    /// the pong may be among them).
    fn keepalive_due(&self, config: &Config, unparsed: bool) -> Option<Instant> {
        match self.awaiting_pong {
            Some(_) if unparsed => None,
            Some((_, deadline)) => deadline,
            None => config
                .keepalive_interval
                .and_then(|i| self.last_received.checked_add(i)),
        }
    }

    fn idle_due(&self, config: &Config) -> Option<Instant> {
        config
            .idle_timeout
            .and_then(|t| self.last_received.checked_add(t))
    }

    /// The earliest running timer of an open connection.
    pub(super) fn next(&self, config: &Config, unparsed: bool) -> Option<Instant> {
        match (self.keepalive_due(config, unparsed), self.idle_due(config)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Whether a deadline (`None`: never) has passed at `now`.
fn passed(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|d| now >= d)
}

impl Connection {
    /// Acts on every timer that is due at `now`. Calling it early, late or
    /// twice is harmless: only timers whose instant has passed do anything.
    /// A timer is due when `now` is at or after its instant, so passing the
    /// instant [`poll_timeout`](Self::poll_timeout) gave fires it (useful
    /// with runtimes whose sleeps end up to a millisecond early).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        // Deadlines that judge the peer's silence wait while received bytes
        // are unparsed: the answer may be among them.
        let unparsed = self.recv.input.unparsed();
        match self.closing.phase() {
            Phase::Closed(_) => {}
            Phase::Open => self.open_timers(now, unparsed),
            Phase::CloseSent { .. } if unparsed => {}
            Phase::CloseSent { .. } | Phase::CloseReceived { .. } | Phase::AwaitingEof { .. } => {
                if self.closing.deadline_passed(&mut self.send, now) {
                    self.recv.clear();
                }
            }
        }
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout)
    /// should be called, if any timer is running.
    #[must_use = "without handle_timeout at this instant, keepalive and close deadlines never fire"]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let unparsed = self.recv.input.unparsed();
        match self.closing.phase() {
            Phase::Closed(_) => None,
            Phase::Open => self.timers.next(&self.config, unparsed),
            // The peer's answer may be among the bytes not yet parsed.
            Phase::CloseSent { .. } if unparsed => None,
            _ => self.closing.deadline(),
        }
    }

    fn open_timers(&mut self, now: Instant, unparsed: bool) {
        if let Some((_, deadline)) = self.timers.awaiting_pong {
            if !unparsed && passed(deadline, now) {
                let reason = CloseReason::TimedOut(Timeout::Pong);
                self.fail(CloseCode::INTERNAL_ERROR, "keepalive timeout", reason);
                return;
            }
        }
        if passed(self.timers.idle_due(&self.config), now) {
            let reason = CloseReason::TimedOut(Timeout::Idle);
            self.fail(CloseCode::GOING_AWAY, "idle timeout", reason);
            return;
        }
        let ping_due = self.timers.awaiting_pong.is_none()
            && passed(self.timers.keepalive_due(&self.config, unparsed), now);
        if ping_due {
            let id = self.timers.pings_sent;
            self.timers.pings_sent += 1;
            let deadline = now.checked_add(self.config.pong_timeout);
            self.timers.awaiting_pong = Some((id, deadline));
            let payload = Bytes::copy_from_slice(&id.to_be_bytes());
            self.send.push_frame(OpCode::Ping, true, 0, payload);
        }
    }
}
