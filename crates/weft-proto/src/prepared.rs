//! Broadcast: a message framed once and sent on many connections without
//! copying it for each (in the spirit of gorilla/websocket's
//! `PreparedMessage`).

use std::fmt;
use std::sync::Arc;
#[cfg(feature = "deflate")]
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::message::{MessageKind, Utf8Bytes};

/// A text or binary message prepared for sending on many connections,
/// with [`Connection::send_prepared`](crate::Connection::send_prepared).
///
/// The frame a server sends (header and payload, unmasked) is built once,
/// here, and each server connection queues that same memory: no copy and
/// no framing per connection. With permessage-deflate, a connection that
/// compresses each message on its own (no context takeover in the
/// direction it sends, the common server setting) queues a compressed
/// frame built once for all connections with the same level and window
/// (and sends the message uncompressed if compressing does not make it
/// smaller). A connection with context takeover must compress the message
/// itself, since its output depends on what it sent before; a client must
/// mask with a key of its own. Those two copy.
///
/// Cloning is cheap (a reference count): clone it into each connection's
/// task or queue.
///
/// ```
/// use std::time::Instant;
/// use weft_proto::{Config, Connection, PreparedMessage};
///
/// let now = Instant::now();
/// let news = PreparedMessage::text("the price is 42");
/// let mut subscribers: Vec<Connection> =
///     (0..3).map(|_| Connection::server(Config::default(), now)).collect();
/// for conn in &mut subscribers {
///     conn.send_prepared(&news).unwrap();
///     let wire = conn.poll_transmit().unwrap().to_vec();
///     assert_eq!(&wire[2..], b"the price is 42");
/// }
/// ```
#[derive(Clone)]
pub struct PreparedMessage(Arc<Prepared>);

struct Prepared {
    kind: MessageKind,
    payload: Bytes,
    /// The whole frame a server sends uncompressed: header, then payload.
    frame: Bytes,
    /// Frames compressed once per `(level, window bits)`, for connections
    /// that compress each message on their own; `None` where compressing
    /// did not make the message smaller.
    #[cfg(feature = "deflate")]
    compressed: Mutex<Vec<Compressed>>,
}

/// A frame compressed with `(level, window bits)`, or `None` where that did
/// not make the message smaller.
#[cfg(feature = "deflate")]
type Compressed = ((u32, u8), Option<Bytes>);

impl PreparedMessage {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Text, text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Binary, data.into())
    }

    fn new(kind: MessageKind, payload: Bytes) -> PreparedMessage {
        let frame = server_frame(opcode(kind), 0, &payload);
        PreparedMessage(Arc::new(Prepared {
            kind,
            payload,
            frame,
            #[cfg(feature = "deflate")]
            compressed: Mutex::new(Vec::new()),
        }))
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.0.kind
    }

    /// The message's payload.
    pub fn payload(&self) -> &Bytes {
        &self.0.payload
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.0.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.0.payload.is_empty()
    }

    /// The frame a server sends uncompressed.
    pub(crate) fn frame(&self) -> &Bytes {
        &self.0.frame
    }

    /// The frame a connection compressing each message alone with `level`
    /// and `bits` sends: compressed on the first call for those settings,
    /// shared after. `None` if compressing does not make it smaller (it is
    /// then sent uncompressed, which such a connection may do).
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_frame(&self, level: u32, bits: u8) -> Option<Bytes> {
        let key = (level, bits);
        // A panic elsewhere while the lock was held leaves a list that is
        // still consistent: every entry is whole.
        let lock = || self.0.compressed.lock().unwrap_or_else(|e| e.into_inner());
        let cached = |list: &[Compressed]| {
            list.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, frame)| frame.clone())
        };
        if let Some(frame) = cached(&lock()) {
            return frame;
        }
        // Compressed without the lock held: connections on other threads
        // need not wait for it. Two that race compress it twice, and the
        // first kept is the one every connection sends.
        let payload = &self.0.payload;
        let compressed = crate::deflate::compress_alone(level, bits, payload);
        let frame = (compressed.len() < payload.len())
            .then(|| server_frame(opcode(self.0.kind), crate::connection::RSV1, &compressed));
        let mut list = lock();
        if let Some(first) = cached(&list) {
            return first;
        }
        list.push((key, frame.clone()));
        frame
    }
}

fn opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}

/// A final, unmasked frame of `payload`: header and payload in one buffer.
fn server_frame(opcode: OpCode, rsv: u8, payload: &[u8]) -> Bytes {
    let header = FrameHeader {
        fin: true,
        rsv,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    let mut frame = BytesMut::with_capacity(n + payload.len());
    frame.extend_from_slice(&head[..n]);
    frame.extend_from_slice(payload);
    frame.freeze()
}

impl fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.0.kind)
            .field("len", &self.0.payload.len())
            .finish_non_exhaustive()
    }
}

/// Equal when the kind and payload are.
impl PartialEq for PreparedMessage {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.kind == other.0.kind && self.0.payload == other.0.payload)
    }
}

impl Eq for PreparedMessage {}
