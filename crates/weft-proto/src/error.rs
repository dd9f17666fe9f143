//! Protocol errors (a peer broke RFC 6455) and send errors (local misuse).
//!
//! Handshake errors live in [`crate::handshake`]. The mapping from each
//! protocol violation to its close code sits in one place:
//! [`ProtocolError::close_code`].

use std::fmt;

use crate::close::CloseCode;

/// A violation of RFC 6455 by the peer. The connection is failed: a close
/// frame with [`close_code`](Self::close_code) is queued for sending and the
/// terminal [`Event::Closed`](crate::Event::Closed) carries this error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode reserved for future use (3–7, 11–15). RFC 6455 5.2.
    ReservedOpcode(u8),
    /// RSV bits set without an extension that defines them. RFC 6455 5.2.
    ReservedBits(u8),
    /// A payload length not encoded in the minimal number of bytes. RFC 6455 5.2.
    NonMinimalLength,
    /// A 64-bit payload length with its most significant bit set. RFC 6455 5.2.
    LengthOverflow,
    /// A server received an unmasked frame. RFC 6455 5.1.
    UnmaskedFrame,
    /// A client received a masked frame. RFC 6455 5.1.
    MaskedFrame,
    /// A control frame with a payload over 125 bytes. RFC 6455 5.5.
    ControlFrameTooLong(u64),
    /// A control frame without the FIN bit. RFC 6455 5.5.
    FragmentedControlFrame,
    /// A continuation frame with no message in progress. RFC 6455 5.4.
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress. RFC 6455 5.4.
    ExpectedContinuation,
    /// A text message, or a close reason, that is not valid UTF-8. RFC 6455 8.1.
    InvalidUtf8,
    /// A close frame with a one-byte payload. RFC 6455 5.5.1.
    TruncatedCloseCode,
    /// A close frame with a code that may not be sent. RFC 6455 7.4.
    InvalidCloseCode(u16),
    /// A close frame whose reason is not valid UTF-8. RFC 6455 5.5.1.
    InvalidCloseReason,
    /// A frame whose payload exceeds the configured frame size limit.
    FrameTooLarge {
        /// The length the frame header announced.
        len: u64,
        /// The configured limit.
        max: usize,
    },
    /// A compressed message (RSV1, RFC 7692) that is not valid deflate data.
    InvalidCompressedData,
    /// A message whose payload exceeds the configured message size limit.
    MessageTooLarge {
        /// The size the message would reach with the frame just announced.
        len: u64,
        /// The configured limit.
        max: usize,
    },
}

impl ProtocolError {
    /// The close code sent to the peer for this violation (RFC 6455 7.4.1).
    pub fn close_code(&self) -> CloseCode {
        use ProtocolError::*;
        match self {
            InvalidUtf8 | InvalidCloseReason | InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            FrameTooLarge { .. } | MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            ReservedOpcode(_)
            | ReservedBits(_)
            | NonMinimalLength
            | LengthOverflow
            | UnmaskedFrame
            | MaskedFrame
            | ControlFrameTooLong(_)
            | FragmentedControlFrame
            | UnexpectedContinuation
            | ExpectedContinuation
            | TruncatedCloseCode
            | InvalidCloseCode(_) => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolError::*;
        match self {
            ReservedOpcode(op) => write!(f, "frame with reserved opcode {op:#x}"),
            ReservedBits(bits) => write!(
                f,
                "frame with reserved bits {bits:#05b} set but no extension negotiated"
            ),
            NonMinimalLength => f.write_str("payload length not minimally encoded"),
            LengthOverflow => f.write_str("64-bit payload length with its top bit set"),
            UnmaskedFrame => f.write_str("client sent an unmasked frame"),
            MaskedFrame => f.write_str("server sent a masked frame"),
            ControlFrameTooLong(len) => {
                write!(f, "control frame of {len} bytes (the limit is 125)")
            }
            FragmentedControlFrame => f.write_str("fragmented control frame"),
            UnexpectedContinuation => f.write_str("continuation frame with no message to continue"),
            ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            TruncatedCloseCode => f.write_str("close frame with a one-byte payload"),
            InvalidCloseCode(code) => write!(f, "close frame with invalid code {code}"),
            InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            InvalidCompressedData => f.write_str("compressed message does not inflate"),
            FrameTooLarge { len, max } => {
                write!(
                    f,
                    "frame of {len} bytes exceeds the frame size limit of {max}"
                )
            }
            MessageTooLarge { len, max } => write!(
                f,
                "message of at least {len} bytes exceeds the message size limit of {max}"
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A command the application gave that cannot be carried out. Nothing was
/// queued and the connection is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent (or the connection failed): no frame may follow it.
    Closed,
    /// A ping, pong or close payload over 125 bytes.
    ControlPayloadTooLong(usize),
    /// A close reason over 123 bytes.
    CloseReasonTooLong(usize),
    /// A close code that may not be sent (1004–1006, 1015, outside 1000–4999, …).
    InvalidCloseCode(u16),
    /// Text fragments that are not valid UTF-8.
    InvalidUtf8,
    /// A whole message, or a fragment of another kind, while a fragmented
    /// message is being sent: finish it first.
    FragmentInProgress,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SendError::*;
        match self {
            Closed => f.write_str("cannot send: a close frame was already sent"),
            ControlPayloadTooLong(len) => write!(
                f,
                "control frame payload of {len} bytes exceeds the limit of 125"
            ),
            CloseReasonTooLong(len) => {
                write!(f, "close reason of {len} bytes exceeds the limit of 123")
            }
            InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            InvalidUtf8 => f.write_str("text fragments are not valid UTF-8"),
            FragmentInProgress => f.write_str(
                "a fragmented message is being sent: send its last fragment before anything else",
            ),
        }
    }
}

impl std::error::Error for SendError {}
