//! Servers that handle one connection in one fixed way, for the tests of
//! what a client makes of each failure: an HTTP answer written by hand, a
//! TLS server with a given certificate, a server that never answers, a
//! port nothing listens on.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::TestCert;

/// A server on a free port that reads the request head of its first
/// connection, writes `response` as it is, and closes.
pub fn respond_once(response: impl Into<Vec<u8>>) -> SocketAddr {
    let response = response.into();
    serve_once(move |mut tcp| {
        read_head(&mut tcp);
        let _ = tcp.write_all(&response);
        let _ = tcp.flush();
    })
}

/// A server on a free port that accepts one connection and holds it for
/// `hold` without reading or writing a byte.
pub fn silent_once(hold: Duration) -> SocketAddr {
    serve_once(move |tcp| {
        thread::sleep(hold);
        drop(tcp);
    })
}

/// A TLS server on a free port with `cert` that runs one TLS handshake to
/// its end (or its failure), reads what the client sends first, and closes
/// cleanly (close_notify, then FIN).
pub fn tls_once(cert: &TestCert) -> SocketAddr {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    let config = Arc::new(config);
    serve_once(move |mut tcp| {
        let mut conn = rustls::ServerConnection::new(config).expect("server connection");
        tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
        while conn.is_handshaking() {
            if conn.complete_io(&mut tcp).is_err() {
                return;
            }
        }
        // Take what the client sends next (its HTTP request), so that
        // closing sends a FIN and a close_notify, not a reset.
        let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
        let mut buf = [0u8; 4096];
        let _ = tls.read(&mut buf);
        conn.send_close_notify();
        let _ = conn.complete_io(&mut tcp);
    })
}

/// An address on loopback where nothing listens: a port that was bound
/// and released.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address")
}

/// A server on a free port running `serve` on its first connection, on a
/// thread of its own.
fn serve_once(serve: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        if let Ok((tcp, _)) = listener.accept() {
            serve(tcp);
        }
    });
    addr
}

/// Reads until the end of an HTTP head, the client stops sending, or the
/// first bytes are not HTTP (a TLS ClientHello), answered at once as a
/// plain HTTP server would.
fn read_head(tcp: &mut TcpStream) {
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if !head[0].is_ascii_alphabetic() {
            return;
        }
    }
}

/// A listening port whose accept queue is full, so that a new connection
/// is never answered (its SYNs are dropped) and connecting times out. The
/// port stays that way while the value lives.
pub struct FullBacklog {
    /// The address to connect to.
    pub addr: SocketAddr,
    _listener: socket2::Socket,
    _filler: TcpStream,
}

/// A listener with a backlog of zero, filled by one connection that is
/// never accepted.
pub fn full_backlog() -> FullBacklog {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    listener.bind(&any.into()).expect("bind");
    listener.listen(0).expect("listen");
    let addr = listener
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP address");
    let filler = TcpStream::connect(addr).expect("the one connection the queue holds");
    FullBacklog {
        addr,
        _listener: listener,
        _filler: filler,
    }
}
