//! End-to-end tests across Weft's crates (in `tests/tests/`), and what they
//! share: a small blocking driver (weft-proto over a `TcpStream`, with the
//! read timeout set from `poll_timeout`), raw peers that misbehave on
//! purpose, and test certificates.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use weft_proto::bytes::Buf;
use weft_proto::{Connection, Event};

/// Writes everything the connection has queued, then half-closes if asked.
pub fn flush(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    while let Some(mut transmit) = conn.poll_transmit() {
        while transmit.has_remaining() {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = transmit.chunks_vectored(&mut slices);
            let written = stream.write_vectored(&slices[..n])?;
            transmit.advance(written);
        }
    }
    if conn.poll_shutdown() {
        let _ = stream.shutdown(Shutdown::Write);
    }
    Ok(())
}

/// Runs the connection until its terminal event, handing every event to
/// `on_event` (which may send) and flushing after each one, so that every
/// ping gets its own pong.
pub fn run(
    conn: &mut Connection,
    stream: &mut TcpStream,
    mut on_event: impl FnMut(&mut Connection, &Event),
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(event) = conn.poll_event() {
            on_event(conn, &event);
            flush(conn, stream)?;
            if matches!(event, Event::Closed(_)) {
                return Ok(());
            }
        }
        flush(conn, stream)?;
        let now = Instant::now();
        let timeout = conn
            .poll_timeout()
            .map(|t| t.saturating_duration_since(now));
        if timeout.is_some_and(|t| t.is_zero()) {
            conn.handle_timeout(now);
            continue;
        }
        stream.set_read_timeout(timeout)?;
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_data(Instant::now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                conn.handle_timeout(Instant::now())
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => conn.handle_eof(Instant::now()),
            Err(e) => return Err(e),
        }
    }
}

/// A certificate for `localhost` made for a test, and the TLS configurations
/// to serve it and to trust it.
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
    /// A client configuration trusting only this certificate.
    pub client: std::sync::Arc<rustls::ClientConfig>,
}

/// Generates a self-signed certificate for `localhost`.
pub fn test_cert() -> TestCert {
    let key = rcgen::KeyPair::generate().expect("key generation");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        client: weft_std::tls::client_config_with_roots(roots),
    }
}

/// A raw client: does the opening handshake by hand over a `TcpStream` and
/// returns the stream and a connection for it, so a test can then misbehave
/// (go silent, vanish mid-frame) as no real client would.
pub fn raw_client(addr: std::net::SocketAddr) -> (TcpStream, Connection) {
    use weft_proto::handshake::{ClientHandshake, OutgoingRequest};
    let mut stream = TcpStream::connect(addr).expect("connect");
    let request = OutgoingRequest::new(addr.to_string(), "/");
    let config = weft_proto::Config::default();
    let mut handshake =
        ClientHandshake::new(request, config, [9; 16], Instant::now()).expect("request");
    let mut out = Vec::new();
    handshake.write_request(&mut out);
    stream.write_all(&out).expect("write request");
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).expect("read response");
        assert!(n > 0, "server closed during the handshake");
        if handshake
            .handle_data(&buf[..n])
            .expect("valid response")
            .is_some()
        {
            break;
        }
    }
    let conn = handshake
        .into_connection(|| [1, 2, 3, 4], Instant::now())
        .expect("connection");
    (stream, conn)
}

/// A weft-tokio echo server with `config` on its own runtime thread, one
/// task per connection; returns its address.
pub fn tokio_echo_server(config: weft_proto::Config) -> std::net::SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let config = config.clone();
                tokio::spawn(async move {
                    let accept = |_: &_| Ok(weft_proto::handshake::Accept::new());
                    let Ok(mut ws) = weft_tokio::accept_with(tcp, config, accept).await else {
                        return;
                    };
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_data() && ws.send(message).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    });
    addr
}

/// A weft-std echo server with `config`, one thread per connection;
/// returns its address.
pub fn std_echo_server(config: weft_proto::Config) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let accept = |_: &_| Ok(weft_proto::handshake::Accept::new());
                let Ok(mut ws) = weft_std::accept_with(tcp, config, accept) else {
                    return;
                };
                while let Ok(Some(message)) = ws.read() {
                    if message.is_data() && ws.send(message).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// The configuration of the servers that hostile peers are pointed at:
/// short handshake timeout, small head and a 1 MiB message limit.
pub fn hostile_config() -> weft_proto::Config {
    weft_proto::Config::default()
        .handshake_timeout(Some(std::time::Duration::from_millis(500)))
        .max_handshake_size(4096)
        .max_message_size(1 << 20)
}
