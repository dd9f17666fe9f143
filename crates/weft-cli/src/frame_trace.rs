//! `-vv`: a line per frame on stderr, from the engine's own frame events
//! (`weft_proto::frame`, TRACE): the time since start, then the frame as
//! `weft_proto::FrameInfo` displays it, with a preview of the payload
//! (`> TEXT fin masked 5 B "hello"`); with `--jsonl`, a `frame` event
//! with each part of the frame as a field.

use std::fmt;
use std::time::Instant;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The engine's frame events.
const FRAMES: &str = "weft_proto::frame";

/// Prints frame events, and lets nothing else through.
struct FrameTrace {
    start: Instant,
}

impl<S: Subscriber> Layer<S> for FrameTrace {
    // Not only events: the engine asks `enabled!` (a hint) before it
    // builds a frame's description.
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if wanted(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        wanted(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if crate::jsonl::on() {
            crate::jsonl::emit("frame", Value::Object(fields.json));
        } else {
            let line = fields.message;
            eprintln!("{:>10.6} {line}", self.start.elapsed().as_secs_f64());
        }
    }
}

/// Frame events, and the engine's question whether they are wanted.
fn wanted(metadata: &Metadata<'_>) -> bool {
    !metadata.is_span() && metadata.target() == FRAMES
}

/// An event's message (the frame's line), and its other fields (the
/// frame's parts) for `--jsonl`.
#[derive(Default)]
struct Fields {
    message: String,
    json: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let value = format!("{value:?}");
        match field.name() {
            "message" => self.message = value,
            // The preview starts with the space that joins it to the line.
            name => {
                self.json.insert(name.into(), value.trim_start().into());
            }
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.json.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.json.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.json.insert(field.name().into(), value.into());
    }
}

/// Installs the frame trace for the whole process.
pub(crate) fn install() {
    let subscriber = tracing_subscriber::registry().with(FrameTrace {
        start: Instant::now(),
    });
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("weft: a trace subscriber is already installed; -vv shows no frames");
    }
}
