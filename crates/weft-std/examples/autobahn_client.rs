//! The client testee for the Autobahn|Testsuite: echoes every message of
//! every case (protocol in shared/tools/autobahn/run.sh).
//!
//! `AUTOBAHN_URL=ws://127.0.0.1:9001 AUTOBAHN_AGENT=weft-std cargo run --release -p weft-std --example autobahn_client`

use weft_std::{connect_with, ClientOptions, Error, Message};

fn options() -> ClientOptions {
    let config = weft_std::default_config()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    ClientOptions::new().config(config)
}

fn main() -> Result<(), Error> {
    let url = std::env::var("AUTOBAHN_URL").unwrap_or_else(|_| "ws://127.0.0.1:9001".into());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "weft-std".into());

    let (mut ws, _) = connect_with(&format!("{url}/getCaseCount"), options())?;
    let mut count = 0u32;
    while let Some(message) = ws.read()? {
        if let Message::Text(text) = message {
            count = text
                .parse()
                .map_err(|_| Error::Url(format!("bad case count {text:?}")))?;
        }
    }

    for case in 1..=count {
        let url = format!("{url}/runCase?case={case}&agent={agent}");
        let Ok((mut ws, _)) = connect_with(&url, options()) else {
            continue;
        };
        // A case ends when the connection does, cleanly or not.
        while let Ok(Some(message)) = ws.read() {
            if message.is_data() && ws.send(message).is_err() {
                break;
            }
        }
    }

    let (mut ws, _) = connect_with(&format!("{url}/updateReports?agent={agent}"), options())?;
    while ws.read()?.is_some() {}
    Ok(())
}
