//! The extractor ([`WebSocketUpgrade`]) and the answer it makes.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use hyper::upgrade::OnUpgrade;
use weft_tokio::hyper::{UpgradedStream, Upgrading};
use weft_tokio::weft_proto::handshake::{Accept, Answer, IncomingRequest, OriginPolicy};
use weft_tokio::{Config, Error, WebSocketStream};

use crate::on_failed::{DefaultOnFailedUpgrade, OnFailedUpgrade};
use crate::rejection::WebSocketUpgradeRejection;

/// An accepted WebSocket: a `Stream` of messages and a `Sink` for them
/// (see [`WebSocketStream`]).
pub type WebSocket = WebSocketStream<UpgradedStream>;

/// Extracts a WebSocket handshake request (HTTP/1.1 `GET` upgrade or
/// HTTP/2 extended CONNECT) and answers it with
/// [`on_upgrade`](Self::on_upgrade).
///
/// Defaults: [`weft_tokio::default_config`] (Weft's limits and timers,
/// permessage-deflate negotiated when the client offers it), no
/// subprotocol, [`OriginPolicy::SameHost`].
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    request: IncomingRequest,
    on_upgrade: OnUpgrade,
    config: Config,
    origin_policy: OriginPolicy,
    accept: Accept,
    protocol: Option<String>,
    on_failed_upgrade: F,
}

impl<F> std::fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("request", &self.request)
            .field("config", &self.config)
            .field("origin_policy", &self.origin_policy)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let protocol = parts
            .extensions
            .get::<hyper::ext::Protocol>()
            .map(|p| p.as_str().to_owned());
        let request = IncomingRequest::from_http(parts, protocol.as_deref())
            .map_err(WebSocketUpgradeRejection::Handshake)?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(WebSocketUpgradeRejection::ConnectionNotUpgradable)?;
        Ok(WebSocketUpgrade {
            request,
            on_upgrade,
            config: weft_tokio::default_config(),
            origin_policy: OriginPolicy::default(),
            accept: Accept::new(),
            protocol: None,
            on_failed_upgrade: DefaultOnFailedUpgrade,
        })
    }
}

impl<F> WebSocketUpgrade<F> {
    /// The request: path, query, headers, `Origin`, subprotocols and
    /// extensions offered.
    pub fn request(&self) -> &IncomingRequest {
        &self.request
    }

    /// Chooses the first of `protocols` (the server's order of preference)
    /// that the client offered, if any. Without a match, no subprotocol is
    /// chosen and the client decides whether to go on.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.protocol = protocols
            .into_iter()
            .map(Into::into)
            .find(|p| self.request.subprotocols().contains(p));
        self
    }

    /// The subprotocol chosen by [`protocols`](Self::protocols), if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The connection's limits, timers and compression. Default:
    /// [`weft_tokio::default_config`].
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Whether to accept a permessage-deflate offer (when the config
    /// enables it). Default: `true`.
    pub fn compression(mut self, on: bool) -> Self {
        self.accept = self.accept.compression(on);
        self
    }

    /// Adds a header to the accepting response (a `Set-Cookie`, say).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.accept = self.accept.header(name, value);
        self
    }

    /// Which origins may connect. Default: [`OriginPolicy::SameHost`].
    pub fn origin_policy(mut self, policy: OriginPolicy) -> Self {
        self.origin_policy = policy;
        self
    }

    /// Calls `callback` when the WebSocket cannot start after all: the
    /// client went away before the connection was handed over.
    pub fn on_failed_upgrade<C: OnFailedUpgrade>(self, callback: C) -> WebSocketUpgrade<C> {
        WebSocketUpgrade {
            request: self.request,
            on_upgrade: self.on_upgrade,
            config: self.config,
            origin_policy: self.origin_policy,
            accept: self.accept,
            protocol: self.protocol,
            on_failed_upgrade: callback,
        }
    }

    /// Answers the request and, once the connection is handed over, runs
    /// `callback` with the WebSocket in a task of its own. Returns the
    /// response to send: 101 (HTTP/1.1) or 200 (HTTP/2) with what was
    /// agreed, 403 if the origin policy refuses the request's `Origin`, or
    /// 500 if the answer cannot be sent (a header that would break it).
    #[must_use = "the WebSocket starts only once this response is returned"]
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        if let Err(reject) = self.origin_policy.check(&self.request) {
            return reject.to_http().map(axum::body::Body::from);
        }
        let mut accept = self.accept;
        if let Some(protocol) = self.protocol {
            accept = accept.subprotocol(protocol);
        }
        let answer = match Answer::new(&self.request, accept, self.config) {
            Ok(answer) => answer,
            Err(e) => {
                let response = (
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error\n",
                )
                    .into_response();
                self.on_failed_upgrade.call(Error::Handshake(e));
                return response;
            }
        };
        let response = answer.to_http().map(|()| axum::body::Body::empty());
        let upgrading = Upgrading::new(self.on_upgrade, answer);
        let on_failed_upgrade = self.on_failed_upgrade;
        tokio::spawn(async move {
            match upgrading.await {
                Ok(ws) => callback(ws).await,
                Err(e) => on_failed_upgrade.call(e),
            }
        });
        response
    }
}
