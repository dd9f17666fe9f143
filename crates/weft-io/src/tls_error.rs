//! [`TlsError`]: why a TLS handshake failed, classified so that a program
//! can tell a certificate problem (fix the configuration) from the others.

use std::fmt;

/// What kind of TLS failure a [`TlsError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The server's certificate does not chain to a trusted root (a
    /// self-signed certificate, a private CA the client was not given).
    UntrustedCertificate,
    /// The certificate is not valid for the host name connected to.
    NameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet (often this machine's clock).
    NotYetValid,
    /// The certificate is invalid in another way (a bad signature, an
    /// unsupported algorithm, revoked, ...).
    InvalidCertificate,
    /// The TLS protocol failed: the server sent an alert, spoke something
    /// other than TLS, or nothing both sides support.
    Protocol,
}

/// A failed TLS handshake with a server: what kind of failure, with which
/// host, and the TLS library's error as the [`source`](std::error::Error::source)
/// (a `rustls::Error`, which can be downcast to).
#[derive(Debug)]
pub struct TlsError {
    kind: TlsErrorKind,
    host: String,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl TlsError {
    /// What kind of failure this is.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// The host whose certificate or handshake failed.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether trying again can succeed: never, on its own; a certificate
    /// or a protocol mismatch fails the same way until someone changes the
    /// configuration on one side.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// Classifies the error a TLS handshake with `host` ended with: a
    /// rustls error (carried inside the `io::Error` the TLS stream gives)
    /// becomes a `TlsError`; any other error (the connection reset or
    /// closed during the handshake, a timeout) is the transport's and is
    /// given back.
    #[cfg(feature = "tls")]
    pub fn from_io(host: &str, error: std::io::Error) -> Result<TlsError, std::io::Error> {
        let is_rustls = error
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
        if !is_rustls {
            return Err(error);
        }
        let inner = error
            .into_inner()
            .expect("checked: the error has an inner error");
        let rustls_error = inner
            .downcast::<rustls::Error>()
            .expect("checked: the inner error is a rustls::Error");
        Ok(TlsError::from_rustls(host, *rustls_error))
    }

    /// Classifies a rustls error from a handshake with `host`.
    #[cfg(feature = "tls")]
    pub fn from_rustls(host: &str, error: rustls::Error) -> TlsError {
        use rustls::CertificateError as C;
        let kind = match &error {
            rustls::Error::InvalidCertificate(e) => match e {
                C::UnknownIssuer => TlsErrorKind::UntrustedCertificate,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsErrorKind::NameMismatch,
                C::Expired | C::ExpiredContext { .. } => TlsErrorKind::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsErrorKind::NotYetValid,
                _ => TlsErrorKind::InvalidCertificate,
            },
            _ => TlsErrorKind::Protocol,
        };
        TlsError {
            kind,
            host: host.to_owned(),
            source: Box::new(error),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (host, source) = (&self.host, &self.source);
        match self.kind {
            TlsErrorKind::UntrustedCertificate => write!(
                f,
                "the TLS certificate of {host} is not signed by a trusted authority: {source} \
                 (for a private CA, give the client its roots: ClientOptions::tls)"
            ),
            TlsErrorKind::NameMismatch => write!(
                f,
                "the TLS certificate presented by {host} is not valid for that name: {source} \
                 (connect with a name the certificate lists)"
            ),
            TlsErrorKind::Expired => write!(
                f,
                "the TLS certificate of {host} has expired: {source} \
                 (renew it, or check this machine's clock)"
            ),
            TlsErrorKind::NotYetValid => write!(
                f,
                "the TLS certificate of {host} is not valid yet: {source} (check this machine's clock)"
            ),
            TlsErrorKind::InvalidCertificate => {
                write!(f, "the TLS certificate of {host} is invalid: {source}")
            }
            TlsErrorKind::Protocol => write!(
                f,
                "the TLS handshake with {host} failed: {source} \
                 (does the port serve TLS? ws:// is plain, wss:// is TLS)"
            ),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn certificate_errors_are_told_apart_and_rustls_error_stays_the_source() {
        use std::error::Error as _;
        let cases = [
            (
                rustls::CertificateError::UnknownIssuer,
                TlsErrorKind::UntrustedCertificate,
            ),
            (
                rustls::CertificateError::NotValidForName,
                TlsErrorKind::NameMismatch,
            ),
            (rustls::CertificateError::Expired, TlsErrorKind::Expired),
            (
                rustls::CertificateError::NotValidYet,
                TlsErrorKind::NotYetValid,
            ),
            (
                rustls::CertificateError::BadSignature,
                TlsErrorKind::InvalidCertificate,
            ),
        ];
        for (cert_error, kind) in cases {
            let io = io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(cert_error.clone()),
            );
            let e = TlsError::from_io("example.com", io).unwrap();
            assert_eq!(e.kind(), kind, "{cert_error:?}");
            assert!(!e.is_retryable());
            let source = e.source().unwrap().downcast_ref::<rustls::Error>().unwrap();
            assert_eq!(source, &rustls::Error::InvalidCertificate(cert_error));
        }
    }

    #[test]
    fn transport_errors_are_given_back() {
        let io = io::Error::from(io::ErrorKind::ConnectionReset);
        let back = TlsError::from_io("example.com", io).unwrap_err();
        assert_eq!(back.kind(), io::ErrorKind::ConnectionReset);
    }
}
