//! An axum app with ordinary routes and a WebSocket endpoint on one port:
//! `/` and `/health` answer as usual, `/ws` echoes over WebSockets with
//! permessage-deflate, over HTTP/1.1 (GET) and HTTP/2 (extended CONNECT,
//! h2c with prior knowledge on this plain port).
//!
//! ```sh
//! cargo run -p weft-axum --example axum_app -- 127.0.0.1:3000
//! weft connect ws://127.0.0.1:3000/ws
//! curl http://127.0.0.1:3000/health
//! ```

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use weft_axum::{Message, WebSocket, WebSocketUpgrade};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Weft on axum: WebSockets at /ws\n" }))
        .route("/health", get(|| async { "ok\n" }))
        // GET for HTTP/1.1 upgrades, CONNECT for HTTP/2 (RFC 8441).
        .route("/ws", get(ws).connect(ws))
}

async fn ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade.protocols(["echo"]).on_upgrade(echo)
}

/// Sends every text and binary message back until the client closes
/// (pings are answered by the engine itself).
async fn echo(mut ws: WebSocket) {
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            break;
        }
    }
}
