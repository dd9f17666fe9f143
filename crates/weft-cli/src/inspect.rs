//! `weft inspect URL`: a one-shot diagnosis of a WebSocket server, step
//! by step: the addresses the name resolves to, the TCP connect, TLS (its
//! version, cipher and certificate chain with expiry dates), the HTTP
//! upgrade (status, headers, what was agreed), a ping's round trip, and a
//! clean close with the code the server answers. Each step is printed as
//! it ends; a failure says at which step and why, and exits with the code
//! of its class. `--json` prints one object at the end instead.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::net::TcpStream;
use weft_io::{Error, TlsError, TlsErrorKind, WsUrl};
use weft_tokio::{CloseCode, CloseFrame, CloseReason, MaybeTlsStream, Message};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::client_flags::ClientFlags;
use crate::client_tls::{self, Chain};
use crate::exit::Exit;

/// How long the ping's pong and the closing handshake may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The ping's payload.
const PING: &[u8] = b"weft inspect";

/// `weft inspect`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The ws:// or wss:// URL.
    url: String,
    #[command(flatten)]
    client: ClientFlags,
    /// One JSON object on stdout, at the end, instead of lines.
    #[arg(long)]
    json: bool,
}

/// The steps so far, printed as they end (or kept for `--json`).
struct Report {
    json: bool,
    steps: Vec<Value>,
    start: Instant,
}

/// A step that failed: its error's message and the exit code.
struct Failed {
    step: &'static str,
    message: String,
    exit: Exit,
}

impl Report {
    /// Step `name` ended after `since`: its fields, and the lines a person
    /// reads (the first one beside the step's name).
    fn step(
        &mut self,
        name: &'static str,
        since: Instant,
        mut fields: Map<String, Value>,
        lines: &[String],
    ) {
        let ms = since.elapsed().as_secs_f64() * 1e3;
        if self.json {
            fields.insert("step".into(), name.into());
            fields.insert("ms".into(), json!((ms * 1e3).round() / 1e3));
            let mut ordered = Map::new();
            ordered.insert("step".into(), name.into());
            ordered.extend(fields);
            self.steps.push(Value::Object(ordered));
            return;
        }
        let mut lines = lines.iter();
        let first = lines.next().map_or("", String::as_str);
        say(format_args!("{name:<9} {first} ({ms:.1} ms)"));
        for line in lines {
            say(format_args!("          {line}"));
        }
    }

    /// The end: the JSON object, or the verdict's line.
    fn finish(self, failed: Option<Failed>) -> Exit {
        let total = self.start.elapsed().as_secs_f64() * 1e3;
        let exit = failed.as_ref().map_or(Exit::Ok, |f| f.exit);
        if self.json {
            let mut object = json!({
                "ok": failed.is_none(),
                "steps": self.steps,
                "ms": (total * 1e3).round() / 1e3,
            });
            if let (Some(failed), Value::Object(object)) = (&failed, &mut object) {
                object.insert("failed_step".into(), failed.step.into());
                object.insert("error".into(), failed.message.clone().into());
                object.insert("exit".into(), exit.code().into());
                object.insert("class".into(), exit.name().into());
            }
            say(format_args!("{object}"));
        } else if let Some(failed) = &failed {
            say(format_args!(
                "FAILED at {}: {}",
                failed.step, failed.message
            ));
        } else {
            say(format_args!("ok        every step passed ({total:.1} ms)"));
        }
        exit
    }
}

/// A line on stdout; a stdout that was closed (`| head -1`) is not worth
/// failing for.
fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// Runs `weft inspect`.
pub(crate) async fn run(args: InspectArgs) -> Exit {
    let mut report = Report {
        json: args.json,
        steps: Vec::new(),
        start: Instant::now(),
    };
    let failed = inspect(&args, &mut report).await.err();
    report.finish(failed)
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn inspect(args: &InspectArgs, report: &mut Report) -> Result<(), Failed> {
    let fail = |step, message: String, exit| Failed {
        step,
        message,
        exit,
    };
    let url = WsUrl::parse(&args.url).map_err(|e| fail("url", e.to_string(), Exit::Usage))?;
    let connect_timeout = args
        .client
        .connect_timeout()
        .map_err(|e| fail("url", e, Exit::Usage))?;
    let options = args
        .client
        .options(weft_io::default_config())
        .map_err(|e| fail("url", e, Exit::Usage))?;

    // DNS.
    let since = Instant::now();
    let resolving = tokio::net::lookup_host((url.host.as_str(), url.port));
    let addresses: Vec<SocketAddr> = match tokio::time::timeout(connect_timeout, resolving).await {
        Ok(Ok(addresses)) => addresses.collect(),
        Ok(Err(e)) => {
            return Err(fail(
                "resolve",
                format!("{} did not resolve: {e}", url.host),
                Exit::Connect,
            ))
        }
        Err(_) => {
            return Err(fail(
                "resolve",
                format!("{} did not resolve within {connect_timeout:?}", url.host),
                Exit::Connect,
            ))
        }
    };
    let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    report.step(
        "resolve",
        since,
        fields(json!({"host": url.host, "addresses": shown})),
        &[format!("{} -> {}", url.host, shown.join(", "))],
    );

    // TCP, to each address in turn until one answers.
    let since = Instant::now();
    let mut tcp = None;
    let mut tried = Vec::new();
    for addr in &addresses {
        match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                tcp = Some((stream, *addr));
                break;
            }
            Ok(Err(e)) => tried.push(format!("{addr}: {e}")),
            Err(_) => tried.push(format!("{addr}: no answer within {connect_timeout:?}")),
        }
    }
    let Some((tcp, addr)) = tcp else {
        return Err(fail("connect", tried.join("; "), Exit::Connect));
    };
    let _ = tcp.set_nodelay(true);
    let mut lines = vec![format!("{addr}")];
    lines.extend(tried.iter().map(|t| format!("(failed first: {t})")));
    report.step(
        "connect",
        since,
        fields(json!({"address": addr.to_string(), "failed": tried})),
        &lines,
    );

    // TLS.
    let stream = if url.secure {
        MaybeTlsStream::Tls(Box::new(tls(args, &url, tcp, report).await?))
    } else {
        MaybeTlsStream::Plain(tcp)
    };

    // The upgrade.
    let since = Instant::now();
    let (mut ws, response) = match weft_tokio::client(stream, &url, options).await {
        Ok(opened) => opened,
        Err(e) => {
            let mut message = e.to_string();
            if let Some(rejection) = e.rejection() {
                message.push_str(&format!(
                    "\n  < HTTP/1.1 {} {}",
                    rejection.status, rejection.reason
                ));
                for (name, value) in rejection.headers.iter() {
                    message.push_str(&format!("\n  < {name}: {}", String::from_utf8_lossy(value)));
                }
                let body = String::from_utf8_lossy(&rejection.body);
                if !body.is_empty() {
                    message.push_str(&format!("\n  {}", body.trim_end()));
                }
            }
            return Err(fail("upgrade", message, Exit::of_error(&e)));
        }
    };
    let headers: Vec<Value> = response
        .headers()
        .iter()
        .map(|(name, value)| json!([name.to_string(), String::from_utf8_lossy(value)]))
        .collect();
    let extensions = match response.extensions() {
        [] => "none".to_owned(),
        extensions => extensions.join(", "),
    };
    let mut lines = vec![format!("{} 101 Switching Protocols", url.target)];
    lines.extend(
        response
            .headers()
            .iter()
            .map(|(name, value)| format!("< {name}: {}", String::from_utf8_lossy(value))),
    );
    lines.push(format!(
        "subprotocol {}, extensions {extensions}",
        response.subprotocol().unwrap_or("none")
    ));
    report.step(
        "upgrade",
        since,
        fields(json!({
            "status": 101,
            "headers": headers,
            "subprotocol": response.subprotocol(),
            "extensions": response.extensions(),
        })),
        &lines,
    );

    // A ping's round trip.
    let since = Instant::now();
    ws.send(Message::Ping(Bytes::from_static(PING)))
        .await
        .map_err(|e| fail("ping", e.to_string(), Exit::Abnormal))?;
    let mut meanwhile = 0usize;
    let waiting = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Pong(data))) if data.as_ref() == PING => return Ok(()),
                Some(Ok(message)) if message.is_data() => meanwhile += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("the connection ended before the pong".to_owned()),
            }
        }
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, waiting).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let exit = Exit::of_close(ws.close_reason().as_ref());
            return Err(fail(
                "ping",
                e,
                if exit == Exit::Ok {
                    Exit::Abnormal
                } else {
                    exit
                },
            ));
        }
        Err(_) => {
            return Err(fail(
                "ping",
                format!("no pong within {ANSWER_TIMEOUT:?}"),
                Exit::Abnormal,
            ))
        }
    }
    let mut line = "pong received".to_owned();
    if meanwhile > 0 {
        line.push_str(&format!(" ({meanwhile} messages came first)"));
    }
    report.step(
        "ping",
        since,
        fields(json!({"messages_before_pong": meanwhile})),
        &[line],
    );

    // A clean close.
    let since = Instant::now();
    let ours = CloseFrame::new(CloseCode::NORMAL, "weft inspect");
    ws.send(Message::Close(Some(ours)))
        .await
        .map_err(|e| fail("close", e.to_string(), Exit::Abnormal))?;
    let draining = async { while ws.next().await.is_some() {} };
    if tokio::time::timeout(ANSWER_TIMEOUT, draining)
        .await
        .is_err()
    {
        return Err(fail(
            "close",
            format!("no close frame within {ANSWER_TIMEOUT:?}"),
            Exit::Abnormal,
        ));
    }
    match ws.close_reason() {
        Some(CloseReason::Clean(frame)) => {
            let name = frame.code.name().unwrap_or("");
            let line = format!("sent 1000, the server answered {} {name}", frame.code.0);
            let detail =
                json!({"code": frame.code.0, "name": frame.code.name(), "reason": frame.reason});
            report.step("close", since, fields(detail), &[line]);
            // A clean close with an error's code (1011, 4000) is the
            // server's failure all the same.
            match Exit::of_close(Some(&CloseReason::Clean(frame.clone()))) {
                Exit::Ok => Ok(()),
                exit => Err(fail(
                    "close",
                    format!("the server closed with {frame}"),
                    exit,
                )),
            }
        }
        other => {
            let message =
                other.map_or_else(|| "the connection ended".to_owned(), |r| r.to_string());
            Err(fail(
                "close",
                message,
                Exit::of_close(ws.close_reason().as_ref()).max_failure(),
            ))
        }
    }
}

/// The TLS handshake, with what it agreed and the chain shown.
async fn tls(
    args: &InspectArgs,
    url: &WsUrl,
    tcp: TcpStream,
    report: &mut Report,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Failed> {
    let fail = |message: String, exit| Failed {
        step: "tls",
        message,
        exit,
    };
    let (config, chain) =
        client_tls::recording_config(args.client.ca.as_deref(), args.client.insecure)
            .map_err(|e| fail(e, Exit::Usage))?;
    let name = weft_io::tls::server_name(&url.host).map_err(|e| fail(e.to_string(), Exit::Tls))?;
    let since = Instant::now();
    let connecting = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
    let tls = match tokio::time::timeout(ANSWER_TIMEOUT, connecting).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            let message = match TlsError::from_io(&url.host, e) {
                Ok(tls) if tls.kind() != TlsErrorKind::Protocol => format!(
                    "{}\n  to trust a private CA or a self-signed certificate: --ca FILE",
                    Error::Tls(tls)
                ),
                Ok(tls) => Error::Tls(tls).to_string(),
                Err(io) => format!("the connection ended during the TLS handshake: {io}"),
            };
            let certificates = describe(&chain);
            let message = match certificates.is_empty() {
                true => message,
                false => format!(
                    "{message}\n  the server showed:\n  {}",
                    certificates.join("\n  ")
                ),
            };
            return Err(fail(message, Exit::Tls));
        }
        Err(_) => {
            return Err(fail(
                format!("no TLS handshake within {ANSWER_TIMEOUT:?}"),
                Exit::Tls,
            ))
        }
    };
    let session = tls.get_ref().1;
    let version = session
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("?")
        .replace('_', ".")
        .replace("TLSv1.", "TLS 1.");
    let cipher = session
        .negotiated_cipher_suite()
        .and_then(|s| s.suite().as_str())
        .unwrap_or("?");
    let alpn = session
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let certificates = describe(&chain);
    let mut lines = vec![format!(
        "{version}, {cipher}, ALPN {}",
        alpn.as_deref().unwrap_or("none")
    )];
    lines.extend(certificates.iter().cloned());
    report.step(
        "tls",
        since,
        fields(json!({
            "version": version,
            "cipher": cipher,
            "alpn": alpn,
            "verified": !args.client.insecure,
            "certificates": certificate_fields(&chain),
        })),
        &lines,
    );
    Ok(tls)
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Each certificate of the chain, a line each: its place, subject, names,
/// issuer, validity, and how long until it expires.
fn describe(chain: &Chain) -> Vec<String> {
    certificate_fields(chain)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let days = c["expires_in_days"].as_i64().unwrap_or(0);
            let expiry = if days < 0 {
                format!("EXPIRED {} days ago", -days)
            } else {
                format!("expires in {days} days")
            };
            let names = match c["names"].as_array() {
                Some(names) if !names.is_empty() => {
                    let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
                    format!(" [{}]", names.join(", "))
                }
                _ => String::new(),
            };
            format!(
                "certificate {i}: {}{names}, issued by {}, valid {} to {} ({expiry})",
                c["subject"].as_str().unwrap_or("?"),
                c["issuer"].as_str().unwrap_or("?"),
                c["not_before"].as_str().unwrap_or("?"),
                c["not_after"].as_str().unwrap_or("?"),
            )
        })
        .collect()
}

/// An IP address as a certificate holds it (4 or 16 bytes).
fn ip_address(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// Each certificate of the chain as JSON.
fn certificate_fields(chain: &Chain) -> Vec<Value> {
    let chain = chain.lock().unwrap_or_else(|p| p.into_inner()).clone();
    chain
        .iter()
        .map(|der| match X509Certificate::from_der(der) {
            Ok((_, cert)) => {
                let validity = cert.validity();
                let names: Vec<String> = cert
                    .subject_alternative_name()
                    .ok()
                    .flatten()
                    .map(|san| {
                        san.value
                            .general_names
                            .iter()
                            .filter_map(|name| match name {
                                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                                GeneralName::IPAddress(ip) => ip_address(ip),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let not_after = validity.not_after.timestamp();
                json!({
                    "subject": cert.subject().to_string(),
                    "issuer": cert.issuer().to_string(),
                    "names": names,
                    "not_before": validity.not_before.to_string(),
                    "not_after": validity.not_after.to_string(),
                    "expires_in_days": (not_after - now()).div_euclid(86_400),
                })
            }
            Err(e) => json!({"error": format!("unreadable certificate: {e}")}),
        })
        .collect()
}

impl Exit {
    /// A close that did not go as asked is a failure even when its code
    /// would be `Ok`.
    fn max_failure(self) -> Exit {
        if self == Exit::Ok {
            Exit::Abnormal
        } else {
            self
        }
    }
}
