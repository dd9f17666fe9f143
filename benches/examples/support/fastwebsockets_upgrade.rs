//! The HTTP upgrade for the fastwebsockets servers (echo and broadcast),
//! done with httparse, sha1 and base64 rather than fastwebsockets' own
//! upgrade, which runs on hyper: the request is read straight off the TCP
//! stream, the way the other servers read it. The request head is checked
//! as RFC 6455 4.2.1 asks (GET, `Upgrade: websocket`, `Connection:
//! Upgrade`, version 13, a 16-byte key); anything else gets a 400 (426 for
//! another version).

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The most request headers accepted.
const MAX_HEADERS: usize = 64;
/// RFC 6455 1.3: appended to the client's key before hashing.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Reads the request head and answers it: `Some(stream)` after a 101,
/// `None` after a refusal (already written).
pub async fn upgrade(mut tcp: TcpStream) -> std::io::Result<Option<TcpStream>> {
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
