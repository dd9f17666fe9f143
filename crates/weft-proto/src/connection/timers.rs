//! Timers: keepalive pings, the pong deadline, the idle timeout and the
//! closing handshake's deadlines, all computed from the `now` passed in.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::closing::Phase;
use super::Connection;
use crate::close::{CloseCode, CloseReason, Timeout};
use crate::config::Config;
use crate::frame::OpCode;

/// The round trip of keepalive pings: a ping's pong measures it.
///
/// Read it from [`Connection::latency`]; only keepalive pings
/// ([`Config::keepalive`]) are measured, each by the pong that carries its
/// payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// The round trip of the latest keepalive ping answered.
    pub last: Duration,
    /// A moving average of the round trips so far, each new one weighing
    /// an eighth (as TCP smooths its round-trip time, RFC 6298).
    pub smoothed: Duration,
}

/// A keepalive ping sent and not yet answered.
#[derive(Clone, Copy, Debug)]
struct AwaitingPong {
    /// Its payload: the ping's number, big-endian.
    id: u64,
    sent: Instant,
    /// `None` for a pong timeout too long to represent: never.
    deadline: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Timers {
    /// When bytes last arrived (or the connection opened).
    last_received: Instant,
    /// The keepalive ping awaiting its pong.
    awaiting_pong: Option<AwaitingPong>,
    /// Keepalive pings sent; the next one's payload.
    pings_sent: u64,
    latency: Option<Latency>,
}

impl Timers {
    pub(super) fn new(now: Instant) -> Timers {
        Timers {
            last_received: now,
            awaiting_pong: None,
            pings_sent: 0,
            latency: None,
        }
    }

    pub(super) fn received(&mut self, now: Instant) {
        self.last_received = self.last_received.max(now);
    }

    /// A pong settles the keepalive ping it answers (same payload, RFC 6455
    /// 5.5.3) and measures its round trip, as of `now`, when the pong's
    /// bytes arrived; other pongs are unsolicited heartbeats and settle
    /// nothing.
    pub(super) fn pong_received(&mut self, payload: &[u8], now: Instant) {
        let Some(ping) = self.awaiting_pong else {
            return;
        };
        if payload != ping.id.to_be_bytes() {
            return;
        }
        self.awaiting_pong = None;
        let last = now.saturating_duration_since(ping.sent);
        let smoothed = match self.latency {
            Some(before) => (before.smoothed * 7 + last) / 8,
            None => last,
        };
        self.latency = Some(Latency { last, smoothed });
    }

    pub(super) fn latency(&self) -> Option<Latency> {
        self.latency
    }

    /// When the next keepalive ping is due, or, while one is unanswered,
    /// its pong deadline (which waits while received bytes are unparsed:
    /// the pong may be among them).
    fn keepalive_due(&self, config: &Config, unparsed: bool) -> Option<Instant> {
        match self.awaiting_pong {
            Some(_) if unparsed => None,
            Some(ping) => ping.deadline,
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
        if let Some(ping) = self.timers.awaiting_pong {
            if !unparsed && passed(ping.deadline, now) {
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
            self.timers.awaiting_pong = Some(AwaitingPong {
                id,
                sent: now,
                deadline: now.checked_add(self.config.pong_timeout),
            });
            let payload = Bytes::copy_from_slice(&id.to_be_bytes());
            self.send.push_frame(OpCode::Ping, true, 0, payload);
        }
    }
}
