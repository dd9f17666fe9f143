//! The client testee for the Autobahn|Testsuite: echoes every message of
//! every case (protocol in shared/tools/autobahn/run.sh).
//!
//! `AUTOBAHN_URL=ws://127.0.0.1:9001 AUTOBAHN_AGENT=weft-tokio cargo run --release -p weft-tokio --example autobahn_client`

use futures_util::{SinkExt, StreamExt};
use weft_tokio::{connect_with, ClientOptions, Error, Message};

fn options() -> ClientOptions {
    let config = weft_tokio::default_config()
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20);
    ClientOptions::new().config(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let url = std::env::var("AUTOBAHN_URL").unwrap_or_else(|_| "ws://127.0.0.1:9001".into());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "weft-tokio".into());

    let (mut ws, _) = connect_with(&format!("{url}/getCaseCount"), options()).await?;
    let mut count = 0u32;
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            count = text
                .parse()
                .map_err(|_| Error::Url(format!("bad case count {text:?}")))?;
        }
    }

    for case in 1..=count {
        let url = format!("{url}/runCase?case={case}&agent={agent}");
        let Ok((mut ws, _)) = connect_with(&url, options()).await else {
            continue;
        };
        // A case ends when the connection does, cleanly or not.
        while let Some(Ok(message)) = ws.next().await {
            if message.is_data() {
                match ws.send(message).await {
                    Ok(()) | Err(Error::Send(_)) => {}
                    Err(_) => break,
                }
            }
        }
    }

    let (mut ws, _) =
        connect_with(&format!("{url}/updateReports?agent={agent}"), options()).await?;
    while let Some(message) = ws.next().await {
        message?;
    }
    Ok(())
}
