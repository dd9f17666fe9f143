//! WebSockets for [axum] on the Weft engine.
//!
//! [`WebSocketUpgrade`] is an extractor in the shape axum users know
//! (`protocols`, `on_failed_upgrade`, `on_upgrade`), with what axum's own
//! lacks: permessage-deflate negotiated (RFC 7692), an origin check on by
//! default, and Weft's limits, timers and conformance. It answers HTTP/1.1
//! upgrades (101) and HTTP/2 extended CONNECT (RFC 8441, 200); `axum::serve`
//! enables the latter.
//!
//! ```no_run
//! use axum::response::Response;
//! use axum::routing::get;
//! use axum::Router;
//! use futures_util::{SinkExt, StreamExt};
//! use weft_axum::{WebSocket, WebSocketUpgrade};
//!
//! async fn ws(upgrade: WebSocketUpgrade) -> Response {
//!     upgrade.protocols(["chat.v1"]).on_upgrade(echo)
//! }
//!
//! async fn echo(mut ws: WebSocket) {
//!     while let Some(Ok(message)) = ws.next().await {
//!         if ws.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/", get(|| async { "an ordinary page" }))
//!     .route("/ws", get(ws).connect(ws));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! Route the endpoint with `get` for HTTP/1.1 and `connect` for HTTP/2
//! (`any` takes both).
//!
//! # Origins
//!
//! A browser opens WebSockets to any site with that site's cookies, and
//! says which page asked in `Origin`. By default a request whose `Origin`
//! names another host than the request's is refused with 403
//! ([`OriginPolicy::SameHost`], the defence against cross-site WebSocket
//! hijacking); a request without `Origin` (not a browser) is let through.
//! [`WebSocketUpgrade::origin_policy`] changes that.
//!
//! # Refusals
//!
//! A request that is no valid WebSocket handshake is refused with the
//! status the core gives it ([`WebSocketUpgradeRejection`]): 405 for
//! another method, 400 for a missing or wrong header or a request with a
//! body, 426 for another WebSocket version (with `Sec-WebSocket-Version:
//! 13`) or a connection that cannot be upgraded, 505 for HTTP/1.0.
//!
//! [axum]: https://docs.rs/axum

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod on_failed;
mod rejection;
mod upgrade;

pub use on_failed::{DefaultOnFailedUpgrade, OnFailedUpgrade};
pub use rejection::WebSocketUpgradeRejection;
pub use upgrade::{WebSocket, WebSocketUpgrade};

pub use weft_tokio::weft_proto::handshake::OriginPolicy;
pub use weft_tokio::{self, CloseCode, CloseFrame, Config, Error, IncomingRequest, Message};
