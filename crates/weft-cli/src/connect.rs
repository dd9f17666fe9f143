//! `weft connect URL`: each stdin line out as a message, each message in
//! on its own line, a clean close at the end of stdin.

use std::io::{IsTerminal, Write};

use bytes::Bytes;
use clap::ArgAction;
use futures_util::{SinkExt, StreamExt};
use weft_io::proxy::ProxyError;
use weft_io::{ClientOptions, Error, Proxy, TlsErrorKind};
use weft_tokio::weft_proto::MAX_CLOSE_REASON;
use weft_tokio::{Acceptance, CloseCode, CloseFrame, Message};

/// The most payload a ping or pong carries (RFC 6455 5.5).
const MAX_CONTROL_PAYLOAD: usize = 125;

use crate::client_flags::{seconds, ClientFlags};
use crate::exit::Exit;
use crate::stdin_lines::StdinLines;
use crate::{hex, jsonl};

/// `weft connect`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ConnectArgs {
    /// The ws:// or wss:// URL.
    pub(crate) url: String,
    /// Send each line as a binary message (its UTF-8 bytes, or hex with --hex).
    #[arg(long)]
    binary: bool,
    /// With --binary, lines are hex.
    #[arg(long, requires = "binary")]
    hex: bool,
    /// Print received binary messages as raw bytes instead of hex.
    #[arg(long)]
    raw: bool,
    #[command(flatten)]
    pub(crate) client: ClientFlags,
    /// Seconds of silence before a keepalive ping (0: none; default 20).
    #[arg(long, value_name = "S")]
    ping_interval: Option<f64>,
    /// Seconds a keepalive ping's pong may take (default 20).
    #[arg(long, value_name = "S")]
    ping_timeout: Option<f64>,
    /// -v: the handshake on stderr; -vv: and a line per frame each way.
    #[arg(short, long, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Every event (message, ping, pong, close, state change, and frames
    /// with -vv) as one JSON object per line on stdout, for scripts.
    #[arg(long)]
    pub(crate) jsonl: bool,
    /// Stay connected: reconnect after failures with backoff, printing
    /// what happens on stderr; lines typed meanwhile are queued.
    #[arg(long)]
    pub(crate) reconnect: bool,
    /// With --reconnect: a line counts as delivered only once its echo
    /// comes back, and is sent again after a reconnect until then (at
    /// least once, against an echo server).
    #[arg(long, requires = "reconnect")]
    pub(crate) resend_until_echo: bool,
    /// With --reconnect: the first backoff ceiling, in seconds (default 1).
    #[arg(long, value_name = "S", requires = "reconnect")]
    pub(crate) backoff_initial: Option<f64>,
    /// With --reconnect: the largest backoff ceiling, in seconds (default 30).
    #[arg(long, value_name = "S", requires = "reconnect")]
    pub(crate) backoff_max: Option<f64>,
    /// With --reconnect: give up after this many attempts in a row.
    #[arg(long, value_name = "N", requires = "reconnect")]
    pub(crate) max_attempts: Option<u32>,
    /// Go through this proxy: http://[user:pass@]host:port (HTTP CONNECT),
    /// socks5:// (names resolved here) or socks5h:// (resolved by the
    /// proxy). Default: the proxy the environment sets (wss_proxy,
    /// https_proxy, ws_proxy, http_proxy, all_proxy; no_proxy), never
    /// for localhost.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub(crate) proxy: Option<String>,
    /// Connect directly, whatever the proxy environment variables say.
    #[arg(long)]
    pub(crate) no_proxy: bool,
}

impl ConnectArgs {
    /// The client options the flags describe.
    pub(crate) fn options(&self) -> Result<ClientOptions, String> {
        let config = weft_io::default_config();
        let interval = match self.ping_interval {
            Some(0.0) => None,
            Some(s) => Some(seconds("ping-interval", s)?),
            None => config.keepalive_interval,
        };
        let timeout = match self.ping_timeout {
            Some(s) => seconds("ping-timeout", s)?,
            None => config.pong_timeout,
        };
        let options = self
            .client
            .connecting_options(config.keepalive(interval, timeout))?;
        Ok(match &self.proxy {
            Some(url) => options.proxy(Proxy::url(url).map_err(|e| format!("--proxy: {e}"))?),
            None if self.no_proxy => options.no_proxy(),
            None => options,
        })
    }
}

/// Runs `weft connect`.
pub(crate) async fn run(args: ConnectArgs) -> Exit {
    let options = match args.options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("weft: {e}");
            return Exit::Usage;
        }
    };
    if args.jsonl {
        jsonl::enable();
    }
    if args.verbose > 1 {
        crate::frame_trace::install();
    }
    if args.reconnect {
        return crate::reconnecting::run(args, options).await;
    }
    if args.jsonl {
        jsonl::state("connecting", serde_json::json!({ "url": args.url }));
    }
    if args.verbose > 0 {
        print_request(&args, &options);
    }
    let (ws, response) = match weft_tokio::connect_with(&args.url, options).await {
        Ok(connected) => connected,
        Err(e) => {
            print_failure(&e);
            let exit = Exit::of_error(&e);
            if args.jsonl {
                jsonl::error(&e, exit);
            }
            return exit;
        }
    };
    if args.verbose > 0 {
        print_response(&response);
    }
    if args.jsonl {
        jsonl::open(&args.url, &response);
    }
    let interactive = std::io::stdin().is_terminal();
    let (mut sender, mut receiver) = ws.split();
    let mut lines = StdinLines::new();
    let mut reading_stdin = true;
    loop {
        tokio::select! {
            line = lines.next(), if reading_stdin => {
                let outgoing = match line {
                    Some(line) => match to_message(&args, &line, interactive) {
                        Ok(Some(message)) => message,
                        Ok(None) => continue,
                        Err(e) => {
                            if interactive {
                                eprintln!("weft: {e}");
                            } else {
                                lines.not_sent(&e);
                            }
                            continue;
                        }
                    },
                    // The end of stdin (or a stdin that cannot be read):
                    // close cleanly and wait for the closing handshake.
                    None => {
                        reading_stdin = false;
                        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
                    }
                };
                if let Message::Close(_) = outgoing {
                    reading_stdin = false;
                }
                if let Err(e) = sender.send(outgoing).await {
                    // The connection is ending; reading says how.
                    if args.verbose > 0 {
                        eprintln!("weft: {e}");
                    }
                    reading_stdin = false;
                }
            }
            incoming = receiver.next() => match incoming {
                Some(Ok(message)) => print_message(&args, message),
                Some(Err(e)) => {
                    eprintln!("weft: {e}");
                    if args.jsonl {
                        jsonl::closed(receiver.close_reason().as_ref(), Exit::Abnormal);
                    }
                    return Exit::Abnormal;
                }
                None => break,
            }
        }
    }
    let reason = receiver.close_reason();
    let exit = lines.exit(Exit::of_close(reason.as_ref()));
    if args.jsonl {
        jsonl::closed(reason.as_ref(), exit);
    }
    if exit != Exit::Ok || args.verbose > 0 {
        match &reason {
            Some(reason) => eprintln!("weft: {reason}"),
            None => eprintln!("weft: the connection ended"),
        }
    }
    exit
}

/// What a line of stdin is to send: a message, nothing (a command that was
/// handled), or why it cannot be sent.
pub(crate) fn to_message(
    args: &ConnectArgs,
    line: &[u8],
    interactive: bool,
) -> Result<Option<Message>, String> {
    let utf8 = |line| std::str::from_utf8(line).map_err(|e| format!("not UTF-8 ({e})"));
    if interactive && line.starts_with(b"/") {
        return command(utf8(line)?);
    }
    if args.binary && !args.hex {
        return Ok(Some(Message::binary(line.to_vec())));
    }
    let line = utf8(line)?;
    if !args.binary {
        return Ok(Some(Message::text(line)));
    }
    Ok(Some(Message::binary(hex::decode(line)?)))
}

/// An interactive command: `/ping [text]`, `/close [code] [reason]`,
/// `/binary HEX`, `/quit`.
fn command(line: &str) -> Result<Option<Message>, String> {
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    match name {
        // Checked here, not refused by the engine: a refused send would
        // read as the connection ending.
        "/ping" if rest.len() > MAX_CONTROL_PAYLOAD => Err(format!(
            "/ping: a ping carries at most {MAX_CONTROL_PAYLOAD} bytes"
        )),
        "/ping" => Ok(Some(Message::Ping(Bytes::copy_from_slice(rest.as_bytes())))),
        "/binary" => Ok(Some(Message::binary(hex::decode(rest)?))),
        "/quit" => Ok(Some(Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            "",
        ))))),
        "/close" => {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let code = match code {
                "" => CloseCode::NORMAL,
                code => CloseCode::from(
                    code.parse::<u16>()
                        .map_err(|_| format!("/close {code}: not a close code"))?,
                ),
            };
            if !code.is_sendable() {
                return Err(format!("/close {}: a code that may not be sent", code.0));
            }
            if reason.len() > MAX_CLOSE_REASON {
                return Err(format!(
                    "/close: a reason has at most {MAX_CLOSE_REASON} bytes"
                ));
            }
            Ok(Some(Message::Close(Some(CloseFrame::new(code, reason)))))
        }
        _ => Err(format!(
            "{name}: unknown command (/ping [text], /close [code] [reason], /binary HEX, /quit)"
        )),
    }
}

/// A message received: data on stdout, the rest on stderr with -v; with
/// --jsonl, each as an event on stdout.
pub(crate) fn print_message(args: &ConnectArgs, message: Message) {
    if args.jsonl {
        return jsonl::message(&message);
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) is not worth failing for.
    let _ = match message {
        Message::Text(text) => writeln!(out, "{text}"),
        Message::Binary(data) if args.raw => out.write_all(&data).and_then(|()| out.flush()),
        Message::Binary(data) => writeln!(out, "{}", hex::encode(&data)),
        Message::Ping(data) if args.verbose > 0 => {
            writeln!(std::io::stderr(), "< ping \"{}\"", data.escape_ascii())
        }
        // Pongs answer our pings: /ping's, and the keepalive's (their
        // payload an 8-byte counter, a zero byte first), which only -v
        // shows.
        Message::Pong(data) if args.verbose > 0 || !(data.len() == 8 && data[0] == 0) => {
            writeln!(std::io::stderr(), "< pong \"{}\"", data.escape_ascii())
        }
        Message::Close(Some(frame)) if args.verbose > 0 => {
            writeln!(std::io::stderr(), "< close {frame}")
        }
        _ => Ok(()),
    };
}

/// -v: the request as it is sent (the generated headers summed up).
fn print_request(args: &ConnectArgs, options: &ClientOptions) {
    let Ok(url) = weft_io::WsUrl::parse(&args.url) else {
        return;
    };
    // A proxy URL that is not valid is reported by the connection.
    if let Ok(Some(proxy)) = options.proxy.select(&url) {
        eprintln!("weft: through the proxy {proxy}");
    }
    eprintln!("> GET {} HTTP/1.1", url.target);
    eprintln!("> Host: {}", url.host_header());
    eprintln!("> Upgrade: websocket");
    eprintln!("> Connection: Upgrade");
    eprintln!("> Sec-WebSocket-Version: 13");
    if let Some(origin) = &options.origin {
        eprintln!("> Origin: {origin}");
    }
    if !options.subprotocols.is_empty() {
        eprintln!(
            "> Sec-WebSocket-Protocol: {}",
            options.subprotocols.join(", ")
        );
    }
    if options.config.deflate.is_some() {
        eprintln!("> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
    }
    for (name, value) in &options.headers {
        eprintln!("> {name}: {value}");
    }
}

/// -v: the server's acceptance and what was agreed.
fn print_response(response: &Acceptance) {
    eprintln!("< HTTP/1.1 101 Switching Protocols");
    for (name, value) in response.headers().iter() {
        eprintln!("< {name}: {}", String::from_utf8_lossy(value));
    }
    eprintln!(
        "weft: subprotocol {}, extensions {}",
        response.subprotocol().unwrap_or("none"),
        match response.extensions() {
            [] => "none".to_owned(),
            extensions => extensions.join(", "),
        }
    );
}

/// A failure to connect: the error's message, for a refused upgrade the
/// status, headers and the start of the body, for a proxy's refusal its
/// status and headers.
fn print_failure(error: &Error) {
    eprintln!("weft: {error}");
    if let Error::Tls(tls) = error {
        if tls.kind() != TlsErrorKind::Protocol {
            eprintln!("weft: to trust a private CA or a self-signed certificate: --ca FILE");
        }
    }
    if let Some(ProxyError::Refused {
        status,
        reason,
        headers,
        ..
    }) = error.proxy_error()
    {
        eprintln!("< HTTP/1.1 {status} {reason}");
        for (name, value) in headers {
            eprintln!("< {name}: {value}");
        }
    }
    if let Some(rejection) = error.rejection() {
        eprintln!("< HTTP/1.1 {} {}", rejection.status, rejection.reason);
        for (name, value) in rejection.headers.iter() {
            eprintln!("< {name}: {}", String::from_utf8_lossy(value));
        }
        if !rejection.body.is_empty() {
            eprintln!("<");
            eprintln!("{}", String::from_utf8_lossy(&rejection.body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_the_engine_would_refuse_are_refused_here() {
        assert!(command("/close 1005").is_err());
        assert!(command("/close 999").is_err());
        assert!(command(&format!("/close 4000 {}", "r".repeat(124))).is_err());
        assert!(command(&format!("/ping {}", "p".repeat(126))).is_err());
        assert!(command("/frobnicate").is_err());
        let close = command("/close 4000 bye").unwrap();
        assert_eq!(
            close,
            Some(Message::Close(Some(CloseFrame::new(
                CloseCode(4000),
                "bye"
            ))))
        );
        assert_eq!(
            command("/ping hi").unwrap(),
            Some(Message::Ping(Bytes::from_static(b"hi")))
        );
    }
}
