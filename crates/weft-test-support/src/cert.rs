//! Certificates made for a test, so that wss:// runs over loopback with
//! no files and no network.

use rustls::RootCertStore;

/// A self-signed certificate for `localhost`, its key, and the roots that
/// trust it and nothing else.
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
    /// Roots holding only this certificate, for a client configuration
    /// (`tls::client_config_with_roots` in either adapter).
    pub roots: RootCertStore,
}

/// Generates a self-signed certificate for `localhost`.
pub fn test_cert() -> TestCert {
    let key = rcgen::KeyPair::generate().expect("key generation");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let mut roots = RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        roots,
    }
}
