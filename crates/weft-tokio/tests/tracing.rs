//! The connection span (feature `tracing`): over a real loopback
//! connection, the core's events land inside a `websocket` span that
//! carries the connection's role and an id of its own.

#![cfg(feature = "tracing")]

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use weft_tokio::Message;

// ----- a subscriber that keeps every event with its span -----

/// A span as the subscriber saw it: its name and fields.
#[derive(Clone, Debug, Default)]
struct SpanSeen {
    name: String,
    fields: BTreeMap<String, String>,
}

/// One event, with the innermost span it happened in.
#[derive(Clone, Debug)]
struct Logged {
    level: Level,
    target: String,
    message: String,
    fields: BTreeMap<String, String>,
    span: Option<SpanSeen>,
}

#[derive(Default)]
struct Store {
    spans: HashMap<u64, SpanSeen>,
    events: Vec<Logged>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Store>>);

thread_local! {
    /// The spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

static NEXT_SPAN: AtomicU64 = AtomicU64::new(1);

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
        let mut seen = SpanSeen {
            name: span.metadata().name().to_owned(),
            fields: BTreeMap::new(),
        };
        span.record(&mut Fields(&mut seen.fields));
        self.0.lock().unwrap().spans.insert(id, seen);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut store = self.0.lock().unwrap();
        if let Some(seen) = store.spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let mut store = self.0.lock().unwrap();
        let innermost = ENTERED.with(|e| e.borrow().last().copied());
        let span = innermost.and_then(|id| store.spans.get(&id).cloned());
        store.events.push(Logged {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message,
            fields,
            span,
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

// ----- the test -----

/// Runs on one thread (tokio's current-thread runtime), where the
/// subscriber set for the test sees both ends' tasks.
#[tokio::test]
async fn the_core_events_of_a_loopback_connection_land_in_a_span_with_role_and_id() {
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = weft_tokio::accept(tcp).await.unwrap();
        while let Some(message) = ws.next().await {
            let message = message.unwrap();
            if message.is_data() {
                ws.send(message).await.unwrap();
            }
        }
    });
    let (mut ws, _) = weft_tokio::connect(&url).await.unwrap();
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
    ws.send(Message::Close(None)).await.unwrap();
    while let Some(message) = ws.next().await {
        message.unwrap();
    }
    server.await.unwrap();

    let events = capture.0.lock().unwrap().events.clone();
    let frames: Vec<&Logged> = events
        .iter()
        .filter(|e| e.target == "weft_proto::frame")
        .collect();
    // Both ends see the text, its echo, the close and its echo, each once
    // sent and once received.
    assert_eq!(frames.len(), 8, "{frames:#?}");
    let mut ids = BTreeMap::new();
    for frame in &frames {
        let span = frame
            .span
            .as_ref()
            .unwrap_or_else(|| panic!("a frame outside any span: {frame:?}"));
        assert_eq!(span.name, "websocket");
        let role = span.fields.get("role").expect("the span has a role");
        let id: u64 = span
            .fields
            .get("id")
            .expect("the span has an id")
            .parse()
            .expect("the id is a number");
        // A client masks what it sends; a server receives masked frames.
        let sent = frame.fields["direction"] == "sent";
        let masked = frame.fields["masked"] == "true";
        let expected_role = if sent == masked { "client" } else { "server" };
        assert_eq!(role, expected_role, "{frame:?}");
        // One id per connection end, the same for all its events.
        assert_eq!(*ids.entry(role.clone()).or_insert(id), id, "{frame:?}");
    }
    assert_eq!(ids.len(), 2, "both ends logged frames: {ids:?}");
    assert_ne!(ids["client"], ids["server"]);

    // The end of each connection, at INFO, inside the span of its end.
    let mut closes: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.level == Level::INFO && e.message == "connection closed")
        .map(|e| {
            let span = e.span.as_ref().expect("the close is inside the span");
            (span.fields["role"].clone(), e.fields["initiator"].clone())
        })
        .collect();
    closes.sort();
    assert_eq!(
        closes,
        [
            ("client".to_owned(), "us".to_owned()),
            ("server".to_owned(), "peer".to_owned())
        ]
    );
    assert!(
        events.iter().all(|e| e.level != Level::WARN),
        "a clean exchange warns of nothing: {events:#?}"
    );
}
