//! Echo server on fastwebsockets: the HTTP upgrade done here with httparse,
//! sha1 and base64, then `WebSocket::after_handshake(stream, Role::Server)`
//! wrapped in a `FragmentCollector`, echoing whole text and binary
//! messages, one task per connection on a tokio `current_thread` runtime.
//!
//! `cargo run --release -p weft-benches --example echo_fastwebsockets -- --port 9001`
//!
//! fastwebsockets' own server upgrade (feature `upgrade`) runs on hyper;
//! doing the upgrade here keeps hyper out of the comparison and reads the
//! request the way the other servers do, straight off the TCP stream. The
//! request head is checked as RFC 6455 4.2.1 asks (GET, `Upgrade:
//! websocket`, `Connection: Upgrade`, version 13, a 16-byte key); anything
//! else gets a 400 (426 for another version).
//!
//! fastwebsockets' defaults otherwise (64 MiB messages, an 8 KiB read
//! buffer that grows to fit a frame, vectored writes for payloads over
//! 1 KiB), with automatic close and pong on (the defaults, set explicitly
//! since an echo server depends on them). The `FragmentCollector` matters
//! beyond reassembly: it hands out whole messages without the client's
//! masking key, whereas a frame read from a bare `WebSocket` keeps its key
//! and, written back as is, would go out masked.

use base64::Engine;
use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_benches::server;

/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The most request headers accepted.
const MAX_HEADERS: usize = 64;
/// RFC 6455 1.3: appended to the client's key before hashing.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    server::serve_tokio(|tcp| async move {
        let tcp = match upgrade(tcp).await {
            Ok(Some(tcp)) => tcp,
            Ok(None) => return,
            Err(e) => return eprintln!("handshake failed: {e}"),
        };
        let mut ws = WebSocket::after_handshake(tcp, Role::Server);
        ws.set_auto_close(true);
        ws.set_auto_pong(true);
        let mut ws = FragmentCollector::new(ws);
        loop {
            let frame = match ws.read_frame().await {
                Ok(frame) => frame,
                Err(e) => return eprintln!("connection failed: {e}"),
            };
            match frame.opcode {
                // The close was echoed inside read_frame; dropping the
                // stream closes TCP.
                OpCode::Close => return,
                OpCode::Text | OpCode::Binary => {
                    if let Err(e) = ws.write_frame(frame).await {
                        return eprintln!("connection failed: {e}");
                    }
                }
                _ => {}
            }
        }
    })
    .await
}

/// Reads the request head and answers it: `Some(stream)` after a 101,
/// `None` after a refusal (already written).
async fn upgrade(mut tcp: TcpStream) -> std::io::Result<Option<TcpStream>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let response = loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(len)) => {
                // RFC 6455 4.1: the client sends nothing more until it has
                // the server's answer, so nothing may follow the head.
                break if len != head.len() {
                    Err(400)
                } else {
                    answer(&request)
                };
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) | Err(_) => break Err(400),
        }
    };
    match response {
        Ok(accept) => {
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            tcp.write_all(response.as_bytes()).await?;
            Ok(Some(tcp))
        }
        Err(status) => {
            let response = match status {
                426 => {
                    "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\
                        Content-Length: 0\r\nConnection: close\r\n\r\n"
                }
                _ => "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            };
            tcp.write_all(response.as_bytes()).await?;
            Ok(None)
        }
    }
}

/// Checks a complete request head; `Ok` carries `Sec-WebSocket-Accept`,
/// `Err` the status to refuse with.
fn answer(request: &httparse::Request<'_, '_>) -> Result<String, u16> {
    if request.method != Some("GET") || request.version != Some(1) {
        return Err(400);
    }
    let header = |name: &str| -> Vec<&str> {
        request
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap_or(""))
            .collect()
    };
    let has_token = |name: &str, token: &str| {
        header(name)
            .iter()
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("Upgrade", "websocket") || !has_token("Connection", "upgrade") {
        return Err(400);
    }
    if header("Sec-WebSocket-Version").as_slice() != ["13"] {
        return Err(426);
    }
    let key = match header("Sec-WebSocket-Key").as_slice() {
        [key] => key.trim(),
        _ => return Err(400),
    };
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(nonce) if nonce.len() == 16 => {}
        _ => return Err(400),
    }
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WS_GUID);
    Ok(base64::engine::general_purpose::STANDARD.encode(sha1.finalize()))
}
