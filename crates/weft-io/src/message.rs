//! The messages an adapter reads and sends.

use std::time::Instant;

use bytes::Bytes;
use weft_proto::{
    CloseCode, CloseFrame, Connection, Fragment, PreparedMessage, SendError, Utf8Bytes,
};

/// A message read from or sent on a WebSocket.
///
/// Reading yields text and binary messages, pings and pongs as they arrive
/// (pings are answered automatically), and `Close` when the peer starts the
/// closing handshake. Sending `Close` starts (or answers) the closing
/// handshake; `Close(None)` sends 1000.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping, with up to 125 bytes of payload.
    Ping(Bytes),
    /// A pong, with up to 125 bytes of payload.
    Pong(Bytes),
    /// A close frame.
    Close(Option<CloseFrame>),
    /// A piece of a large message, read only when
    /// [`Config::stream_threshold`](weft_proto::Config::stream_threshold) is set.
    Fragment(Fragment),
    /// A text or binary message prepared once to be sent on many
    /// connections (broadcast): a server sends the frame it holds without
    /// framing or copying it again ([`PreparedMessage`]). Sent only, never
    /// read.
    Prepared(PreparedMessage),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            Message::Text(_) | Message::Binary(_) | Message::Prepared(_)
        )
    }

    /// Hands the message to `conn` as the command it stands for: text and
    /// binary are sent, `Close` starts or answers the closing handshake
    /// (with 1000 for `None`; the close timeout counts from `now`).
    pub fn send_on(self, conn: &mut Connection, now: Instant) -> Result<(), SendError> {
        match self {
            Message::Text(text) => conn.send_text(text),
            Message::Binary(data) => conn.send_binary(data),
            Message::Ping(data) => conn.ping(data),
            Message::Pong(data) => conn.pong(data),
            Message::Close(None) => conn.close(now, CloseCode::NORMAL, ""),
            Message::Close(Some(frame)) => conn.close(now, frame.code, &frame.reason),
            Message::Fragment(f) => conn.send_fragment(f.kind, f.data, f.is_last),
            Message::Prepared(m) => conn.send_prepared(&m),
        }
    }
}

impl From<PreparedMessage> for Message {
    fn from(message: PreparedMessage) -> Message {
        Message::Prepared(message)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::Text(text.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}
