//! The progress display on stderr while `weft bench` runs (indicatif): the
//! time or the messages so far against the whole, and the rate. It is
//! drawn only on a terminal, so that logs and pipes get the summary alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::Length;

/// How often the display is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// Round trips completed so far, counted by every connection.
pub(crate) type Counter = Arc<AtomicU64>;

/// Draws the progress of a run of `length` until dropped.
pub(crate) struct Progress {
    task: tokio::task::JoinHandle<()>,
    bar: ProgressBar,
}

impl Progress {
    /// Starts drawing; `done` counts the round trips.
    pub(crate) fn start(length: Length, done: Counter) -> Progress {
        let (total, unit) = match length {
            Length::Time { warmup, measured } => ((warmup + measured).as_millis() as u64, "ms"),
            Length::Messages(n) => (n, "messages"),
        };
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template = format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let drawn = bar.clone();
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut last = (start, 0u64);
            let mut ticks = tokio::time::interval(TICK);
            loop {
                ticks.tick().await;
                let now = Instant::now();
                let count = done.load(Ordering::Relaxed);
                let rate =
                    (count - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-9);
                last = (now, count);
                match length {
                    Length::Time { .. } => drawn.set_position(start.elapsed().as_millis() as u64),
                    Length::Messages(_) => drawn.set_position(count),
                }
                drawn.set_message(format!("{count} round trips, {rate:.0}/s"));
            }
        });
        Progress { task, bar }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
