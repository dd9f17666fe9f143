//! rustls configuration: `wss://` clients and servers.
//!
//! The crypto provider is always chosen explicitly (ring), so no
//! application ever meets rustls's "no process-level CryptoProvider" panic,
//! whatever else it links. Clients trust the Mozilla CA set from
//! `webpki-roots`: the same roots on every platform, with no system files
//! to find; pass your own `ClientConfig` for a private CA.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::Error;

/// The crypto provider Weft uses: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The default client configuration: webpki-roots CAs, ring, TLS 1.2 and
/// 1.3, ALPN `http/1.1`. Built once and shared.
pub fn client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            client_config_with_roots(roots)
        })
        .clone()
}

/// A client configuration trusting only `roots` (for a private CA, or a
/// test certificate).
pub fn client_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A server configuration from a PEM certificate chain and a PEM private
/// key (PKCS#8, PKCS#1 or SEC1), with ALPN `http/1.1`.
///
/// ```no_run
/// let cert = std::fs::read("cert.pem").unwrap();
/// let key = std::fs::read("key.pem").unwrap();
/// let config = weft_io::tls::server_config(&cert, &key).unwrap();
/// # let _ = config;
/// ```
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>, Error> {
    let certs = CertificateDer::pem_slice_iter(cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(tls_error("no certificate in the PEM chain".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| tls_error(format!("private key: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_error(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS server name to verify for `host`.
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| Error::Url(format!("{host:?} is not a valid TLS server name")))
}

fn tls_error(message: String) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        message,
    ))
}
