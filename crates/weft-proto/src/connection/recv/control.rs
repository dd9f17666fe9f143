//! Control frames (RFC 6455 5.5): ping, pong and close. Each arrives whole
//! (the header parser refuses fragmented or long ones) and may come between
//! the fragments of a message.

use bytes::Bytes;

use super::Step;
use crate::close::CloseFrame;
use crate::connection::Connection;
use crate::error::ProtocolError;
use crate::message::Event;

impl Connection {
    pub(super) fn on_ping(&mut self, payload: Bytes) -> Event {
        // RFC 6455 5.5.2: "Upon receipt of a Ping frame, an endpoint MUST
        // send a Pong frame in response". One pending pong at most: a newer
        // ping replaces its payload (5.5.3). Once our close is queued
        // nothing may follow it, pongs included (5.5.1).
        if self.config.auto_pong && self.closing.may_send() {
            self.send.owe_pong(payload.clone());
        }
        Event::Ping(payload)
    }

    pub(super) fn on_pong(&mut self, payload: Bytes) -> Event {
        self.timers.pong_received(&payload, self.now);
        Event::Pong(payload)
    }

    pub(super) fn on_close(&mut self, payload: &[u8]) -> Result<Step, ProtocolError> {
        let frame = CloseFrame::parse(payload)?;
        // RFC 6455 5.5.1: after a close frame, nothing more is read ("the
        // endpoint MAY discard any data received after sending a Close
        // frame"; the peer sends none after its own).
        self.recv.clear();
        let deadline = self.close_deadline();
        let auto_close = self.config.auto_close;
        Ok(
            match self
                .closing
                .peer_closed(&mut self.send, self.role, frame, auto_close, deadline)
            {
                Some(event) => Step::Event(event),
                None => Step::Continue,
            },
        )
    }
}
