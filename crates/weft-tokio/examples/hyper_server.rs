//! WebSockets from a hyper 1 server: ordinary requests get a page, upgrade
//! requests to `/ws` an echo with permessage-deflate and the `echo`
//! subprotocol when offered; HTTP/1.1 and HTTP/2 (h2c with prior
//! knowledge, extended CONNECT enabled) on one port, pages of other origins
//! refused.
//!
//! ```sh
//! cargo run -p weft-tokio --features hyper --example hyper_server -- 127.0.0.1:3000
//! weft connect ws://127.0.0.1:3000/ws
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use weft_tokio::hyper::{is_upgrade_request, upgrade_checking_origin};
use weft_tokio::{Accept, Message, OriginPolicy, Reject};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // RFC 8441 3: tell HTTP/2 clients they may use extended CONNECT.
            builder.http2().enable_connect_protocol();
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service_fn(handle))
                .await;
        });
    }
}

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !is_upgrade_request(&request) {
        return Ok(Response::new(Full::from(
            "hyper and Weft: WebSockets at /ws\n",
        )));
    }
    let answered = upgrade_checking_origin(
        &mut request,
        weft_tokio::default_config(),
        &OriginPolicy::SameHost,
        |incoming| {
            if incoming.path() != "/ws" {
                return Err(Reject::new(404).body("the WebSocket is at /ws\n"));
            }
            match incoming.subprotocols().iter().any(|p| p == "echo") {
                true => Ok(Accept::new().subprotocol("echo")),
                false => Ok(Accept::new()),
            }
        },
    );
    let (response, upgrading) = match answered {
        Ok(accepted) => accepted,
        Err(refusal) => return Ok(refusal),
    };
    tokio::spawn(async move {
        let Ok(mut ws) = upgrading.await else { return };
        while let Some(Ok(message)) = ws.next().await {
            if matches!(message, Message::Text(_) | Message::Binary(_))
                && ws.send(message).await.is_err()
            {
                break;
            }
        }
    });
    Ok(response)
}
