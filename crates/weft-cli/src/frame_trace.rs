//! `-vv`: a line per frame on stderr, from the engine's own frame events
//! (`weft_proto::frame`, TRACE): the time since start, then the frame as
//! `weft_proto::FrameInfo` displays it (`> TEXT fin masked 5 B`).

use std::fmt;
use std::time::Instant;

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
        let mut line = String::new();
        event.record(&mut Message(&mut line));
        eprintln!("{:>10.6} {line}", self.start.elapsed().as_secs_f64());
    }
}

/// Frame events, and the engine's question whether they are wanted.
fn wanted(metadata: &Metadata<'_>) -> bool {
    !metadata.is_span() && metadata.target() == FRAMES
}

/// Takes an event's message field.
struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
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
