//! The engine's logs (feature `tracing`), read by a subscriber that keeps
//! every event: a client and a server exchange frames in memory, each
//! called inside a span of its own as an adapter does, and the events are
//! checked field by field.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, Reject, ServerHandshake};
use weft_proto::{CloseCode, Config, Connection, MessageKind};

// ----- a subscriber that keeps everything -----

/// One event as the subscriber saw it.
#[derive(Clone, Debug)]
struct Logged {
    level: Level,
    target: String,
    message: String,
    fields: BTreeMap<String, String>,
    /// The `role` field of the innermost span the event happened in.
    role: Option<String>,
}

/// A frame line's header part: up to the payload length's digits, before
/// the ` B` after them and the payload's preview.
fn header_part(line: &str) -> &str {
    let end = line
        .match_indices(" B")
        .map(|(i, _)| i)
        .find(|&i| {
            line[..i].ends_with(|c: char| c.is_ascii_digit())
                && matches!(line.as_bytes().get(i + 2), None | Some(b' '))
        })
        .unwrap_or_else(|| panic!("no length in {line:?}"));
    &line[..end]
}

impl Logged {
    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no field {name} in {self:?}"))
    }
}

#[derive(Default)]
struct Store {
    spans: HashMap<u64, BTreeMap<String, String>>,
    events: Vec<Logged>,
}

/// Keeps every span's fields and every event, with the span it happened in.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Store>>);

thread_local! {
    /// The spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

static NEXT_SPAN: AtomicU64 = AtomicU64::new(1);

/// Fields as text: strings as they are, everything else as `Debug` shows
/// it (which for `%value` fields is their `Display`).
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = NEXT_SPAN.fetch_add(1, Ordering::Relaxed);
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().spans.insert(id, fields);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut store = self.0.lock().unwrap();
        if let Some(fields) = store.spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let mut store = self.0.lock().unwrap();
        let innermost = ENTERED.with(|e| e.borrow().last().copied());
        let role = innermost
            .and_then(|id| store.spans.get(&id))
            .and_then(|span| span.get("role").cloned());
        store.events.push(Logged {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message,
            fields,
            role,
        });
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|e| e.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        ENTERED.with(|e| {
            let mut entered = e.borrow_mut();
            if let Some(at) = entered.iter().rposition(|id| *id == span.into_u64()) {
                entered.remove(at);
            }
        });
    }
}

impl Capture {
    fn events(&self) -> Vec<Logged> {
        self.0.lock().unwrap().events.clone()
    }

    /// `(role, message)` of the events at `level` with `target`, in order.
    fn lines(&self, level: Level, target: &str) -> Vec<(String, String)> {
        self.events()
            .into_iter()
            .filter(|e| e.level == level && e.target == target)
            .map(|e| (e.role.clone().unwrap_or_default(), e.message.clone()))
            .collect()
    }
}

// ----- a client and a server, each inside its span -----

/// Two connections in memory; every call into one runs inside its span.
struct Ends {
    client: Connection,
    server: Connection,
    client_span: tracing::Span,
    server_span: tracing::Span,
    now: Instant,
}

impl Ends {
    fn new(config: Config) -> Ends {
        let now = Instant::now();
        let client_span = tracing::info_span!("websocket", role = "client");
        let server_span = tracing::info_span!("websocket", role = "server");
        let mut key = 0u32;
        let keys = move || {
            key = key.wrapping_add(0x9e37_79b9);
            key.to_be_bytes()
        };
        let client = client_span.in_scope(|| Connection::client(config.clone(), keys, now));
        let server = server_span.in_scope(|| Connection::server(config, now));
        Ends {
            client,
            server,
            client_span,
            server_span,
            now,
        }
    }

    fn client<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R {
        self.client_span.in_scope(|| f(&mut self.client))
    }

    fn server<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R {
        self.server_span.in_scope(|| f(&mut self.server))
    }

    /// Moves bytes both ways and polls every event until nothing moves.
    fn drive(&mut self) {
        let now = self.now;
        loop {
            let mut moved = false;
            let wire = self.client(|c| {
                while c.poll_event().is_some() {}
                c.poll_transmit().map(|t| t.to_vec())
            });
            if let Some(wire) = wire {
                self.server(|s| s.handle_data(now, &wire));
                moved = true;
            }
            let (wire, shut) = self.server(|s| {
                while s.poll_event().is_some() {}
                (s.poll_transmit().map(|t| t.to_vec()), s.poll_shutdown())
            });
            if let Some(wire) = wire {
                self.client(|c| c.handle_data(now, &wire));
                moved = true;
            }
            if shut {
                self.client(|c| c.handle_eof(now));
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }
}

fn pairs(lines: &[(&str, &str)]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|(role, message)| ((*role).to_owned(), (*message).to_owned()))
        .collect()
}

// ----- the tests -----

#[test]
fn every_frame_is_traced_with_its_fields_in_the_span_of_its_end() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let mut ends = Ends::new(Config::default());
        ends.client(|c| c.send_text("hello")).unwrap();
        ends.drive();
        ends.client(|c| {
            c.send_fragment(MessageKind::Binary, vec![1, 2, 3], false)?;
            c.ping("p")?;
            c.send_fragment(MessageKind::Binary, vec![4], true)
        })
        .unwrap();
        ends.drive();
        let now = ends.now;
        ends.client(|c| c.close(now, CloseCode::NORMAL, "bye"))
            .unwrap();
        ends.drive();
        assert!(ends.client.is_terminated() && ends.server.is_terminated());
    });

    // Frames sent when queued, frames received once their header is
    // parsed: a whole message on the short path, fragments, a ping and the
    // pong it is owed, the close and its echo.
    let expected = pairs(&[
        ("client", r#"> TEXT fin masked 5 B "hello""#),
        ("server", r#"< TEXT fin masked 5 B "hello""#),
        ("client", r#"> BINARY masked 3 B "\x01\x02\x03""#),
        ("client", r#"> PING fin masked 1 B "p""#),
        ("client", r#"> CONT fin masked 1 B "\x04""#),
        ("server", r#"< BINARY masked 3 B "\x01\x02\x03""#),
        ("server", r#"< PING fin masked 1 B "p""#),
        ("server", r#"< CONT fin masked 1 B "\x04""#),
        ("server", r#"> PONG fin 1 B "p""#),
        ("client", r#"< PONG fin 1 B "p""#),
        (
            "client",
            r#"> CLOSE fin masked 5 B code 1000 normal closure reason "bye""#,
        ),
        (
            "server",
            r#"< CLOSE fin masked 5 B code 1000 normal closure reason "bye""#,
        ),
        ("server", "> CLOSE fin 2 B code 1000 normal closure"),
        ("client", "< CLOSE fin 2 B code 1000 normal closure"),
    ]);
    assert_eq!(capture.lines(Level::TRACE, "weft_proto::frame"), expected);

    // Each message is also in the fields, one field per part of the header.
    for event in capture.events().iter().filter(|e| e.level == Level::TRACE) {
        let received = event.message.starts_with('<');
        assert_eq!(
            event.field("direction"),
            if received { "received" } else { "sent" }
        );
        let masked = event.role.as_deref() == Some(if received { "server" } else { "client" });
        assert_eq!(event.field("masked"), masked.to_string(), "{event:?}");
        // The header's part of the line, before the payload's preview.
        let header = header_part(&event.message);
        let words: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            event.field("opcode").to_uppercase(),
            words[1].replace("CONT", "CONTINUATION")
        );
        assert_eq!(event.field("fin"), words.contains(&"fin").to_string());
        assert_eq!(event.field("rsv1"), "false");
        assert_eq!(event.field("rsv2"), "false");
        assert_eq!(event.field("rsv3"), "false");
        assert_eq!(event.field("payload_len"), words[words.len() - 1]);
        let preview = &event.message[header.len() + " B".len()..];
        assert_eq!(event.field("payload"), preview);
        let close = words[1] == "CLOSE";
        let code = event.fields.get("close_code").map(String::as_str);
        assert_eq!(code, close.then_some("1000"), "{event:?}");
    }

    // The end of each connection, once, at INFO, with who started it.
    let closes: Vec<Logged> = capture
        .events()
        .into_iter()
        .filter(|e| e.level == Level::INFO)
        .collect();
    assert_eq!(closes.len(), 2, "{closes:?}");
    let server = &closes[0];
    assert_eq!(server.role.as_deref(), Some("server"));
    assert_eq!(server.message, "connection closed");
    assert_eq!(server.field("code"), "1000");
    assert_eq!(server.field("reason"), "bye");
    assert_eq!(server.field("initiator"), "peer");
    assert_eq!(server.field("clean"), "true");
    let client = &closes[1];
    assert_eq!(client.role.as_deref(), Some("client"));
    assert_eq!(client.field("code"), "1000");
    assert_eq!(client.field("initiator"), "us");
    assert_eq!(client.field("clean"), "true");

    // The phases each end went through, at DEBUG.
    let states: Vec<(String, String)> = capture
        .events()
        .into_iter()
        .filter(|e| e.level == Level::DEBUG && e.message == "state change")
        .map(|e| {
            let role = e.role.clone().unwrap_or_default();
            (role, format!("{} -> {}", e.field("from"), e.field("to")))
        })
        .collect();
    let expected = pairs(&[
        ("client", "Open -> CloseSent"),
        ("server", "Open -> Closed"),
        ("client", "CloseSent -> AwaitingEof"),
        ("client", "AwaitingEof -> Closed"),
    ]);
    assert_eq!(states, expected);
    assert!(capture.events().iter().all(|e| e.level != Level::WARN));
}

#[test]
fn a_protocol_violation_is_a_warning_then_a_close_started_by_the_error() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let mut ends = Ends::new(Config::default());
        // An unmasked text frame, which a server must refuse (RFC 6455 5.1).
        ends.server(|s| {
            s.handle_data(Instant::now(), &[0x81, 0x02, b'h', b'i']);
            while s.poll_event().is_some() {}
        });
    });
    let events = capture.events();
    let frame = events.iter().find(|e| e.level == Level::TRACE).unwrap();
    assert_eq!(
        frame.message, r#"< TEXT fin 2 B "hi""#,
        "the frame is traced before its failure"
    );
    let warn = events.iter().find(|e| e.level == Level::WARN).unwrap();
    assert_eq!(warn.role.as_deref(), Some("server"));
    assert_eq!(warn.field("code"), "1002");
    assert!(
        warn.message.starts_with("failing the connection"),
        "{warn:?}"
    );
    let info = events.iter().find(|e| e.level == Level::INFO).unwrap();
    assert_eq!(info.field("code"), "1002");
    assert_eq!(info.field("initiator"), "protocol error");
    assert_eq!(info.field("clean"), "false");
    assert_eq!(info.field("reason"), warn.field("error"));
}

#[test]
fn a_timer_that_fails_the_connection_is_a_warning_and_the_initiator() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let mut config = Config::default();
        config.idle_timeout = Some(Duration::from_secs(5));
        let mut ends = Ends::new(config);
        let later = ends.now + Duration::from_secs(6);
        ends.server(|s| {
            s.handle_timeout(later);
            while s.poll_event().is_some() {}
        });
    });
    let events = capture.events();
    let warn = events.iter().find(|e| e.level == Level::WARN).unwrap();
    assert_eq!(warn.field("code"), "1001");
    let info = events.iter().find(|e| e.level == Level::INFO).unwrap();
    assert_eq!(info.field("initiator"), "timer");
    assert_eq!(
        info.field("reason"),
        "nothing was received for the idle timeout"
    );
    assert_eq!(info.field("clean"), "false");
}

#[test]
fn the_handshakes_log_the_request_the_answer_and_what_was_agreed() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let now = Instant::now();
        let request = OutgoingRequest::new("example.com", "/chat?room=1").subprotocol("chat.v1");
        let mut client = ClientHandshake::new(request, Config::default(), [7; 16], now).unwrap();
        let mut server = ServerHandshake::new(Config::default(), now);
        let mut wire = Vec::new();
        client.write_request(&mut wire);
        server.handle_data(&wire).unwrap().unwrap();
        let mut answer = Vec::new();
        server
            .accept(Accept::new().subprotocol("chat.v1"), &mut answer)
            .unwrap();
        client.handle_data(&answer).unwrap().unwrap();

        // A refusal, seen from both ends.
        let request = OutgoingRequest::new("example.com", "/private");
        let mut client = ClientHandshake::new(request, Config::default(), [8; 16], now).unwrap();
        let mut server = ServerHandshake::new(Config::default(), now);
        let mut wire = Vec::new();
        client.write_request(&mut wire);
        server.handle_data(&wire).unwrap().unwrap();
        let mut answer = Vec::new();
        server.reject(Reject::new(403), &mut answer).unwrap();
        assert!(client.handle_data(&answer).is_err());
    });
    let lines: Vec<String> = capture
        .lines(Level::DEBUG, "weft_proto::handshake")
        .into_iter()
        .map(|(_, message)| message)
        .collect();
    assert_eq!(
        lines,
        [
            "> GET /chat?room=1 HTTP/1.1",
            "< GET /chat?room=1 HTTP/1.1",
            "> HTTP/1.1 101 Switching Protocols",
            "< HTTP/1.1 101 Switching Protocols",
            "handshake accepted",
            "> GET /private HTTP/1.1",
            "< GET /private HTTP/1.1",
            "> HTTP/1.1 403 Forbidden",
            "< HTTP/1.1 403 Forbidden",
            "opening handshake failed",
        ]
    );
    let events = capture.events();
    let by_message = |m: &str| events.iter().find(|e| e.message == m).unwrap();
    assert_eq!(
        by_message("> GET /chat?room=1 HTTP/1.1").field("host"),
        "example.com"
    );
    assert_eq!(
        by_message("> GET /chat?room=1 HTTP/1.1").field("subprotocols"),
        r#"["chat.v1"]"#
    );
    assert_eq!(
        by_message("> HTTP/1.1 101 Switching Protocols").field("subprotocol"),
        r#"Some("chat.v1")"#
    );
    assert_eq!(
        by_message("handshake accepted").field("subprotocol"),
        r#"Some("chat.v1")"#
    );
    assert_eq!(
        by_message("> HTTP/1.1 403 Forbidden").field("status"),
        "403"
    );
    assert_eq!(
        by_message("< HTTP/1.1 403 Forbidden").field("status"),
        "403"
    );
}
