//! The exit codes of `weft`, one per class of failure, so that a script
//! can tell them apart (docs/cli.md lists them).

use std::process::ExitCode;

use weft_io::proxy::ProxyError;
use weft_io::Error;
use weft_tokio::{CloseCode, CloseReason};

/// How `weft` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: done; the connection closed cleanly (1000 or 1001).
    Ok,
    /// 1: anything not below: reading stdin failed, lines of stdin could
    /// not be sent, the port could not be bound, `weft bench` met errors,
    /// the runtime could not start.
    Other,
    /// 2: the command line is wrong (also clap's own code): the URL, a
    /// value, a file it names that cannot be read or used (`--ca`,
    /// `--cert`, `--key`, `--static`).
    Usage,
    /// 3: no TCP connection: the name did not resolve, the connection was
    /// refused or unreachable, or connecting timed out (to the server, or
    /// to the proxy; or a SOCKS5 proxy could not reach the server).
    Connect,
    /// 4: TLS failed (certificate, name, expiry, protocol).
    Tls,
    /// 5: the server refused the upgrade with an HTTP status, or the proxy
    /// refused the tunnel (an HTTP status, SOCKS5 credentials or rules).
    Refused,
    /// 6: the opening handshake failed otherwise (a response that is not a
    /// WebSocket acceptance, the server closing or resetting during it, a
    /// timeout).
    Handshake,
    /// 7: the connection failed with a protocol error.
    Protocol,
    /// 8: the connection ended abnormally: no closing handshake (1006), a
    /// silent peer (keepalive), a transport error.
    Abnormal,
    /// 9: the peer closed cleanly with a code other than 1000 or 1001.
    ClosedWithError,
}

impl Exit {
    /// The class of a failure to open a connection.
    pub(crate) fn of_error(error: &Error) -> Exit {
        match error {
            Error::Url(_) => Exit::Usage,
            Error::Resolve { .. } | Error::Connect { .. } | Error::ConnectTimeout { .. } => {
                Exit::Connect
            }
            Error::Tls(_) | Error::TlsUnavailable => Exit::Tls,
            Error::Refused(_) => Exit::Refused,
            // A transport error before the connection is open (a reset
            // during the handshake) is the handshake failing.
            Error::Handshake(_) | Error::HandshakeTimeout { .. } | Error::Io(_) => Exit::Handshake,
            Error::Proxy { source, .. } => Exit::of_proxy_error(source),
            _ => Exit::Other,
        }
    }

    /// The class of a failure at the proxy: its URL is a usage error,
    /// not reaching it (or the proxy not reaching the server) a connect
    /// error, its refusal a refusal, anything else the handshake failing.
    fn of_proxy_error(error: &ProxyError) -> Exit {
        match error {
            ProxyError::InvalidUrl { .. } => Exit::Usage,
            ProxyError::Resolve(_)
            | ProxyError::Connect { .. }
            | ProxyError::ConnectTimeout { .. }
            | ProxyError::SocksReply { code: 3..=6 } => Exit::Connect,
            ProxyError::Refused { .. }
            | ProxyError::SocksReply { .. }
            | ProxyError::AuthFailed { .. }
            | ProxyError::NoAcceptableMethod { .. } => Exit::Refused,
            _ => Exit::Handshake,
        }
    }

    /// The class of how a connection ended.
    pub(crate) fn of_close(reason: Option<&CloseReason>) -> Exit {
        match reason {
            Some(CloseReason::Clean(frame))
                if frame.code == CloseCode::NORMAL || frame.code == CloseCode::GOING_AWAY =>
            {
                Exit::Ok
            }
            Some(CloseReason::Clean(_)) => Exit::ClosedWithError,
            Some(CloseReason::Protocol(_)) => Exit::Protocol,
            Some(_) | None => Exit::Abnormal,
        }
    }

    /// The class's name, as `--jsonl` reports it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Other => "other",
            Exit::Usage => "usage",
            Exit::Connect => "connect",
            Exit::Tls => "tls",
            Exit::Refused => "refused",
            Exit::Handshake => "handshake",
            Exit::Protocol => "protocol",
            Exit::Abnormal => "abnormal",
            Exit::ClosedWithError => "closed-with-error",
        }
    }

    /// The process's exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Other => 1,
            Exit::Usage => 2,
            Exit::Connect => 3,
            Exit::Tls => 4,
            Exit::Refused => 5,
            Exit::Handshake => 6,
            Exit::Protocol => 7,
            Exit::Abnormal => 8,
            Exit::ClosedWithError => 9,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_failures_take_the_class_of_the_step_that_failed() {
        let class = |e: ProxyError| Exit::of_error(&Error::from(e));
        let invalid = ProxyError::InvalidUrl {
            variable: None,
            problem: "https".into(),
        };
        assert_eq!(class(invalid), Exit::Usage);
        let refused = ProxyError::Connect {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        assert_eq!(class(refused), Exit::Connect);
        assert_eq!(class(ProxyError::SocksReply { code: 5 }), Exit::Connect);
        assert_eq!(class(ProxyError::SocksReply { code: 2 }), Exit::Refused);
        assert_eq!(class(ProxyError::AuthFailed { status: 1 }), Exit::Refused);
        let status = ProxyError::Refused {
            status: 407,
            reason: String::new(),
            headers: vec![],
            sent_credentials: false,
        };
        assert_eq!(class(status), Exit::Refused);
        assert_eq!(
            class(ProxyError::TimedOut { timeout: None }),
            Exit::Handshake
        );
        assert_eq!(class(ProxyError::Closed), Exit::Handshake);
    }
}
