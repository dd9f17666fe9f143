//! The [`Connection`] state machine: an open WebSocket after the handshake.

mod recv;
mod timers;

use std::fmt;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::close::{CloseCode, CloseFrame, CloseReason, MAX_CLOSE_REASON};
use crate::config::{Config, Role};
use crate::error::SendError;
use crate::frame::OpCode;
use crate::message::{Event, EventRef, MessageKind, Utf8Bytes};
use crate::transmit::{OutQueue, Transmit};
use crate::utf8::Utf8Validator;

use recv::Recv;
use timers::Timers;

#[cfg(feature = "deflate")]
use crate::deflate::{Deflate, DeflateParams};
#[cfg(not(feature = "deflate"))]
use crate::no_deflate::Deflate;

/// A source of masking keys for the frames a client sends (RFC 6455 5.3).
///
/// The core draws no randomness itself. The RFC asks for keys "derived from
/// a strong source of entropy" so that a page's script cannot choose the
/// bytes that reach a proxy; adapters pass a generator seeded from the OS.
/// Any `FnMut() -> [u8; 4] + Send` closure is a source.
///
/// ```
/// use weft_proto::MaskKeys;
/// let mut counter = 0u32;
/// let mut keys = move || { counter += 1; counter.to_be_bytes() };
/// assert_eq!(keys.next_key(), [0, 0, 0, 1]);
/// ```
pub trait MaskKeys: Send {
    /// The key for the next frame.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskKeys for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}

/// Where a connection stands in the closing handshake (RFC 6455 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's; messages may still arrive.
    CloseSent,
    /// The peer's close frame arrived and auto-close is off: the application
    /// owes the reply ([`Connection::close`]) and may still send until then.
    CloseReceived,
    /// Close frames were exchanged, or the connection failed or timed out.
    /// Only the transport remains to be closed.
    Closed,
}

#[derive(Debug)]
enum Phase {
    Open,
    /// Deadlines are `None` when the close timeout is too long to represent.
    CloseSent {
        deadline: Option<Instant>,
    },
    /// The application owes the reply to the peer's close, by the deadline.
    CloseReceived {
        frame: CloseFrame,
        deadline: Option<Instant>,
    },
    /// Both close frames exchanged; a client waits for the server to close
    /// the transport first (RFC 6455 7.1.1), up to the deadline.
    AwaitingEof {
        frame: CloseFrame,
        deadline: Option<Instant>,
    },
    /// The terminal event has been queued or delivered.
    Done,
}

/// A fragmented message being sent.
#[derive(Debug)]
struct OutFragments {
    kind: MessageKind,
    utf8: Utf8Validator,
}

/// An open WebSocket connection, as a state machine with no I/O.
///
/// Its methods fall into four groups, in the manner of `quinn-proto`:
///
/// - **Inputs** tell it what happened: [`handle_data`](Self::handle_data)
///   (bytes read from the transport), [`handle_eof`](Self::handle_eof) (the
///   transport's read side ended), [`handle_timeout`](Self::handle_timeout)
///   (the instant from [`poll_timeout`](Self::poll_timeout) has passed; a
///   spurious call is harmless).
/// - **Commands** from the application: [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close). They
///   queue frames or return a [`SendError`] and change nothing.
/// - **Outputs**, to poll after every input or command, in this order:
///   [`poll_event`](Self::poll_event) until `None` (it parses lazily, and may
///   queue replies such as pongs and close echoes), then
///   [`poll_transmit`](Self::poll_transmit) (bytes to write),
///   [`poll_shutdown`](Self::poll_shutdown) (time to half-close the
///   transport), [`poll_timeout`](Self::poll_timeout) (when to call
///   `handle_timeout` next).
/// - **Getters**: [`state`](Self::state), [`role`](Self::role),
///   [`buffered_amount`](Self::buffered_amount), [`config`](Self::config).
///
/// Time is always an argument: the connection never reads a clock. The
/// `now` given to an input is taken as the time its bytes arrived.
///
/// RFC duties happen without the application: pings are answered, the
/// peer's close frame is echoed, a protocol violation queues the right close
/// code and ends the connection, a server closes the transport first.
/// A connection always ends with exactly one [`Event::Closed`], which says
/// why; closing is never an `Err`.
pub struct Connection {
    role: Role,
    config: Config,
    mask_keys: Option<Box<dyn MaskKeys>>,
    phase: Phase,
    recv: Recv,
    out: OutQueue,
    /// At most one automatic pong waits for `poll_transmit`, carrying the
    /// latest ping's payload.
    pending_pong: Option<Bytes>,
    /// Our close frame is queued: no frame may follow it.
    close_sent: bool,
    shutdown: bool,
    /// The event that follows the one just returned (a server's `Closed`
    /// after `CloseReceived`), or a terminal event a timer produced.
    follow_up: Option<Event>,
    /// The event `poll_event_ref` lent last, when it did not lend it from
    /// the receive buffer.
    held: Option<Event>,
    sending: Option<OutFragments>,
    /// permessage-deflate, once negotiated.
    deflate: Option<Deflate>,
    timers: Timers,
    /// The latest instant an input gave.
    now: Instant,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("buffered_amount", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server's end of a connection whose handshake is done. `now` starts
    /// the keepalive and idle timers.
    pub fn server(config: Config, now: Instant) -> Connection {
        Connection::new(Role::Server, config, None, now)
    }

    /// A client's end of a connection whose handshake is done, masking its
    /// frames with keys from `mask_keys`. `now` starts the keepalive and
    /// idle timers.
    pub fn client(config: Config, mask_keys: impl MaskKeys + 'static, now: Instant) -> Connection {
        Connection::new(Role::Client, config, Some(Box::new(mask_keys)), now)
    }

    fn new(
        role: Role,
        config: Config,
        mask_keys: Option<Box<dyn MaskKeys>>,
        now: Instant,
    ) -> Connection {
        Connection {
            role,
            config,
            mask_keys,
            phase: Phase::Open,
            recv: Recv::default(),
            out: OutQueue::default(),
            pending_pong: None,
            close_sent: false,
            shutdown: false,
            follow_up: None,
            held: None,
            sending: None,
            deflate: None,
            timers: Timers::new(now),
            now,
        }
    }

    /// Turns on permessage-deflate with parameters agreed elsewhere (the
    /// handshakes in this crate do it themselves). Level and threshold come
    /// from [`Config::deflate`], or its defaults. Call before any message.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(&mut self, params: DeflateParams) {
        let config = self.config.deflate.clone().unwrap_or_default();
        self.deflate = Some(Deflate::new(params, self.role, &config));
    }

    // ----- getters -----

    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref().map(Deflate::params)
    }

    /// Whether [`Event::Closed`] has been returned: nothing more will happen
    /// but writing out what [`poll_transmit`](Self::poll_transmit) holds.
    pub fn is_terminated(&self) -> bool {
        matches!(self.phase, Phase::Done) && self.follow_up.is_none()
    }

    /// Where the connection stands in the closing handshake.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Open => State::Open,
            Phase::CloseSent { .. } => State::CloseSent,
            Phase::CloseReceived { .. } => State::CloseReceived,
            Phase::AwaitingEof { .. } | Phase::Done => State::Closed,
        }
    }

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes queued for sending that `poll_transmit` has not yet handed out.
    /// Adapters compare it with a high-water mark to apply backpressure.
    pub fn buffered_amount(&self) -> usize {
        self.out.len() + self.pending_pong.as_ref().map_or(0, |p| p.len() + 14)
    }

    /// Bytes received and not yet delivered as events: input not yet parsed,
    /// plus the part of a fragmented message assembled so far (bounded by
    /// the message size limit). The core keeps whatever `handle_data` is
    /// given; an adapter that reads again only once `poll_event` has
    /// returned `None` keeps the unparsed part under one frame.
    pub fn buffered_received(&self) -> usize {
        self.recv.buffered()
    }

    // ----- inputs -----

    /// Bytes read from the transport, arrived at `now`. They are parsed
    /// lazily by [`poll_event`](Self::poll_event). Bytes that arrive after
    /// the peer's close frame, or after the connection failed, are discarded.
    pub fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        self.held = None;
        self.timers.received(now);
        if self.is_reading() {
            self.recv.push(data, self.role == Role::Server);
        }
    }

    /// The transport's read side ended. Frames already received are still
    /// delivered; then the connection ends: cleanly if the closing handshake
    /// was done, otherwise with [`CloseReason::Abnormal`].
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.recv.eof = true;
    }

    // ----- commands -----

    /// Queues a text message.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), SendError> {
        self.send_message(OpCode::Text, text.into().into_bytes())
    }

    /// Queues a binary message. A server sends a large payload without
    /// copying it.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_message(OpCode::Binary, data.into())
    }

    fn send_message(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_open()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        // RFC 7692 7.2.1: a compressed message is marked with RSV1.
        match self.deflate.as_mut() {
            Some(deflate) if deflate.wants(payload.len()) => {
                let compressed = deflate.compress(&payload);
                let mask = self.next_mask();
                self.out.push_frame(opcode, true, RSV1, compressed, mask);
            }
            _ => self.push_frame(opcode, true, payload),
        }
        Ok(())
    }

    /// Queues a whole message that is not compressed even when
    /// permessage-deflate is on (already compressed data, say): the
    /// per-message opt-out. Text must be UTF-8.
    pub fn send_uncompressed(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
    ) -> Result<(), SendError> {
        self.check_open()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        let data = data.into();
        let opcode = match kind {
            MessageKind::Text => {
                std::str::from_utf8(&data).map_err(|_| SendError::InvalidUtf8)?;
                OpCode::Text
            }
            MessageKind::Binary => OpCode::Binary,
        };
        self.push_frame(opcode, true, data);
        Ok(())
    }

    /// Queues one fragment of a message sent in pieces (RFC 6455 5.4). The
    /// first call starts a message of `kind`; later calls must give the same
    /// kind; `is_last` ends it. Control frames may be sent in between, other
    /// messages may not. Text fragments are checked to join into valid UTF-8
    /// (a code point may straddle fragments). Messages sent in fragments are
    /// not compressed.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let data = data.into();
        let (opcode, mut utf8) = match &self.sending {
            None => {
                let opcode = match kind {
                    MessageKind::Text => OpCode::Text,
                    MessageKind::Binary => OpCode::Binary,
                };
                (opcode, Utf8Validator::new())
            }
            Some(s) if s.kind == kind => (OpCode::Continuation, s.utf8.clone()),
            Some(_) => return Err(SendError::FragmentInProgress),
        };
        if kind == MessageKind::Text {
            utf8.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if is_last && !utf8.is_complete() {
                return Err(SendError::InvalidUtf8);
            }
        }
        self.push_frame(opcode, is_last, data);
        self.sending = (!is_last).then_some(OutFragments { kind, utf8 });
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload.into())
    }

    /// Queues an unsolicited pong (a unidirectional heartbeat, RFC 6455 5.5.3).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload.into())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > 125 {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        self.push_frame(opcode, true, payload);
        Ok(())
    }

    /// Starts the closing handshake, or answers the peer's close when
    /// auto-close is off. No frame may be sent after it. The peer has the
    /// close timeout, counted from `now`, to answer. Fails with
    /// [`SendError::Closed`] once a close frame was sent or the connection ended.
    ///
    /// `code` must be one an endpoint may send (see
    /// [`CloseCode::is_sendable`]) and `reason` at most 123 bytes.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.check_open()?;
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        self.now = now;
        self.queue_close(Some(code), reason);
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Open => {
                self.phase = Phase::CloseSent {
                    deadline: self.close_deadline(),
                }
            }
            Phase::CloseReceived { frame, .. } => self.finish_closing_handshake(frame),
            other => self.phase = other,
        }
        Ok(())
    }

    // ----- outputs -----

    /// Bytes to write to the transport, if any: every frame queued so far,
    /// in order, as one [`Transmit`]. Write all of it before the next one.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        // What a lent event left behind goes here too: after the last
        // event, adapters only take transmits.
        self.recv.settle();
        let pong = self.pending_pong.take();
        if pong.is_none() && self.out.len() == 0 {
            return None;
        }
        let transmit = match pong {
            // The pong goes first: it answers a ping that came before
            // anything else in the queue was handed out, and queued frames
            // are whole, so it cannot land inside one.
            Some(payload) => {
                let mask = self.next_mask();
                let mut first = OutQueue::default();
                first.push_frame(OpCode::Pong, true, 0, payload, mask);
                let mut transmit = first.take();
                transmit.append(self.out.take());
                transmit
            }
            None => self.out.take(),
        };
        Some(transmit)
    }

    /// Whether it is time to half-close the transport's write side: the
    /// connection has ended or its closing handshake is done, and everything
    /// from [`poll_transmit`](Self::poll_transmit) has been handed out.
    pub fn poll_shutdown(&self) -> bool {
        self.shutdown && self.out.len() == 0 && self.pending_pong.is_none()
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout)
    /// should be called, if any timer is running.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Done => None,
            // The peer's answer may be among the bytes not yet parsed.
            Phase::CloseSent { .. } if self.recv.unparsed => None,
            Phase::CloseSent { deadline }
            | Phase::CloseReceived { deadline, .. }
            | Phase::AwaitingEof { deadline, .. } => *deadline,
            Phase::Open => self.timers.next(&self.config, self.recv.unparsed),
        }
    }

    /// The next event, if the bytes received so far make one. Call until it
    /// returns `None` after every input. Parsing happens here, one event at
    /// a time: an application that stops polling stops the parsing, and its
    /// adapter should stop reading too, reading again only once this has
    /// returned `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.held = None;
        self.recv.settle();
        if self.fast_path_open() {
            if let Some(event) = self.whole_message() {
                return Some(event);
            }
        }
        self.poll_event_general()
    }

    /// Whether a whole message may be taken on the short path: reading,
    /// with no event waiting to follow.
    fn fast_path_open(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseSent { .. }) && self.follow_up.is_none()
    }

    /// [`poll_event`](Self::poll_event) past its short path.
    fn poll_event_general(&mut self) -> Option<Event> {
        loop {
            // A step may end the connection and leave its terminal event here.
            if self.follow_up.is_some() {
                return self.follow_up.take();
            }
            match self.phase {
                Phase::Done => return None,
                Phase::Open | Phase::CloseSent { .. } => {}
                Phase::CloseReceived { .. } | Phase::AwaitingEof { .. } => {
                    return self.recv.eof.then(|| self.end_on_eof());
                }
            }
            match self.step() {
                recv::Step::Event(event) => return Some(event),
                recv::Step::Continue => continue,
                recv::Step::NeedMore => {
                    if self.recv.parsed_all() {
                        continue;
                    }
                    return self.recv.eof.then(|| self.end_on_eof());
                }
            }
        }
    }

    /// Like [`poll_event`](Self::poll_event), but lends the event rather
    /// than handing it over, and so saves the work of sharing a payload.
    ///
    /// A message in one frame of under 64 KiB (uncompressed, not streamed)
    /// that is wholly buffered when polled, the common case, is lent
    /// straight from the receive buffer: no reference count is taken or
    /// dropped, and text is validated once (with `std` below 64 bytes,
    /// with [`simdutf8`] above). Any other event is lent from the
    /// connection, which holds it until the next call. What was lent is
    /// let go at the next call to this, [`poll_event`](Self::poll_event),
    /// [`handle_data`](Self::handle_data) or
    /// [`poll_transmit`](Self::poll_transmit); the two ways of polling can
    /// be mixed freely.
    ///
    /// ```
    /// use std::time::Instant;
    /// use weft_proto::{Config, Connection, EventRef};
    ///
    /// let mut server = Connection::server(Config::default(), Instant::now());
    /// // A masked text frame, "Hi", as a client sends it.
    /// server.handle_data(Instant::now(), &[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]);
    /// assert_eq!(server.poll_event_ref(), Some(EventRef::Text("Hi")));
    /// assert_eq!(server.poll_event_ref(), None);
    /// ```
    pub fn poll_event_ref(&mut self) -> Option<EventRef<'_>> {
        self.held = None;
        self.recv.settle();
        if self.fast_path_open() {
            // Found first and lent after: a borrow returned on one path
            // only would keep `self` borrowed on the other.
            if let Some(frame) = self.whole_message_in_place() {
                return Some(self.lend(frame));
            }
        }
        self.held = self.poll_event_general();
        self.held.as_ref().map(Event::as_event_ref)
    }

    // ----- internals shared by the receive path and the timers -----

    fn is_reading(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseSent { .. }) && !self.recv.eof
    }

    fn check_open(&self) -> Result<(), SendError> {
        if self.close_sent || matches!(self.phase, Phase::Done) {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    fn next_mask(&mut self) -> Option<[u8; 4]> {
        self.mask_keys.as_mut().map(|keys| keys.next_key())
    }

    fn push_frame(&mut self, opcode: OpCode, fin: bool, payload: Bytes) {
        let mask = self.next_mask();
        self.out.push_frame(opcode, fin, 0, payload, mask);
    }

    /// Queues our close frame (no code: an empty payload). Nothing may follow
    /// it, so a pong still owed for an earlier ping goes out first.
    fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) {
        queue_close_in(
            &mut self.out,
            &mut self.mask_keys,
            &mut self.pending_pong,
            code,
            reason,
        );
        self.close_sent = true;
        self.sending = None;
    }

    /// Both close frames have been exchanged (RFC 6455 7.1.1): a server
    /// closes the transport now; a client waits for the server to.
    fn finish_closing_handshake(&mut self, frame: CloseFrame) {
        self.recv.clear();
        match self.role {
            Role::Server => self.end(CloseReason::Clean(frame)),
            Role::Client => {
                self.phase = Phase::AwaitingEof {
                    frame,
                    deadline: self.close_deadline(),
                };
            }
        }
    }

    /// The close timeout counted from the latest input or command.
    fn close_deadline(&self) -> Option<Instant> {
        self.now.checked_add(self.config.close_timeout)
    }

    /// Ends the connection: `Closed(reason)` becomes the next event.
    fn end(&mut self, reason: CloseReason) {
        self.phase = Phase::Done;
        self.shutdown = true;
        self.pending_pong = None;
        self.recv.clear();
        self.follow_up = Some(Event::Closed(reason));
    }

    /// The transport ended, after every received frame was delivered.
    fn end_on_eof(&mut self) -> Event {
        // Clean only once both close frames were exchanged (RFC 6455 7.1.1);
        // a peer that closes the transport before our reply ends abnormally.
        let reason = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::AwaitingEof { frame, .. } => CloseReason::Clean(frame),
            _ => CloseReason::Abnormal,
        };
        self.end(reason);
        self.follow_up
            .take()
            .unwrap_or(Event::Closed(CloseReason::Abnormal))
    }
}

/// The RSV1 bit, which marks a compressed message (RFC 7692 6).
const RSV1: u8 = 0b100;

/// The frames of [`Connection::queue_close`], given the fields they touch:
/// a pong still owed, then the close frame.
fn queue_close_in(
    out: &mut OutQueue,
    mask_keys: &mut Option<Box<dyn MaskKeys>>,
    pending_pong: &mut Option<Bytes>,
    code: Option<CloseCode>,
    reason: &str,
) {
    let mut push = |opcode, payload| {
        let mask = mask_keys.as_mut().map(|keys| keys.next_key());
        out.push_frame(opcode, true, 0, payload, mask);
    };
    if let Some(pong) = pending_pong.take() {
        push(OpCode::Pong, pong);
    }
    let mut payload = BytesMut::new();
    if let Some(code) = code {
        payload.extend_from_slice(&code.0.to_be_bytes());
        payload.extend_from_slice(truncate_utf8(reason, MAX_CLOSE_REASON).as_bytes());
    }
    push(OpCode::Close, payload.freeze());
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
