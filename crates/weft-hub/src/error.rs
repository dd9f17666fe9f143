//! What can go wrong between a hub and its backplane.

use std::fmt;

/// A backplane operation that failed.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The backplane could not be reached or did not answer in time. The
    /// operation may be tried again; a publish that failed this way may
    /// still have been stored (its answer was lost), so a retry can
    /// deliver it twice.
    Unavailable,
    /// The backplane answered something unexpected (another program uses
    /// the same keys, or a Redis older than 7.0).
    Unexpected,
    /// The URL or settings were refused.
    Config,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(feature = "redis")]
impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Error {
        let kind = if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            ErrorKind::Unavailable
        } else {
            ErrorKind::Unexpected
        };
        Error::new(kind, format!("redis: {e}"))
    }
}
