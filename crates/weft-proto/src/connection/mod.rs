//! The [`Connection`] state machine: an open WebSocket after the handshake.
//!
//! The receive side ([`recv`]) parses and assembles what arrives; the send
//! side ([`send`]) queues what goes out; the closing machine ([`closing`])
//! decides what each may still do; the timers ([`timers`]) act on `now`.
//! This file holds the connection itself: construction, getters, inputs
//! and outputs. The application's commands are in [`commands`].

mod closing;
mod commands;
mod mask_keys;
mod recv;
mod send;
mod timers;

use std::fmt;
use std::time::Instant;

use crate::close::CloseReason;
use crate::config::Config;
use crate::message::{Event, EventRef};
use crate::role::Role;
use crate::transmit::Transmit;
use crate::transmit_ref::TransmitRef;

pub use closing::State;
pub use mask_keys::MaskKeys;
#[cfg(feature = "deflate")]
pub(crate) use send::RSV1;
pub use timers::Latency;

use closing::Closing;
use recv::Recv;
use send::Sender;
use timers::Timers;

#[cfg(feature = "deflate")]
use crate::deflate::{Deflate, DeflateParams};
#[cfg(not(feature = "deflate"))]
use crate::no_deflate::Deflate;

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
///   queue frames or return a [`SendError`](crate::SendError) and change nothing.
/// - **Outputs**, to poll after every input or command, in this order:
///   [`poll_event`](Self::poll_event) until `None` (it parses lazily, and may
///   queue replies such as pongs and close echoes), then
///   [`poll_transmit`](Self::poll_transmit) (bytes to write),
///   [`poll_shutdown`](Self::poll_shutdown) (time to half-close the
///   transport), [`poll_timeout`](Self::poll_timeout) (when to call
///   `handle_timeout` next).
/// - **Getters**: [`state`](Self::state), [`role`](Self::role),
///   [`close_reason`](Self::close_reason), [`latency`](Self::latency),
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
    closing: Closing,
    recv: Recv,
    send: Sender,
    /// The event `poll_event_ref` lent last, when it did not lend it from
    /// the receive buffer: kept until the next call.
    /// Boxed: most connections never hold one, and an `Event` is 40 bytes.
    lent_event: Option<Box<Event>>,
    /// permessage-deflate, once negotiated.
    /// Boxed: its state is a few hundred bytes a connection without it
    /// need not carry.
    deflate: Option<Box<Deflate>>,
    timers: Timers,
    /// The latest instant an input gave.
    now: Instant,
    /// The largest payload the short path takes whole: the frame and
    /// message limits and the stream threshold, worked out once.
    whole_max: usize,
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
        crate::logging::opened(role);
        let whole_max = config
            .max_frame_size
            .min(config.max_message_size)
            .min(config.stream_threshold.unwrap_or(usize::MAX));
        Connection {
            role,
            whole_max,
            config,
            closing: Closing::new(),
            recv: Recv::default(),
            send: Sender::new(mask_keys),
            lent_event: None,
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
        self.deflate = Some(Box::new(Deflate::new(params, self.role, &config)));
    }

    // ----- getters -----

    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_deref().map(Deflate::params)
    }

    /// Whether [`Event::Closed`] has been returned: nothing more will happen
    /// but writing out what [`poll_transmit`](Self::poll_transmit) holds.
    pub fn is_terminated(&self) -> bool {
        self.closing.is_terminated()
    }

    /// Why the connection ended, once it has: the same reason
    /// [`Event::Closed`] carries, kept for as long as the connection lives.
    ///
    /// It is `Some` from the moment the connection ends, which can be a
    /// call before `Event::Closed` is polled (a server's clean end follows
    /// its `CloseReceived` event). It is `None` until then, including while
    /// a client waits for the server to close the transport after the
    /// closing handshake, when [`state`](Self::state) already says
    /// [`State::Closed`].
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.closing.reason()
    }

    /// The round trip of keepalive pings, once one was answered: the
    /// latest and a smoothed value. `None` without keepalive
    /// ([`Config::keepalive`]) or before the first pong.
    pub fn latency(&self) -> Option<Latency> {
        self.timers.latency()
    }

    /// Where the connection stands in the closing handshake.
    pub fn state(&self) -> State {
        self.closing.state()
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
        self.send.buffered()
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
        self.release_lent_event();
        self.timers.received(now);
        if self.closing.is_reading() && !self.recv.eof {
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

    // ----- outputs -----

    /// Bytes to write to the transport, if any: every frame queued so far,
    /// in order, as one [`Transmit`]. Write all of it before the next one.
    #[must_use = "the transmit holds bytes that must be written to the transport"]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        // What a lent event left behind goes here too: after the last
        // event, adapters only take transmits.
        self.recv.settle();
        self.send.take_transmit()
    }

    /// The bytes to write to the transport, if any, lent rather than
    /// handed over: every frame queued so far, in order, as a
    /// [`TransmitRef`] over the connection's own queue. Advance it by what
    /// the transport took; what was not written stays queued for the next
    /// call, and frames queued meanwhile go after it. No allocation or
    /// reference count per write: the fastest way to send when the writer
    /// holds the connection (see [`TransmitRef`] for when an owned
    /// [`Transmit`] from [`poll_transmit`](Self::poll_transmit) is the
    /// better fit).
    #[must_use = "the transmit lends bytes that must be written to the transport"]
    #[inline]
    pub fn poll_transmit_ref(&mut self) -> Option<TransmitRef<'_>> {
        self.recv.settle();
        self.send.lend_transmit()
    }

    /// Returns `true` once, when it is time to half-close the transport's
    /// write side: the connection has ended or its closing handshake is
    /// done, and everything from [`poll_transmit`](Self::poll_transmit) has
    /// been handed out. Later calls return `false`.
    #[must_use = "`true` is given once: the transport must then be half-closed"]
    pub fn poll_shutdown(&mut self) -> bool {
        self.closing.take_shutdown(&self.send)
    }

    /// Whether [`poll_shutdown`](Self::poll_shutdown) would return `true`
    /// now, without taking it: for an adapter whose threads take turns
    /// writing, to tell whether the one that wrote last left work behind.
    pub fn is_shutdown_due(&self) -> bool {
        self.closing.shutdown_due(&self.send)
    }

    /// The next event, if the bytes received so far make one. Call until it
    /// returns `None` after every input. Parsing happens here, one event at
    /// a time: an application that stops polling stops the parsing, and its
    /// adapter should stop reading too, reading again only once this has
    /// returned `None`.
    #[must_use = "events carry messages and the connection's end"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.release_lent_event();
        self.recv.settle();
        if self.closing.is_reading() {
            if let Some(event) = self.whole_message() {
                return Some(event);
            }
        }
        self.poll_event_general()
    }

    /// [`poll_event`](Self::poll_event) past its short path.
    fn poll_event_general(&mut self) -> Option<Event> {
        loop {
            // A step may end the connection, and the end is an event.
            if let Some(event) = self.closing.take_closed_event() {
                return Some(event);
            }
            if !self.closing.is_reading() {
                // Nothing more is read; only the transport's end is awaited.
                if self.recv.eof && !self.closing.is_terminated() {
                    self.recv.clear();
                    self.closing.transport_ended(&mut self.send);
                    continue;
                }
                return None;
            }
            match self.step() {
                recv::Step::Event(event) => return Some(event),
                recv::Step::Continue => continue,
                recv::Step::NeedMore => {
                    let keep_room = self.recv.collecting_text();
                    if self.recv.input.caught_up(keep_room) == recv::Parsed::MoreBuffered {
                        continue;
                    }
                    if self.recv.eof {
                        self.recv.clear();
                        self.closing.transport_ended(&mut self.send);
                        continue;
                    }
                    return None;
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
    #[must_use = "events carry messages and the connection's end"]
    pub fn poll_event_ref(&mut self) -> Option<EventRef<'_>> {
        self.release_lent_event();
        self.recv.settle();
        if self.closing.is_reading() {
            // Found first and lent after: a borrow returned on one path
            // only would keep `self` borrowed on the other.
            if let Some(frame) = self.whole_message_in_place() {
                // The frame is taken here, and its header not read again;
                // its bytes are still at the front of the buffer.
                crate::logging::frame_received(|| (self.recv.unparsed(), usize::MAX));
                return self.lend(frame);
            }
        }
        self.lent_event = self.poll_event_general().map(Box::new);
        self.lent_event.as_deref().map(Event::as_event_ref)
    }

    // ----- what the receive path and the timers share -----

    /// Drops the event `poll_event_ref` lent last. Checked first: a plain
    /// assignment calls the drop glue of `Option<Event>` every time (4
    /// instructions a message on the short path, counted with callgrind).
    #[inline]
    fn release_lent_event(&mut self) {
        if self.lent_event.is_some() {
            self.lent_event = None;
        }
    }

    /// The close timeout counted from the latest input or command.
    fn close_deadline(&self) -> Option<Instant> {
        self.now.checked_add(self.config.close_timeout)
    }

    /// Fails the connection (RFC 6455 7.1.7): nothing more is read, our
    /// close frame with `code` is queued unless one already was, and
    /// `Closed(reason)` becomes the next event.
    fn fail(&mut self, code: crate::CloseCode, text: &str, reason: CloseReason) {
        self.recv.clear();
        self.closing.fail(&mut self.send, code, text, reason);
    }
}
