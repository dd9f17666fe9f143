//! What the engine reports through the `tracing` facade (feature
//! `tracing`), and at which level. The levels follow python-websockets':
//!
//! | level | target | what |
//! | --- | --- | --- |
//! | TRACE | `weft_proto::frame` | every frame received (once its header is parsed) and every frame queued: a [`FrameInfo`](crate::FrameInfo) and a [`PayloadPreview`](crate::frame::PayloadPreview) (a close frame's code and reason, the first bytes of any other), as fields and as the message |
//! | DEBUG | `weft_proto::connection` | the connection opening, every change of phase of the closing handshake |
//! | DEBUG | `weft_proto::handshake` | the opening handshakes: the request, the answer, what was agreed, and why one failed (the caller gets that as an `Err` too) |
//! | INFO | `weft_proto::connection` | the end of each connection, once: its close code, the reason, who started it, whether it was clean |
//! | WARN | `weft_proto::connection` | failing a connection: a protocol violation by the peer, a timer |
//!
//! Nothing here reads a clock or does I/O: `tracing` hands each event to
//! whatever subscriber the application installed, which decides what is
//! written where. Each function tests its level before it builds anything,
//! so an event that no subscriber wants costs a comparison with a constant
//! and one atomic load. The frame events, the only ones on the hot paths,
//! are built in functions of their own kept out of line. Without the
//! feature every function here is empty and inline, so the call sites need
//! no `cfg` of their own.

#![cfg_attr(not(feature = "tracing"), allow(unused_variables))]

use crate::close::{CloseCode, CloseReason};
#[cfg(feature = "tracing")]
use crate::frame::{apply_mask, Direction, FrameHeader, FrameInfo, PayloadPreview, PREVIEW_LEN};
use crate::handshake::HandshakeError;
use crate::role::Role;

#[cfg(feature = "tracing")]
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
#[cfg(feature = "tracing")]
use tracing::Level;

/// Whether any subscriber may want events at `level`: the compile-time
/// maximum (a constant) and the run-time one (an atomic load). `false`
/// while no subscriber is installed.
#[cfg(feature = "tracing")]
#[inline(always)]
fn enabled(level: Level) -> bool {
    level <= STATIC_MAX_LEVEL && level <= LevelFilter::current()
}

// ----- frames (TRACE) -----

/// The frame whose header starts the bytes `wire` gives was received (its
/// header parsed, its payload arriving), with how many of its payload's
/// first bytes were unmasked in place already.
///
/// `wire` is called, and the header read again from it, only when TRACE
/// is on, so that the hot paths compute and keep nothing for the event
/// when it is off: on the short path of 16-byte messages, passing the
/// header's fields cost 13 instructions a frame, passing the buffer's
/// address 6, and this closure only the test of the level, 4 (counted
/// with callgrind).
#[inline(always)]
pub(crate) fn frame_received<'a>(wire: impl FnOnce() -> (&'a [u8], usize)) {
    #[cfg(feature = "tracing")]
    if enabled(Level::TRACE) {
        let (wire, unmasked) = wire();
        frame_received_at(wire, unmasked);
    }
}

/// The frame whose encoded header is `head` and whose payload (before
/// masking) is `payload` was queued to be sent.
#[inline(always)]
pub(crate) fn frame_sent(head: &[u8], payload: &[u8]) {
    #[cfg(feature = "tracing")]
    if enabled(Level::TRACE) {
        frame_sent_at(head, payload);
    }
}

/// A received frame: its header read again from `wire`, and as much of
/// its payload as has arrived, unmasked for the preview past the first
/// `unmasked` bytes (unmasked in place already).
#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn frame_received_at(wire: &[u8], unmasked: usize) {
    // TRACE is on somewhere, but perhaps not for frames: ask before
    // reading the header again (the answer is cached per call site).
    if !tracing::enabled!(target: "weft_proto::frame", Level::TRACE) {
        return;
    }
    // The callers pass a header that parsed.
    if let Ok(Some((header, header_len))) = FrameHeader::parse(wire) {
        let arrived = &wire[header_len..];
        let mut start = [0u8; PREVIEW_LEN];
        let shown = arrived.len().min(PREVIEW_LEN);
        start[..shown].copy_from_slice(&arrived[..shown]);
        if let Some(key) = header.mask {
            let done = unmasked.min(shown);
            apply_mask(&mut start[done..shown], key, done);
        }
        let preview = PayloadPreview::new(header.opcode, &start[..shown], header.payload_len);
        frame_event(FrameInfo::new(Direction::Received, &header), preview);
    }
}

/// A frame queued: its header read again from `head`, its payload as
/// given (not yet masked).
#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn frame_sent_at(head: &[u8], payload: &[u8]) {
    if !tracing::enabled!(target: "weft_proto::frame", Level::TRACE) {
        return;
    }
    // The caller passes a header it just encoded.
    if let Ok(Some((header, _))) = FrameHeader::parse(head) {
        let preview = PayloadPreview::new(header.opcode, payload, header.payload_len);
        frame_event(FrameInfo::new(Direction::Sent, &header), preview);
    }
}

#[cfg(feature = "tracing")]
fn frame_event(info: FrameInfo, preview: PayloadPreview) {
    let close_code = preview.close_code().map(|code| code.0);
    tracing::trace!(
        target: "weft_proto::frame",
        direction = %info.direction,
        opcode = %info.opcode,
        fin = info.fin,
        rsv1 = info.rsv1,
        rsv2 = info.rsv2,
        rsv3 = info.rsv3,
        masked = info.masked,
        payload_len = info.payload_len,
        close_code,
        payload = %preview,
        "{info}{preview}"
    );
}

// ----- the connection (DEBUG, INFO, WARN) -----

/// A connection was made, in the phase `Open`.
#[inline]
pub(crate) fn opened(role: Role) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "weft_proto::connection", %role, "connection open");
}

/// The closing handshake's machine moved from one phase to another.
#[inline]
pub(crate) fn phase_changed(from: &'static str, to: &'static str) {
    #[cfg(feature = "tracing")]
    if from != to {
        tracing::debug!(target: "weft_proto::connection", from, to, "state change");
    }
}

/// The connection is being failed (RFC 6455 7.1.7) for `reason`, with our
/// close frame carrying `sent` (`None`: ours was sent already). The
/// message is the same for every failure; the fields say which.
#[inline]
pub(crate) fn failing(sent: Option<CloseCode>, reason: &CloseReason) {
    #[cfg(feature = "tracing")]
    if enabled(Level::WARN) {
        let why = Why(reason);
        match sent {
            Some(code) => tracing::warn!(
                target: "weft_proto::connection",
                code = code.0,
                error = %why,
                "failing the connection"
            ),
            None => tracing::warn!(
                target: "weft_proto::connection",
                error = %why,
                "failing the connection"
            ),
        }
    }
}

/// The connection ended. `initiator` says who started the end: `us` or
/// `peer` (whoever sent the first close frame), or, when the end came
/// without one, `timer`, `protocol error` or `transport`.
#[inline]
pub(crate) fn closed(reason: &CloseReason, initiator: &'static str) {
    #[cfg(feature = "tracing")]
    if enabled(Level::INFO) {
        // A string rather than a `Display` value, so that an empty reason
        // shows as `""`.
        let why = Why(reason).to_string();
        tracing::info!(
            target: "weft_proto::connection",
            code = reason.code().0,
            reason = why.as_str(),
            initiator,
            clean = reason.is_clean(),
            "connection closed"
        );
    }
}

/// A client waiting for the server to close the transport after the
/// closing handshake stopped waiting (RFC 6455 7.1.1: it closes it itself).
#[inline]
pub(crate) fn gave_up_waiting_for_eof() {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::connection",
        "the server did not close the transport within the close timeout"
    );
}

/// Why a connection ended, in words: the reason in the peer's close frame
/// when it closed cleanly, otherwise what went wrong. The close code is a
/// field of its own, so it is left out here.
#[cfg(feature = "tracing")]
struct Why<'a>(&'a CloseReason);

#[cfg(feature = "tracing")]
impl std::fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            CloseReason::Clean(frame) => f.write_str(&frame.reason),
            CloseReason::Protocol(e) => write!(f, "{e}"),
            CloseReason::Abnormal => f.write_str("the transport ended without a closing handshake"),
            CloseReason::TimedOut(t) => write!(f, "{t}"),
        }
    }
}

// ----- the client's handshake (DEBUG) -----

/// The client's request head was written.
#[inline]
pub(crate) fn request_sent(
    target: &str,
    host: &str,
    subprotocols: &[String],
    extensions: &[String],
) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        host,
        ?subprotocols,
        ?extensions,
        "> GET {target} HTTP/1.1"
    );
}

/// The status line of the server's answer arrived.
#[inline]
pub(crate) fn response_received(status: u16, reason: &str) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        status,
        "< HTTP/1.1 {status} {reason}"
    );
}

/// The server's 101 was checked: what the connection agreed on.
#[inline]
pub(crate) fn accepted_by_server(subprotocol: Option<&str>, extensions: &[String]) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        ?subprotocol,
        ?extensions,
        "handshake accepted"
    );
}

/// The client's handshake failed with `error`.
#[inline]
pub(crate) fn client_handshake_failed(error: &HandshakeError) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        error = %error,
        "opening handshake failed"
    );
}

// ----- the server's handshake (DEBUG) -----

/// A request head arrived whole: its request line.
#[inline]
pub(crate) fn request_received(method: &str, target: &str, version: u8) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        method,
        request_target = target,
        "< {method} {target} HTTP/1.{version}"
    );
}

/// The server accepted: the 101 it wrote, and what it agreed to.
#[inline]
pub(crate) fn accepting(subprotocol: Option<&str>, extensions: Option<&str>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        status = 101u16,
        ?subprotocol,
        ?extensions,
        "> HTTP/1.1 101 Switching Protocols"
    );
}

/// The server refused with `status`: the application's rejection, or the
/// answer to a request that is no valid handshake (`error`).
#[inline]
pub(crate) fn refusing(status: u16, reason: &str, error: Option<&HandshakeError>) {
    #[cfg(feature = "tracing")]
    match error {
        Some(error) => tracing::debug!(
            target: "weft_proto::handshake",
            status,
            error = %error,
            "> HTTP/1.1 {status} {reason}"
        ),
        None => tracing::debug!(
            target: "weft_proto::handshake",
            status,
            "> HTTP/1.1 {status} {reason}"
        ),
    }
}

/// The server's handshake failed with `error`, which calls for no answer.
#[inline]
pub(crate) fn server_handshake_failed(error: &HandshakeError) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "weft_proto::handshake",
        error = %error,
        "opening handshake failed"
    );
}
