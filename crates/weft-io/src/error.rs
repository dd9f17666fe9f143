//! The adapters' error type.

use std::fmt;
use std::io;

use weft_proto::{HandshakeError, SendError};

/// What can go wrong in an adapter. A closed connection is not an error:
/// reading ends, and the close reason says why.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed: I/O, TLS, DNS, a connect or handshake timeout.
    Io(io::Error),
    /// The URL is not a `ws://` or `wss://` URL the adapter can use.
    Url(String),
    /// The opening handshake failed; for a refusal this carries the
    /// server's status, headers and the start of its body.
    Handshake(HandshakeError),
    /// The connection refused a command (sending after close, a control
    /// payload over 125 bytes, ...).
    Send(SendError),
    /// `wss://` was asked for but this build has no TLS (feature `tls`).
    TlsUnavailable,
    /// The application rejected the handshake request; the response with
    /// this status was sent.
    Rejected(u16),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transport error: {e}"),
            Error::Url(e) => write!(f, "invalid WebSocket URL {e}"),
            Error::Handshake(e) => write!(f, "{e}"),
            Error::Send(e) => write!(f, "{e}"),
            Error::TlsUnavailable => {
                f.write_str("wss:// needs the `tls` feature, which this build lacks")
            }
            Error::Rejected(status) => write!(f, "handshake rejected with status {status}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Url(_) | Error::TlsUnavailable | Error::Rejected(_) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Error {
        Error::Handshake(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        Error::Send(e)
    }
}
