//! `--jsonl`: every event of `weft connect` as one JSON object per line on
//! stdout, for scripts. Each object has `"event"` (its kind) and `"t"`
//! (seconds since the command started); docs/cli.md lists the kinds and
//! their fields.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{json, Map, Value};
use weft_tokio::{Acceptance, CloseFrame, CloseReason, Message};

use crate::exit::Exit;
use crate::hex;

static ON: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Turns JSON lines on for the rest of the process.
pub(crate) fn enable() {
    START.get_or_init(Instant::now);
    ON.store(true, Ordering::Relaxed);
}

/// Whether events are written as JSON lines.
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Writes one event: `kind` and the fields of `fields` (an object).
pub(crate) fn emit(kind: &str, fields: Value) {
    // The time is taken under the lock, so that lines written from two
    // threads (a frame event, a message) come out in the order of theirs.
    let mut out = std::io::stdout().lock();
    let mut object = Map::new();
    object.insert("event".into(), kind.into());
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    object.insert("t".into(), json!((t * 1e6).round() / 1e6));
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    // A closed stdout (a pipe whose reader left) is not worth failing for.
    let _ = writeln!(out, "{}", Value::Object(object)).and_then(|()| out.flush());
}

/// A message received: `message` (text or binary, binary as hex), `ping`,
/// `pong` (payload as text where it is UTF-8, and as hex), or `close` (the
/// peer's close frame).
pub(crate) fn message(message: &Message) {
    match message {
        Message::Text(text) => emit("message", json!({"type": "text", "data": text.as_str()})),
        Message::Binary(data) => emit(
            "message",
            json!({"type": "binary", "hex": hex::encode(data), "len": data.len()}),
        ),
        Message::Ping(data) => emit("ping", control_payload(data)),
        Message::Pong(data) => emit("pong", control_payload(data)),
        Message::Close(frame) => emit("close", close_frame(frame.as_ref())),
        _ => {}
    }
}

fn control_payload(data: &[u8]) -> Value {
    json!({"data": std::str::from_utf8(data).ok(), "hex": hex::encode(data)})
}

fn close_frame(frame: Option<&CloseFrame>) -> Value {
    match frame {
        Some(frame) => json!({
            "code": frame.code.0,
            "name": frame.code.name(),
            "reason": frame.reason,
        }),
        None => json!({"code": null}),
    }
}

/// The connection is open: what the server answered and what was agreed.
pub(crate) fn open(url: &str, response: &Acceptance) {
    let headers: Vec<Value> = response
        .headers()
        .iter()
        .map(|(name, value)| json!([name.to_string(), String::from_utf8_lossy(value)]))
        .collect();
    emit(
        "state",
        json!({
            "state": "open",
            "url": url,
            "status": 101,
            "headers": headers,
            "subprotocol": response.subprotocol(),
            "extensions": response.extensions(),
        }),
    );
}

/// A change of state without details of its own: `connecting` (with the
/// attempt's number under `--reconnect`), `disconnected`.
pub(crate) fn state(state: &str, fields: Value) {
    let mut object = json!({ "state": state });
    if let (Value::Object(object), Value::Object(fields)) = (&mut object, fields) {
        object.extend(fields);
    }
    emit("state", object);
}

/// The connection ended: how, and the exit code it leads to.
pub(crate) fn closed(reason: Option<&CloseReason>, exit: Exit) {
    let fields = match reason {
        Some(reason) => json!({
            "code": reason.code().0,
            "name": reason.code().name(),
            "reason": match reason {
                CloseReason::Clean(frame) => frame.reason.clone(),
                other => other.to_string(),
            },
            "clean": reason.is_clean(),
            "exit": exit.code(),
            "class": exit.name(),
        }),
        None => json!({"code": null, "clean": false, "exit": exit.code(), "class": exit.name()}),
    };
    state("closed", fields);
}

/// A failure: the error's message and the exit code it leads to; a
/// refused upgrade adds the status, headers and body.
pub(crate) fn error(error: &weft_io::Error, exit: Exit) {
    let mut fields = json!({
        "message": error.to_string(),
        "exit": exit.code(),
        "class": exit.name(),
        "retryable": error.is_retryable(),
    });
    if let (Some(rejection), Value::Object(fields)) = (error.rejection(), &mut fields) {
        let headers: Vec<Value> = rejection
            .headers
            .iter()
            .map(|(name, value)| json!([name.to_string(), String::from_utf8_lossy(value)]))
            .collect();
        fields.insert("status".into(), json!(rejection.status));
        fields.insert("headers".into(), json!(headers));
        fields.insert(
            "body".into(),
            json!(String::from_utf8_lossy(&rejection.body)),
        );
    }
    if let (
        Some(weft_io::proxy::ProxyError::Refused {
            status, headers, ..
        }),
        Value::Object(fields),
    ) = (error.proxy_error(), &mut fields)
    {
        let headers: Vec<Value> = headers
            .iter()
            .map(|(name, value)| json!([name, value]))
            .collect();
        fields.insert("proxy_status".into(), json!(status));
        fields.insert("proxy_headers".into(), json!(headers));
    }
    emit("error", fields);
}
