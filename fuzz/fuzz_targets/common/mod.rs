//! What the targets share: cutting an input into chunks, and checking
//! that bytes a connection sends are valid frames.

#![allow(dead_code)]

use std::time::Instant;

use weft_proto::frame::{apply_mask, FrameHeader, OpCode};
use weft_proto::{CloseReason, Connection, Event};

/// Cuts `data` into chunks whose sizes come from `sizes` (cycled), 1 to 256
/// bytes each: the same input explores different read boundaries.
pub fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes
            .get(i % sizes.len().max(1))
            .map_or(rest.len(), |s| *s as usize + 1);
        let (a, b) = rest.split_at(size.min(rest.len()));
        out.push(a);
        rest = b;
        i += 1;
    }
    out
}

/// How [`Drain`] polls: owned events, lent ones (copied with `to_event`),
/// or each way in turn.
#[derive(Clone, Copy, Debug)]
pub enum Polling {
    Owned,
    Lent,
    Alternating,
}

impl Polling {
    /// One of the three, from any byte.
    pub fn from_byte(b: u8) -> Polling {
        match b % 3 {
            0 => Polling::Owned,
            1 => Polling::Lent,
            _ => Polling::Alternating,
        }
    }
}

/// Everything a connection has queued, after draining its events.
/// Checks the events' invariants: at most one `Closed`, and it is last.
pub struct Drain {
    pub events: Vec<Event>,
    pub sent: Vec<u8>,
    pub closed: Option<CloseReason>,
    pub polling: Polling,
}

impl Drain {
    pub fn new() -> Drain {
        Drain::polling(Polling::Owned)
    }

    pub fn polling(polling: Polling) -> Drain {
        Drain {
            events: Vec::new(),
            sent: Vec::new(),
            closed: None,
            polling,
        }
    }

    /// The next event, polled as `polling` says.
    pub fn poll(&self, conn: &mut Connection) -> Option<Event> {
        let lend = match self.polling {
            Polling::Owned => false,
            Polling::Lent => true,
            Polling::Alternating => self.events.len() % 2 == 1,
        };
        if lend {
            conn.poll_event_ref().map(|event| event.to_event())
        } else {
            conn.poll_event()
        }
    }

    pub fn drain(&mut self, conn: &mut Connection) {
        let mut polls = 0;
        while let Some(event) = self.poll(conn) {
            polls += 1;
            assert!(polls < 1_000_000, "poll_event never returned None");
            assert!(self.closed.is_none(), "an event after Closed: {event:?}");
            if let Event::Closed(reason) = &event {
                self.closed = Some(reason.clone());
            }
            self.events.push(event);
            // Take transmits after each event, as adapters do.
            while let Some(t) = conn.poll_transmit() {
                self.sent.extend_from_slice(&t.to_vec());
            }
        }
        while let Some(t) = conn.poll_transmit() {
            self.sent.extend_from_slice(&t.to_vec());
        }
    }
}

/// Checks that `wire` is a sequence of whole, valid frames as `masked`
/// says, with nothing after a close frame, and returns the last close
/// frame's code if any.
pub fn check_sent(wire: &[u8], masked: bool) -> Option<u16> {
    let mut rest = wire;
    let mut close = None;
    while !rest.is_empty() {
        assert!(close.is_none(), "a frame after our close frame");
        let (header, n) = match FrameHeader::parse(rest) {
            Ok(Some(parsed)) => parsed,
            other => panic!("sent bytes are not a frame: {other:?}"),
        };
        assert_eq!(header.mask.is_some(), masked, "masking wrong for the role");
        assert_eq!(header.rsv & 0b011, 0, "RSV2/RSV3 sent");
        let len = header.payload_len as usize;
        assert!(rest.len() >= n + len, "a truncated frame was sent");
        if header.opcode == OpCode::Close {
            let mut payload = rest[n..n + len].to_vec();
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            assert!(payload.len() != 1, "a one-byte close payload");
            close = Some(if payload.len() >= 2 {
                u16::from_be_bytes([payload[0], payload[1]])
            } else {
                1005
            });
        }
        rest = &rest[n + len..];
    }
    close
}

pub fn now() -> Instant {
    Instant::now()
}
