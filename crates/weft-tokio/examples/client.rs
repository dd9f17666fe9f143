//! A line-based client: sends each line of stdin as a text message as soon
//! as it is read, prints each message received on its own line (binary as
//! `<binary N bytes>`), and when stdin ends closes with 1000, waits for the
//! closing handshake, and exits.
//!
//! `cargo run --release -p weft-tokio --example client -- ws://127.0.0.1:9001`

use std::io::Write;
use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use weft_tokio::{Error, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client URL");
        return ExitCode::from(2);
    };
    let code = match run(&url).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    // Exit at once: tokio's stdin reader may be blocked in a read that the
    // runtime would otherwise wait for.
    std::process::exit(code)
}

async fn run(url: &str) -> Result<i32, Error> {
    let (ws, _) = weft_tokio::connect(url).await?;
    let (mut sender, mut receiver) = ws.split();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            // Cancel-safe: a line half read stays in the reader.
            line = lines.next_line(), if stdin_open => match line? {
                Some(line) => sender.send(Message::text(line)).await?,
                None => {
                    stdin_open = false;
                    // Sends 1000 unless the server closed first.
                    sender.close().await?;
                }
            },
            // Cancel-safe: nothing is lost if the other branch wins.
            message = receiver.next() => match message {
                Some(message) => print(message?)?,
                None => break,
            },
        }
    }
    match receiver.close_reason() {
        Some(reason) if reason.is_clean() => Ok(0),
        Some(reason) => {
            eprintln!("connection ended: {reason}");
            Ok(1)
        }
        None => Ok(1),
    }
}

fn print(message: Message) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match message {
        Message::Text(text) => writeln!(stdout, "{text}")?,
        Message::Binary(data) => writeln!(stdout, "<binary {} bytes>", data.len())?,
        _ => return Ok(()),
    }
    stdout.flush()
}
