//! [`Incoming`]: what an event of the core is to an adapter's reader.

use std::io;

use weft_proto::{CloseReason, Event};

use crate::{Error, Message};

/// An event of the core as an adapter's reader hands it on: a message for
/// the application, or the end of the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A message, a ping or pong, the peer's close frame or a fragment.
    Message(Message),
    /// The connection has ended ([`Event::Closed`]); nothing follows.
    Closed(CloseReason),
}

impl Incoming {
    /// Sorts an event. Every event this version of `weft-proto` has is a
    /// message or the end; an event added by a later version is an error,
    /// never dropped in silence (it could carry data).
    pub fn from_event(event: Event) -> Result<Incoming, Error> {
        Ok(Incoming::Message(match event {
            Event::Text(text) => Message::Text(text),
            Event::Binary(data) => Message::Binary(data),
            Event::Ping(data) => Message::Ping(data),
            Event::Pong(data) => Message::Pong(data),
            Event::CloseReceived(frame) => Message::Close(Some(frame)),
            Event::Fragment(fragment) => Message::Fragment(fragment),
            Event::Closed(reason) => return Ok(Incoming::Closed(reason)),
            other => {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("an event this version of weft-io does not know: {other:?}"),
                )))
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use weft_proto::{CloseCode, CloseFrame, Fragment, MessageKind};

    use super::*;

    #[test]
    fn every_event_is_a_message_or_the_end() {
        let frame = CloseFrame::new(CloseCode::NORMAL, "bye");
        let fragment = Fragment {
            kind: MessageKind::Binary,
            data: Bytes::from_static(b"x"),
            is_first: true,
            is_last: false,
        };
        let cases = [
            (
                Event::Text("hi".into()),
                Incoming::Message(Message::text("hi")),
            ),
            (
                Event::Binary(Bytes::from_static(b"b")),
                Incoming::Message(Message::binary(Bytes::from_static(b"b"))),
            ),
            (
                Event::Ping(Bytes::from_static(b"p")),
                Incoming::Message(Message::Ping(Bytes::from_static(b"p"))),
            ),
            (
                Event::Pong(Bytes::from_static(b"q")),
                Incoming::Message(Message::Pong(Bytes::from_static(b"q"))),
            ),
            (
                Event::CloseReceived(frame.clone()),
                Incoming::Message(Message::Close(Some(frame))),
            ),
            (
                Event::Fragment(fragment.clone()),
                Incoming::Message(Message::Fragment(fragment)),
            ),
            (
                Event::Closed(CloseReason::Abnormal),
                Incoming::Closed(CloseReason::Abnormal),
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(Incoming::from_event(event).unwrap(), expected);
        }
    }
}
