//! Serving WebSockets from a hyper 1 server (feature `hyper`): HTTP/1.1
//! upgrades and HTTP/2 extended CONNECT (RFC 8441), with subprotocols,
//! permessage-deflate and the application's accept-or-reject decision, as
//! [`accept_with`](crate::accept_with) has them.
//!
//! hyper reads the request and writes the response; [`upgrade`] checks
//! the request, decides the answer, and returns the response to send and
//! an [`Upgrading`] future that becomes the [`WebSocketStream`] once hyper
//! hands over the connection. Bytes the client sent right after its
//! request, which hyper may already have read, reach the WebSocket first.
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use futures_util::{SinkExt, StreamExt};
//! use http_body_util::Full;
//! use hyper::{Request, Response};
//! use weft_tokio::hyper::{is_upgrade_request, upgrade};
//! use weft_tokio::{Accept, Config};
//!
//! async fn handle(
//!     mut request: Request<hyper::body::Incoming>,
//! ) -> Result<Response<Full<Bytes>>, Infallible> {
//!     if !is_upgrade_request(&request) {
//!         return Ok(Response::new(Full::from("an ordinary page")));
//!     }
//!     match upgrade(&mut request, Config::default(), |_| Ok(Accept::new())) {
//!         Ok((response, upgrading)) => {
//!             tokio::spawn(async move {
//!                 let Ok(mut ws) = upgrading.await else { return };
//!                 while let Some(Ok(message)) = ws.next().await {
//!                     if ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         // 400, 403, 405, 426...: the answer says why.
//!         Err(refusal) => Ok(refusal),
//!     }
//! }
//! ```
//!
//! For HTTP/2, build hyper's server with
//! `http2::Builder::enable_connect_protocol()`, so that clients know they
//! may open WebSockets with extended CONNECT (RFC 8441 3). An HTTP/1
//! server must be run `.with_upgrades()`: without it hyper sends the 101
//! and then fails the upgrade ([`Upgrading`] fails with [`Error::Io`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use ::hyper::upgrade::{OnUpgrade, Upgraded};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use weft_proto::handshake::{
    Accept, Answer, HandshakeError, IncomingRequest, OriginPolicy, Reject,
};
use weft_proto::Config;

use crate::driver::ConnectionSpan;
use crate::{Error, Role, WebSocketStream};

/// The stream a WebSocket upgraded by hyper runs over.
pub type UpgradedStream = TokioIo<Upgraded>;

/// Whether `request` asks for a WebSocket: a `GET` with
/// `Upgrade: websocket` (HTTP/1.1), or a `CONNECT` with the `:protocol`
/// pseudo-header `websocket` (HTTP/2, RFC 8441). Route other requests as
/// usual; [`upgrade`] checks the rest.
pub fn is_upgrade_request<B>(request: &http::Request<B>) -> bool {
    if request.method() == http::Method::CONNECT {
        return protocol(request).is_some_and(|p| p.eq_ignore_ascii_case("websocket"));
    }
    request.method() == http::Method::GET
        && request
            .headers()
            .get_all(http::header::UPGRADE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
}

/// The request's `:protocol` (RFC 8441), where hyper's HTTP/2 server put it.
fn protocol<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<::hyper::ext::Protocol>()
        .map(|p| p.as_str())
}

/// The request as the handshake sees it: checked as RFC 6455 (HTTP/1.1)
/// or RFC 8441 (HTTP/2) has it. An error carries the status to answer
/// with ([`HandshakeError::to_http`]).
pub fn incoming_request<B>(request: &http::Request<B>) -> Result<IncomingRequest, HandshakeError> {
    // `http::Request` has no `Parts` to lend without its body, so the
    // head is rebuilt: method, URI, version and headers.
    let mut head = http::Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    let (parts, ()) = head.into_parts();
    IncomingRequest::from_http(&parts, protocol(request))
}

/// Answers a WebSocket request received by hyper: checks it, lets
/// `decide` accept it (subprotocol, headers, compression) or reject it
/// (any status, headers, body), and returns the response to send with the
/// [`Upgrading`] future that becomes the WebSocket once it is sent.
///
/// `Err` is the response to send instead: the core's status for a request
/// that is no valid handshake (400, 405, 426, 505), 426 if the request
/// carries no upgrade handle of hyper's (it did not come through hyper's
/// server), the application's rejection, or 500 if its answer cannot be sent (a
/// subprotocol the client did not offer). An upgrade request that carries a body is
/// refused with 400.
///
/// permessage-deflate is negotiated as `config.deflate` says
/// ([`weft_io::default_config`] turns it on). The response is 101 over
/// HTTP/1.1 and 200 over HTTP/2. Spawn a task that awaits the
/// [`Upgrading`] future: hyper completes the upgrade once the response has
/// been written.
pub fn upgrade<B, R, F>(
    request: &mut http::Request<B>,
    config: Config,
    decide: F,
) -> Result<(http::Response<R>, Upgrading), http::Response<R>>
where
    R: From<Bytes>,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    let span = ConnectionSpan::new(Role::Server);
    let incoming = match span.in_scope(|| incoming_request(request)) {
        Ok(incoming) => incoming,
        Err(e) => return Err(error_response(&e)),
    };
    // A request without hyper's upgrade handle (one that did not come
    // through hyper's server) has no connection to hand over: no 101.
    if request.extensions().get::<OnUpgrade>().is_none() {
        let refusal = Reject::new(426)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body("this server cannot upgrade the connection\n");
        return Err(refusal.to_http().map(R::from));
    }
    let accept = match decide(&incoming) {
        Ok(accept) => accept,
        Err(reject) => return Err(reject.to_http().map(R::from)),
    };
    let answer = match span.in_scope(|| Answer::new(&incoming, accept, config)) {
        Ok(answer) => answer,
        // The application's answer cannot be sent: the client is told
        // something went wrong here.
        Err(_) => return Err(Reject::new(500).to_http().map(R::from)),
    };
    let on_upgrade = ::hyper::upgrade::on(request);
    let response = answer.to_http().map(|()| R::from(Bytes::new()));
    Ok((response, Upgrading::with_span(on_upgrade, answer, span)))
}

/// [`upgrade`] with `policy` checked first: a request from an origin it
/// does not allow is refused with 403 before `decide` sees it.
pub fn upgrade_checking_origin<B, R, F>(
    request: &mut http::Request<B>,
    config: Config,
    policy: &OriginPolicy,
    decide: F,
) -> Result<(http::Response<R>, Upgrading), http::Response<R>>
where
    R: From<Bytes>,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    upgrade(request, config, |incoming| {
        policy.check(incoming)?;
        decide(incoming)
    })
}

/// The response for a request that is no valid handshake.
fn error_response<R: From<Bytes>>(e: &HandshakeError) -> http::Response<R> {
    e.to_http()
        .unwrap_or_else(|| Reject::new(400).to_http())
        .map(R::from)
}

/// The WebSocket of an accepted [`upgrade`], once hyper has sent the
/// response and handed over the connection. Fails with [`Error::Io`] if
/// the connection closed first.
#[must_use = "the WebSocket exists only once this future is awaited"]
pub struct Upgrading {
    on_upgrade: OnUpgrade,
    answer: Option<Answer>,
    span: Option<ConnectionSpan>,
}

impl Upgrading {
    /// The WebSocket that `answer` accepted, once `on_upgrade` (taken from
    /// the request with `hyper::upgrade::on`, or from its extensions) has
    /// the connection. For servers that check the request and write the
    /// response themselves, as `weft-axum` does; [`upgrade`] does both.
    pub fn new(on_upgrade: OnUpgrade, answer: Answer) -> Upgrading {
        Upgrading::with_span(on_upgrade, answer, ConnectionSpan::new(Role::Server))
    }

    fn with_span(on_upgrade: OnUpgrade, answer: Answer, span: ConnectionSpan) -> Upgrading {
        Upgrading {
            on_upgrade,
            answer: Some(answer),
            span: Some(span),
        }
    }
}

impl std::fmt::Debug for Upgrading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrading")
            .field("answer", &self.answer)
            .finish_non_exhaustive()
    }
}

impl Future for Upgrading {
    type Output = Result<WebSocketStream<UpgradedStream>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = ready!(Pin::new(&mut self.on_upgrade).poll(cx));
        let (Some(answer), Some(span)) = (self.answer.take(), self.span.take()) else {
            return Poll::Ready(Err(Error::Io(io::Error::other(
                "the upgrade was already completed",
            ))));
        };
        let upgraded = match upgraded {
            Ok(upgraded) => upgraded,
            Err(e) => return Poll::Ready(Err(Error::Io(io::Error::other(e)))),
        };
        // hyper's `Upgraded` gives back first the bytes it read past the
        // request, so the connection reads them before the rest.
        let conn = span.in_scope(|| answer.into_connection(Instant::now()));
        Poll::Ready(Ok(WebSocketStream::from_connection_in(
            TokioIo::new(upgraded),
            conn,
            span,
        )))
    }
}
