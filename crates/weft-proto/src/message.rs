//! What the connection hands to the application: messages, fragments and
//! the [`Event`] enum.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

use crate::close::{CloseFrame, CloseReason};
use crate::utf8::InvalidUtf8;

/// Bytes known to be valid UTF-8: the payload of a text message.
///
/// Dereferences to `str` without checking again, and converts into
/// [`Bytes`] without copying.
///
/// ```
/// use weft_proto::Utf8Bytes;
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(&*text, "héllo");
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(ByteString);

impl Utf8Bytes {
    /// Text from a static string, without copying.
    pub const fn from_static(text: &'static str) -> Self {
        Utf8Bytes(ByteString::from_static(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Text already validated (by the receive path's `TextBuf`).
    pub(crate) fn from_validated(text: ByteString) -> Self {
        Utf8Bytes(text)
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Converts into the underlying bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(ByteString::from(s))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(ByteString::from(s))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = InvalidUtf8;
    /// Validated once: with the `simd` feature by weft-simd's SIMD check,
    /// without it by std's (through `ByteString`).
    #[inline]
    fn try_from(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        #[cfg(feature = "simd")]
        let text = weft_simd::utf8_text(bytes);
        #[cfg(not(feature = "simd"))]
        let text = ByteString::try_from(bytes);
        text.map(Utf8Bytes).map_err(|_| InvalidUtf8)
    }
}

impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = InvalidUtf8;
    fn try_from(bytes: Vec<u8>) -> Result<Self, InvalidUtf8> {
        Utf8Bytes::try_from(Bytes::from(bytes))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Bytes {
        text.into_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Binary data (opcode 0x2).
    Binary,
}

/// A piece of a message too large to buffer whole, delivered as it arrives
/// (see [`Config::stream_threshold`](crate::Config::stream_threshold)).
///
/// Text pieces have been validated as far as they go, but a code point may
/// straddle two pieces; the concatenation of a message's pieces is valid UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// The message's kind.
    pub kind: MessageKind,
    /// The bytes of this piece (possibly empty on the last one).
    pub data: Bytes,
    /// This piece starts a new message.
    pub is_first: bool,
    /// This piece ends the message.
    pub is_last: bool,
}

/// Something that happened on a connection, returned by
/// [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text message.
    ///
    /// Like [`Event::Binary`], it shares the allocation it was received
    /// into, without a copy: an application that keeps many small messages
    /// for long should copy them, so the larger receive buffers can be freed.
    Text(Utf8Bytes),
    /// A whole binary message, sharing the allocation it was received into.
    Binary(Bytes),
    /// A piece of a large message (only with a stream threshold configured).
    Fragment(Fragment),
    /// A ping arrived. A pong is already queued, unless auto-pong is off or
    /// our close frame was sent (nothing may follow it).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer started the closing handshake. Unless auto-close is off, the
    /// echo is already queued.
    CloseReceived(CloseFrame),
    /// The connection has ended; nothing follows this event. Write out what
    /// is still queued for sending, then close the transport.
    Closed(CloseReason),
}

/// An event lent by the connection, returned by
/// [`Connection::poll_event_ref`](crate::Connection::poll_event_ref): the
/// same events as [`Event`], with payloads borrowed instead of owned.
///
/// A whole message received in one frame is lent straight from the receive
/// buffer, with no reference count to take or drop; any other event is
/// lent from the connection, which holds it until the next call. Either
/// way the borrow ends before the connection can be used again: an
/// application that needs a payload for longer copies it, or calls
/// [`to_event`](Self::to_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRef<'a> {
    /// A whole text message, validated as UTF-8.
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A piece of a large message (only with a stream threshold configured).
    Fragment(&'a Fragment),
    /// A ping arrived; see [`Event::Ping`].
    Ping(&'a [u8]),
    /// A pong arrived.
    Pong(&'a [u8]),
    /// The peer started the closing handshake; see [`Event::CloseReceived`].
    CloseReceived(&'a CloseFrame),
    /// The connection has ended; see [`Event::Closed`].
    Closed(&'a CloseReason),
}

impl EventRef<'_> {
    /// The owned event, copying the payload where it was lent from the
    /// receive buffer.
    pub fn to_event(&self) -> Event {
        match *self {
            EventRef::Text(text) => Event::Text(Utf8Bytes::from(text)),
            EventRef::Binary(data) => Event::Binary(Bytes::copy_from_slice(data)),
            EventRef::Fragment(fragment) => Event::Fragment(fragment.clone()),
            EventRef::Ping(data) => Event::Ping(Bytes::copy_from_slice(data)),
            EventRef::Pong(data) => Event::Pong(Bytes::copy_from_slice(data)),
            EventRef::CloseReceived(frame) => Event::CloseReceived(frame.clone()),
            EventRef::Closed(reason) => Event::Closed(reason.clone()),
        }
    }
}

impl Event {
    /// The event with its payload borrowed.
    pub fn as_event_ref(&self) -> EventRef<'_> {
        match self {
            Event::Text(text) => EventRef::Text(text),
            Event::Binary(data) => EventRef::Binary(data),
            Event::Fragment(fragment) => EventRef::Fragment(fragment),
            Event::Ping(data) => EventRef::Ping(data),
            Event::Pong(data) => EventRef::Pong(data),
            Event::CloseReceived(frame) => EventRef::CloseReceived(frame),
            Event::Closed(reason) => EventRef::Closed(reason),
        }
    }
}
