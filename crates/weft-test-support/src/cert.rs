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

/// Generates a self-signed certificate for `localhost`. Each has a
/// distinguished name of its own, so that one is never mistaken for the
/// issuer of another: a client trusting one and shown another reports an
/// unknown issuer, as with a certificate from another CA.
pub fn test_cert() -> TestCert {
    let key = rcgen::KeyPair::generate().expect("key generation");
    let params = unique_params();
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let mut roots = RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        roots,
    }
}

/// A certificate for `localhost` that expired long ago (valid during
/// 2001), with its key and the roots that trust it.
pub fn expired_cert() -> TestCert {
    let key = rcgen::KeyPair::generate().expect("key generation");
    let mut params = unique_params();
    params.not_before = rcgen::date_time_ymd(2001, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 12, 31);
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let mut roots = RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        roots,
    }
}

/// Parameters for a certificate for `localhost` whose subject is unique in
/// this process.
fn unique_params() -> rcgen::CertificateParams {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("weft test certificate {} {n}", std::process::id()),
    );
    params
}
