//! The client loops, one per kind of connection: raw TCP (write the
//! payload, read as many bytes back), [`weft_proto::Connection`] driven by
//! hand over a tokio `TcpStream` ([`Driver::Proto`]), and the `weft-tokio`
//! client ([`Driver::Adapter`]); and the [`Payload`] each connection sends
//! and checks its echoes against.

use std::io::{self, IoSlice};
use std::time::Instant;

use bytes::{Buf, Bytes};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_proto::handshake::{ClientHandshake, OutgoingRequest};
use weft_proto::{CloseCode, Config, Connection, Event, Utf8Bytes};
use weft_tokio::{ClientOptions, Message, OsRandom, WsUrl};

use super::args::{Driver, Target};

/// The read buffer of a connection under load. Idle connections have none.
const READ_BUF: usize = 64 * 1024;

/// The message a connection sends again and again: a pattern of its own.
pub(super) struct Payload {
    bytes: Bytes,
    /// The same bytes as text, when sending text.
    text: Option<Utf8Bytes>,
}

impl Payload {
    pub(super) fn new(index: usize, size: usize, text: bool) -> Payload {
        if text {
            let s: String = (0..size)
                .map(|i| char::from(b'a' + ((index * 7 + i) % 26) as u8))
                .collect();
            let text = Utf8Bytes::from(s);
            Payload {
                bytes: text.as_bytes().clone(),
                text: Some(text),
            }
        } else {
            // A simple generator, seeded by the connection's index.
            let mut x = (index as u32).wrapping_mul(0x9e37_79b9) | 1;
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            Payload {
                bytes: bytes.into(),
                text: None,
            }
        }
    }

    /// Checks an echo: always its length, its content when `content`.
    pub(super) fn check(&self, echo: &[u8], content: bool) -> Result<(), String> {
        if echo.len() != self.bytes.len() {
            return Err(format!(
                "echo of {} bytes for a message of {}",
                echo.len(),
                self.bytes.len()
            ));
        }
        if content && echo != &self.bytes[..] {
            let at = echo
                .iter()
                .zip(self.bytes.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(format!("echo differs from the message sent at byte {at}"));
        }
        Ok(())
    }
}

/// One connection of whichever kind.
pub(super) enum Client {
    Raw(RawClient),
    Proto(Box<ProtoClient>),
    Adapter(Box<weft_tokio::WebSocketStream<weft_tokio::MaybeTlsStream<TcpStream>>>),
}

/// The client's protocol settings: the core's defaults (64 MiB messages,
/// no compression offered).
fn client_config() -> Config {
    Config::default()
}

impl Client {
    pub(super) async fn open(target: &Target, driver: Driver) -> Result<Client, String> {
        match (target, driver) {
            (Target::Raw(addr), _) => {
                let tcp = TcpStream::connect(addr.as_str())
                    .await
                    .map_err(|e| format!("connecting to {addr}: {e}"))?;
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                Ok(Client::Raw(RawClient {
                    tcp,
                    buf: Vec::new(),
                }))
            }
            (Target::Ws(url), Driver::Proto) => {
                Ok(Client::Proto(Box::new(ProtoClient::open(url).await?)))
            }
            (Target::Ws(url), Driver::Adapter) => {
                // Directly, as the raw drivers connect: a load test
                // through a proxy from the environment would measure it.
                let options = ClientOptions::new().config(client_config()).no_proxy();
                let (ws, _response) = weft_tokio::connect_with(&target.to_string(), options)
                    .await
                    .map_err(|e| format!("connecting to {}: {e}", url.authority()))?;
                Ok(Client::Adapter(Box::new(ws)))
            }
        }
    }

    /// Sends the payload once and waits for its echo.
    pub(super) async fn round_trip(
        &mut self,
        payload: &Payload,
        content: bool,
    ) -> Result<(), String> {
        match self {
            Client::Raw(raw) => raw.round_trip(payload, content).await,
            Client::Proto(ws) => ws.round_trip(payload, content).await,
            Client::Adapter(ws) => {
                let message = match &payload.text {
                    Some(text) => Message::Text(text.clone()),
                    None => Message::Binary(payload.bytes.clone()),
                };
                ws.send(message).await.map_err(|e| e.to_string())?;
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Binary(echo))) if payload.text.is_none() => {
                            return payload.check(&echo, content)
                        }
                        Some(Ok(Message::Text(echo))) if payload.text.is_some() => {
                            return payload.check(echo.as_bytes(), content)
                        }
                        Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                            return Err("the echo is not of the kind sent".into())
                        }
                        Some(Ok(Message::Close(frame))) => {
                            return Err(format!("the server closed: {frame:?}"))
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(e.to_string()),
                        None => {
                            return Err(match ws.close_reason() {
                                Some(reason) => format!("the connection ended: {reason}"),
                                None => "the connection ended".into(),
                            })
                        }
                    }
                }
            }
        }
    }

    /// Ends the connection: a closing handshake that must end cleanly (the
    /// server answers the close and closes TCP), or for raw TCP a
    /// half-close answered by the server's end of stream.
    pub(super) async fn close(&mut self) -> Result<(), String> {
        match self {
            Client::Raw(raw) => raw.close().await,
            Client::Proto(ws) => ws.close().await,
            Client::Adapter(ws) => {
                ws.send(Message::Close(None))
                    .await
                    .map_err(|e| format!("sending the close: {e}"))?;
                while let Some(message) = ws.next().await {
                    message.map_err(|e| format!("while closing: {e}"))?;
                }
                match ws.close_reason() {
                    Some(reason) if reason.is_clean() => Ok(()),
                    Some(reason) => Err(format!("unclean close: {reason}")),
                    None => Err("the connection ended without a close reason".into()),
                }
            }
        }
    }
}

/// Raw TCP: write the payload, read exactly as many bytes back.
pub(super) struct RawClient {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    async fn round_trip(&mut self, payload: &Payload, content: bool) -> Result<(), String> {
        let size = payload.bytes.len();
        if self.buf.len() != size {
            self.buf = vec![0; size];
        }
        self.tcp
            .write_all(&payload.bytes)
            .await
            .map_err(|e| format!("writing: {e}"))?;
        self.tcp
            .read_exact(&mut self.buf)
            .await
            .map_err(|e| format!("reading the echo: {e}"))?;
        payload.check(&self.buf, content)
    }

    async fn close(&mut self) -> Result<(), String> {
        self.tcp
            .shutdown()
            .await
            .map_err(|e| format!("shutting down: {e}"))?;
        let mut rest = [0u8; 1024];
        match self.tcp.read(&mut rest).await {
            Ok(0) => Ok(()),
            Ok(n) => Err(format!("{n} unexpected bytes after the last echo")),
            Err(e) => Err(format!("waiting for the end of stream: {e}")),
        }
    }
}

/// A `weft_proto::Connection` driven by hand over a tokio `TcpStream`.
pub(super) struct ProtoClient {
    tcp: TcpStream,
    conn: Connection,
    /// Empty until the first round trip, so idle connections stay small.
    buf: Vec<u8>,
}

impl ProtoClient {
    async fn open(url: &WsUrl) -> Result<ProtoClient, String> {
        let io = |what: &'static str| move |e: io::Error| format!("{what}: {e}");
        let mut tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("connecting to {}: {e}", url.authority()))?;
        tcp.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
        let mut random = OsRandom::new().map_err(io("randomness"))?;
        let request = OutgoingRequest::new(url.host_header(), url.target.clone());
        let mut handshake =
            ClientHandshake::new(request, client_config(), random.nonce(), Instant::now())
                .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        handshake.write_request(&mut head);
        tcp.write_all(&head)
            .await
            .map_err(io("writing the handshake"))?;
        let mut buf = [0u8; 4096];
        loop {
            let n = tcp
                .read(&mut buf)
                .await
                .map_err(io("reading the handshake"))?;
            if n == 0 {
                return Err(handshake.handle_eof().to_string());
            }
            if handshake
                .handle_data(&buf[..n])
                .map_err(|e| e.to_string())?
                .is_some()
            {
                break;
            }
        }
        let conn = handshake
            .into_connection(random, Instant::now())
            .map_err(|e| e.to_string())?;
        Ok(ProtoClient {
            tcp,
            conn,
            buf: Vec::new(),
        })
    }

    /// Writes everything the connection has queued, vectored.
    async fn flush(&mut self) -> Result<(), String> {
        while let Some(mut transmit) = self.conn.poll_transmit() {
            while transmit.has_remaining() {
                let mut slices = [IoSlice::new(&[]); 8];
                let n = transmit.chunks_vectored(&mut slices);
                let written = self
                    .tcp
                    .write_vectored(&slices[..n])
                    .await
                    .map_err(|e| format!("writing: {e}"))?;
                if written == 0 {
                    return Err("writing: the socket accepted no bytes".into());
                }
                transmit.advance(written);
            }
        }
        if self.conn.poll_shutdown() {
            let _ = self.tcp.shutdown().await;
        }
        Ok(())
    }

    /// Reads once and feeds the bytes (or the end of stream) to the core.
    async fn read(&mut self) -> Result<(), String> {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BUF];
        }
        let n = self
            .tcp
            .read(&mut self.buf)
            .await
            .map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            self.conn.handle_eof(Instant::now());
        } else {
            self.conn.handle_data(Instant::now(), &self.buf[..n]);
        }
        Ok(())
    }

    async fn round_trip(&mut self, payload: &Payload, content: bool) -> Result<(), String> {
        let queued = match &payload.text {
            Some(text) => self.conn.send_text(text.clone()),
            None => self.conn.send_binary(payload.bytes.clone()),
        };
        queued.map_err(|e| format!("sending: {e}"))?;
        self.flush().await?;
        loop {
            while let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Binary(echo) if payload.text.is_none() => {
                        return payload.check(&echo, content)
                    }
                    Event::Text(echo) if payload.text.is_some() => {
                        return payload.check(echo.as_bytes(), content)
                    }
                    Event::Text(_) | Event::Binary(_) => {
                        return Err("the echo is not of the kind sent".into())
                    }
                    Event::CloseReceived(frame) => {
                        return Err(format!("the server closed: {frame}"))
                    }
                    Event::Closed(reason) => return Err(format!("the connection ended: {reason}")),
                    // Pings are answered by the core (written by the flush
                    // below); pongs and anything else are not echoes.
                    _ => {}
                }
            }
            self.flush().await?;
            self.read().await?;
        }
    }

    async fn close(&mut self) -> Result<(), String> {
        self.conn
            .close(Instant::now(), CloseCode::NORMAL, "")
            .map_err(|e| format!("closing: {e}"))?;
        loop {
            self.flush().await?;
            while let Some(event) = self.conn.poll_event() {
                if let Event::Closed(reason) = event {
                    self.flush().await?;
                    return if reason.is_clean() {
                        Ok(())
                    } else {
                        Err(format!("unclean close: {reason}"))
                    };
                }
            }
            self.flush().await?;
            self.read().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_differ_by_connection_and_check() {
        let a = Payload::new(0, 64, false);
        let b = Payload::new(1, 64, false);
        assert_ne!(a.bytes, b.bytes);
        assert!(a.check(&a.bytes, true).is_ok());
        assert!(a.check(&b.bytes, true).is_err());
        assert!(a.check(&b.bytes, false).is_ok());
        assert!(a.check(&a.bytes[1..], false).is_err());
        let t = Payload::new(3, 10, true);
        assert!(t.text.as_ref().unwrap().as_str().is_ascii());
    }
}
