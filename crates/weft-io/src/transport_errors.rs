//! Which transport errors mean the peer's end went away.

use std::io;

/// Whether a read or write error means the connection was cut from the
/// other side (reset, aborted, a broken pipe, an unexpected end): the
/// connection then ends abnormally (close code 1006), which its close
/// reason reports, rather than with an error of its own. Any other error
/// is the transport failing and is returned to the application.
pub fn is_abrupt_close(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_connection_is_abrupt_and_a_failing_one_is_not() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ] {
            assert!(is_abrupt_close(&kind.into()), "{kind:?}");
        }
        for kind in [
            io::ErrorKind::PermissionDenied,
            io::ErrorKind::InvalidData,
            io::ErrorKind::Other,
        ] {
            assert!(!is_abrupt_close(&kind.into()), "{kind:?}");
        }
    }
}
