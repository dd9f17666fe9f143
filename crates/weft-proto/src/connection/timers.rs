//! Timers: keepalive pings, the pong deadline, the idle timeout and the
//! closing handshake's deadlines, all computed from the `now` passed in.

use std::time::Instant;

use bytes::Bytes;

use super::{Connection, Phase};
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
        let unparsed = self.recv.unparsed;
        match &self.phase {
            Phase::Done => {}
            Phase::CloseSent { deadline } => {
                if !unparsed && passed(*deadline, now) {
                    self.end(CloseReason::TimedOut(Timeout::Close));
                }
            }
            Phase::CloseReceived { frame, deadline } => {
                // The application did not answer the peer's close in time:
                // echo it (RFC 6455 5.5.1) and end.
                if passed(*deadline, now) {
                    let code = (frame.code != CloseCode::NO_STATUS).then_some(frame.code);
                    self.queue_close(code, "");
                    self.end(CloseReason::TimedOut(Timeout::Close));
                }
            }
            Phase::AwaitingEof { frame, deadline } => {
                // RFC 6455 7.1.1: the server did not close the transport in
                // time, so the client does.
                if passed(*deadline, now) {
                    let frame = frame.clone();
                    self.end(CloseReason::Clean(frame));
                }
            }
            Phase::Open => self.open_timers(now, unparsed),
        }
    }

    fn open_timers(&mut self, now: Instant, unparsed: bool) {
        if let Some((_, deadline)) = self.timers.awaiting_pong {
            if !unparsed && passed(deadline, now) {
                self.fail_on_timeout(
                    CloseCode::INTERNAL_ERROR,
                    "keepalive timeout",
                    Timeout::Pong,
                );
                return;
            }
        }
        if passed(self.timers.idle_due(&self.config), now) {
            self.fail_on_timeout(CloseCode::GOING_AWAY, "idle timeout", Timeout::Idle);
            return;
        }
        let ping_due = self.timers.awaiting_pong.is_none()
            && passed(self.timers.keepalive_due(&self.config, unparsed), now);
        if ping_due && !self.close_sent {
            let id = self.timers.pings_sent;
            self.timers.pings_sent += 1;
            let deadline = now.checked_add(self.config.pong_timeout);
            self.timers.awaiting_pong = Some((id, deadline));
            self.push_frame(
                OpCode::Ping,
                true,
                Bytes::copy_from_slice(&id.to_be_bytes()),
            );
        }
    }

    fn fail_on_timeout(&mut self, code: CloseCode, reason: &str, timeout: Timeout) {
        if !self.close_sent {
            self.queue_close(Some(code), reason);
        }
        self.end(CloseReason::TimedOut(timeout));
    }
}
