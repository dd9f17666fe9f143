//! Raw peers: a client's opening handshake without I/O, the blocking raw
//! client built on it, and the bytes a sans-IO connection queues.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use weft_proto::bytes::Buf;
use weft_proto::handshake::{ClientHandshake, OutgoingRequest};
use weft_proto::{Config, Connection, MaskKeys};

/// A client's opening handshake, without I/O: the request to write, then
/// the server's bytes until its 101 is complete. Blocking and async raw
/// clients differ only in how they move those bytes.
pub struct RawHandshake {
    handshake: ClientHandshake,
}

impl RawHandshake {
    /// A handshake for `target` on `host` with `config`, keyed with
    /// `nonce`, and the request to write.
    pub fn start(
        host: impl Into<String>,
        target: impl Into<String>,
        config: Config,
        nonce: [u8; 16],
    ) -> (RawHandshake, Vec<u8>) {
        let request = OutgoingRequest::new(host, target);
        let handshake =
            ClientHandshake::new(request, config, nonce, Instant::now()).expect("request");
        let mut out = Vec::new();
        handshake.write_request(&mut out);
        (RawHandshake { handshake }, out)
    }

    /// Feeds bytes of the server's response; true once the 101 is
    /// complete. A refusal panics: raw peers start from an open connection.
    pub fn handle_response(&mut self, bytes: &[u8]) -> bool {
        self.handshake
            .handle_data(bytes)
            .expect("valid response")
            .is_some()
    }

    /// The connection, masking with `keys`; bytes that came after the 101
    /// are its first input.
    pub fn into_connection(self, keys: impl MaskKeys + 'static) -> Connection {
        self.handshake
            .into_connection(keys, Instant::now())
            .expect("connection")
    }
}

/// A raw client over a blocking `TcpStream`: does the opening handshake
/// for `/` and returns the stream and a connection for it.
pub fn raw_client(addr: SocketAddr) -> (TcpStream, Connection) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let (mut handshake, request) =
        RawHandshake::start(addr.to_string(), "/", Config::default(), [9; 16]);
    stream.write_all(&request).expect("write request");
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).expect("read response");
        assert!(n > 0, "server closed during the handshake");
        if handshake.handle_response(&buf[..n]) {
            break;
        }
    }
    (stream, handshake.into_connection(|| [1, 2, 3, 4]))
}

/// Everything `conn` has queued for sending, as bytes.
pub fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(mut transmit) = conn.poll_transmit() {
        while transmit.has_remaining() {
            let chunk = transmit.chunk();
            out.extend_from_slice(chunk);
            let n = chunk.len();
            transmit.advance(n);
        }
    }
    out
}

/// The frames a sans-IO client would send for `build`, as bytes.
pub fn client_bytes(build: impl FnOnce(&mut Connection)) -> Vec<u8> {
    let mut conn = Connection::client(Config::default(), || [1, 2, 3, 4], Instant::now());
    build(&mut conn);
    drain(&mut conn)
}
