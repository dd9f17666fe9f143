//! What a reconnecting client reports.

use std::time::Duration;

use weft_proto::handshake::Acceptance;
use weft_proto::CloseReason;

use super::{Disconnect, MessageId};
use crate::Message;

/// What a reconnecting client reports beside the messages it reads.
///
/// A client's life is a series of `Connecting`, then `Connected` (and
/// messages) or a failure, then `Disconnected` with the delay before the
/// next `Connecting`; it ends with exactly one of [`GaveUp`](Self::GaveUp)
/// or [`Closed`](Self::Closed), after which nothing more is reported.
///
/// ```
/// use weft_io::reconnect::ClientEvent;
///
/// fn log(event: &ClientEvent) -> String {
///     match event {
///         ClientEvent::Connecting { attempt } => format!("connecting (attempt {attempt})"),
///         ClientEvent::Disconnected { cause, retry_in } => {
///             format!("{cause}; retrying in {retry_in:?}")
///         }
///         ClientEvent::GaveUp { cause } => format!("giving up: {cause}"),
///         other => format!("{other:?}"),
///     }
/// }
/// assert_eq!(log(&ClientEvent::Connecting { attempt: 2 }), "connecting (attempt 2)");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// An attempt to connect begins: its number in the current streak of
    /// failures, from 1.
    Connecting {
        /// The attempt's number in the streak.
        attempt: u32,
    },
    /// The attempt succeeded: the connection is open.
    Connected {
        /// The attempt's number in the streak.
        attempt: u32,
        /// The server's 101 response: headers, subprotocol, extensions.
        response: Acceptance,
    },
    /// A message read from the connection.
    Message(Message),
    /// A queued message was written to a connection (for an
    /// [`AtLeastOnce`](super::Delivery::AtLeastOnce) message, it is held
    /// until acknowledged all the same).
    Written(MessageId),
    /// A queued message was dropped without being written (again): pushed
    /// out by the [`Overflow`](super::Overflow) policy, or still held when
    /// the client gave up or closed.
    Dropped(MessageId),
    /// The connection was lost, or an attempt failed, and the client will
    /// try again after `retry_in`.
    Disconnected {
        /// Why.
        cause: Disconnect,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// The client stopped trying: `cause` is not retryable (by the retry
    /// decision), or the policy's limits are reached. Final: nothing more
    /// follows.
    GaveUp {
        /// The last loss or failure.
        cause: Disconnect,
    },
    /// The application's own close completed: the reason the connection
    /// ended, or `None` if it closed while disconnected. Final: nothing
    /// more follows.
    Closed(Option<CloseReason>),
}

impl ClientEvent {
    /// Whether this is the last event: [`GaveUp`](Self::GaveUp) or
    /// [`Closed`](Self::Closed).
    pub fn is_final(&self) -> bool {
        matches!(self, ClientEvent::GaveUp { .. } | ClientEvent::Closed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gave_up_and_closed_are_final() {
        let gave_up = ClientEvent::GaveUp {
            cause: Disconnect::Closed(CloseReason::Abnormal),
        };
        assert!(gave_up.is_final());
        assert!(ClientEvent::Closed(None).is_final());
        assert!(!ClientEvent::Connecting { attempt: 1 }.is_final());
        assert!(!ClientEvent::Message(Message::text("hi")).is_final());
        let lost = ClientEvent::Disconnected {
            cause: Disconnect::Closed(CloseReason::Abnormal),
            retry_in: Duration::from_secs(1),
        };
        assert!(!lost.is_final());
    }
}
