//! Helpers shared by the RFC-section tests: a frame builder written
//! independently of the crate's encoder, single-endpoint feeders, and an
//! in-memory client/server pair driven with a simulated clock. The
//! handshake tests' heads and checks are in [`handshake`], the property
//! tests' generators in [`properties`].

#![allow(dead_code)]

pub mod handshake;
pub mod properties;

use std::time::{Duration, Instant};

use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, ServerHandshake};
use weft_proto::{CloseReason, Config, Connection, Event};

/// The fixed mask key tests use for client frames.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes a frame byte by byte from RFC 6455 5.2, independently of the
/// crate's encoder. `first` is the whole first byte (FIN, RSV, opcode).
pub fn raw_frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A frame as a client sends it: masked with [`KEY`].
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first, payload, Some(KEY))
}

/// A frame as a server sends it: unmasked.
pub fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(first, payload, None)
}

/// A close frame's payload.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// A server connection with `config`, opened at `now`.
pub fn server(config: Config, now: Instant) -> Connection {
    Connection::server(config, now)
}

/// A client connection with `config` masking every frame with [`KEY`].
pub fn client(config: Config, now: Instant) -> Connection {
    Connection::client(config, || KEY, now)
}

/// Feeds `data` and returns every event it produces.
pub fn feed(conn: &mut Connection, now: Instant, data: &[u8]) -> Vec<Event> {
    conn.handle_data(now, data);
    events(conn)
}

/// Every event the connection has ready.
pub fn events(conn: &mut Connection) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(event) = conn.poll_event() {
        out.push(event);
        assert!(out.len() < 1_000_000, "poll_event never returned None");
    }
    out
}

/// Every byte the connection has queued for sending.
pub fn sent(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(transmit) = conn.poll_transmit() {
        out.extend_from_slice(&transmit.to_vec());
    }
    out
}

/// The terminal reason among `events`, checking it is the last one.
pub fn closed_reason(events: &[Event]) -> Option<&CloseReason> {
    let position = events.iter().position(|e| matches!(e, Event::Closed(_)))?;
    assert_eq!(
        position,
        events.len() - 1,
        "events after Closed: {events:?}"
    );
    match &events[position] {
        Event::Closed(reason) => Some(reason),
        _ => None,
    }
}

/// A client and a server connected in memory, through real handshakes,
/// with a simulated clock. Events each side produced are collected.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    /// Bytes in flight client → server and server → client.
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
    /// Whether each side has half-closed its write side.
    pub client_shut: bool,
    pub server_shut: bool,
    /// Deliver bytes in pieces of at most this many bytes.
    pub chunk: usize,
    eof_to_server: bool,
    eof_to_client: bool,
}

impl Pair {
    /// Opens a pair with default settings.
    pub fn new() -> Pair {
        Pair::with(Config::default(), Config::default())
    }

    /// Opens a pair: runs both handshakes over in-memory buffers.
    pub fn with(client_config: Config, server_config: Config) -> Pair {
        let now = Instant::now();
        let request = OutgoingRequest::new("example.com", "/test");
        let mut ch = ClientHandshake::new(request, client_config, [7; 16], now).unwrap();
        let mut sh = ServerHandshake::new(server_config, now);
        let mut wire = Vec::new();
        ch.write_request(&mut wire);
        let request = sh.handle_data(&wire).unwrap().expect("request complete");
        assert_eq!(request.path(), "/test");
        let mut response = Vec::new();
        sh.accept(Accept::new(), &mut response).unwrap();
        ch.handle_data(&response)
            .unwrap()
            .expect("response complete");
        let mut counter = 0u32;
        let keys = move || {
            counter = counter.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            counter.to_be_bytes()
        };
        Pair {
            client: ch.into_connection(keys, now).unwrap(),
            server: sh.into_connection(now).unwrap(),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            client_shut: false,
            server_shut: false,
            chunk: usize::MAX,
            eof_to_server: false,
            eof_to_client: false,
        }
    }

    /// Moves bytes both ways and collects events until nothing changes.
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    /// One round: poll both sides, deliver one chunk each way. Returns
    /// whether anything happened.
    pub fn step(&mut self) -> bool {
        let mut progress = false;
        progress |= collect(&mut self.client, &mut self.client_events);
        progress |= collect(&mut self.server, &mut self.server_events);
        while let Some(t) = self.client.poll_transmit() {
            self.to_server.extend_from_slice(&t.to_vec());
            progress = true;
        }
        while let Some(t) = self.server.poll_transmit() {
            self.to_client.extend_from_slice(&t.to_vec());
            progress = true;
        }
        if !self.client_shut && self.client.poll_shutdown() {
            self.client_shut = true;
            progress = true;
        }
        if !self.server_shut && self.server.poll_shutdown() {
            self.server_shut = true;
            progress = true;
        }
        let now = self.now;
        if !self.to_server.is_empty() {
            let n = self.to_server.len().min(self.chunk);
            let piece: Vec<u8> = self.to_server.drain(..n).collect();
            self.server.handle_data(now, &piece);
            progress = true;
        } else if self.client_shut && !self.eof_to_server {
            self.eof_to_server = true;
            self.server.handle_eof(now);
            progress = true;
        }
        if !self.to_client.is_empty() {
            let n = self.to_client.len().min(self.chunk);
            let piece: Vec<u8> = self.to_client.drain(..n).collect();
            self.client.handle_data(now, &piece);
            progress = true;
        } else if self.server_shut && !self.eof_to_client {
            self.eof_to_client = true;
            self.client.handle_eof(now);
            progress = true;
        }
        progress
    }

    /// Advances the clock by `by`, firing due timers on both sides, then drives.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        for conn in [&mut self.client, &mut self.server] {
            if conn.poll_timeout().is_some_and(|t| t <= now) {
                conn.handle_timeout(now);
            }
        }
        self.drive();
    }

    /// Takes the events each side has collected.
    pub fn take_events(&mut self) -> (Vec<Event>, Vec<Event>) {
        (
            std::mem::take(&mut self.client_events),
            std::mem::take(&mut self.server_events),
        )
    }
}

impl Default for Pair {
    fn default() -> Self {
        Pair::new()
    }
}

fn collect(conn: &mut Connection, into: &mut Vec<Event>) -> bool {
    let mut progress = false;
    while let Some(event) = conn.poll_event() {
        into.push(event);
        progress = true;
    }
    progress
}

/// Shorthand for durations in tests.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
