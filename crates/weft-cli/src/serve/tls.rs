//! `--cert FILE --key FILE`: the TLS acceptor of `weft serve` for wss://.

use std::path::Path;

use tokio_rustls::TlsAcceptor;

/// An acceptor for the PEM certificate chain and key in these files.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let config = weft_tokio::tls::server_config(&read(cert)?, &read(key)?)
        .map_err(|e| format!("--cert {} --key {}: {e}", cert.display(), key.display()))?;
    Ok(TlsAcceptor::from(config))
}
