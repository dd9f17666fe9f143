//! Sends each line of stdin as a text message as soon as it is read, prints
//! each message received on its own line, and when stdin ends closes with
//! 1000, waits for the closing handshake, and exits.
//!
//! `cargo run --release -p weft-std --example client -- ws://127.0.0.1:9001`

use std::io::BufRead;

use weft_std::weft_proto::CloseCode;
use weft_std::{connect, Message};

fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client URL");
        std::process::exit(2);
    };
    let (ws, _) = match connect(&url) {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let (mut reader, writer) = match ws.split() {
        Ok(halves) => halves,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // Stdin on its own thread: each line goes out as soon as it is read.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if writer.send(line).is_err() {
                return;
            }
        }
        let _ = writer.close(CloseCode::NORMAL, "");
    });
    loop {
        match reader.read() {
            Ok(Some(Message::Text(text))) => println!("{text}"),
            Ok(Some(Message::Binary(data))) => println!("<binary {} bytes>", data.len()),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    match reader.close_reason() {
        Some(reason) if reason.is_clean() => {}
        Some(reason) => {
            eprintln!("{reason}");
            std::process::exit(1);
        }
        None => std::process::exit(1),
    }
}
