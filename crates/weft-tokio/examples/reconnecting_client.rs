//! A client that stays connected: it sends a numbered message every 100 ms
//! with at-least-once delivery and acknowledges each when its echo comes
//! back; stop the server, start it again, and every message still arrives.
//!
//! ```text
//! cargo run -p weft-tokio --example echo_server -- 127.0.0.1:9001
//! cargo run -p weft-tokio --example reconnecting_client -- ws://127.0.0.1:9001 50
//! ```
//!
//! Logs go to stderr; set `RUST_LOG` (e.g. `weft_tokio=info`) with a
//! tracing subscriber installed to see them.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::SinkExt;
use weft_tokio::reconnect::{self, ClientEvent, ReconnectOptions, ReconnectPolicy};
use weft_tokio::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(50);

    let policy = ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(200))
        .max_delay(Duration::from_secs(5));
    let mut client = reconnect::connect(url)
        .reconnect(ReconnectOptions::new().policy(policy))
        // Runs on every connection before the queue is written: where an
        // application authenticates or subscribes again.
        .on_connect(|ws| Box::pin(async move { ws.send(Message::text("hello")).await }))
        .start();

    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let (mut sent, mut pending) = (0, HashMap::new());
    loop {
        tokio::select! {
            _ = ticker.tick(), if sent < count => {
                let text = format!("message {sent}");
                let id = client.send_reliable(text.as_str()).expect("the queue has room").id;
                pending.insert(text, id);
                sent += 1;
            }
            event = client.next_event() => match event {
                // The echo is this protocol's acknowledgement.
                Some(ClientEvent::Message(Message::Text(text))) => {
                    if let Some(id) = pending.remove(text.as_str()) {
                        client.ack(id);
                        println!("acknowledged: {text}");
                    }
                    if sent == count && pending.is_empty() {
                        client.close(None);
                    }
                }
                Some(ClientEvent::Connecting { attempt }) => eprintln!("connecting (attempt {attempt})"),
                Some(ClientEvent::Connected { .. }) => eprintln!("connected"),
                Some(ClientEvent::Disconnected { cause, retry_in }) => {
                    eprintln!("disconnected: {cause}; retrying in {retry_in:?}")
                }
                Some(ClientEvent::GaveUp { cause }) => {
                    eprintln!("gave up: {cause}");
                    std::process::exit(1);
                }
                Some(ClientEvent::Closed(reason)) => eprintln!("closed: {reason:?}"),
                Some(_) => {}
                None => break,
            }
        }
    }
    println!("{count} messages sent, every one acknowledged");
}
