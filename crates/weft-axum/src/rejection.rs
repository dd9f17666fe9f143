//! Why a request could not be extracted as a [`WebSocketUpgrade`]
//! ([`WebSocketUpgradeRejection`]), answered with its HTTP status.
//!
//! [`WebSocketUpgrade`]: crate::WebSocketUpgrade

use std::fmt;

use axum::response::{IntoResponse, Response};
use weft_tokio::weft_proto::HandshakeError;

/// Why a request is no WebSocket upgrade this server can take, and the
/// response it gets.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebSocketUpgradeRejection {
    /// The request breaks RFC 6455 4.2.1 or RFC 8441 4-5; the error gives
    /// the status: 405 (another method), 400 (a missing or wrong header, a
    /// body), 426 (another WebSocket version), 505 (HTTP/1.0).
    Handshake(HandshakeError),
    /// The request is a valid handshake but its connection cannot be
    /// upgraded: the server did not keep hyper's upgrade handle (426).
    ConnectionNotUpgradable,
}

impl WebSocketUpgradeRejection {
    /// The status the rejection answers with.
    pub fn status(&self) -> http::StatusCode {
        let code = match self {
            WebSocketUpgradeRejection::Handshake(e) => e.status().unwrap_or(400),
            WebSocketUpgradeRejection::ConnectionNotUpgradable => 426,
        };
        http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_REQUEST)
    }
}

impl fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebSocketUpgradeRejection::Handshake(e) => e.fmt(f),
            WebSocketUpgradeRejection::ConnectionNotUpgradable => f.write_str(
                "the connection cannot be upgraded: hyper's upgrade handle is missing \
                 (is the server axum::serve or hyper with upgrades on?)",
            ),
        }
    }
}

impl std::error::Error for WebSocketUpgradeRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WebSocketUpgradeRejection::Handshake(e) => Some(e),
            WebSocketUpgradeRejection::ConnectionNotUpgradable => None,
        }
    }
}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        let response = match &self {
            WebSocketUpgradeRejection::Handshake(e) => e.to_http(),
            WebSocketUpgradeRejection::ConnectionNotUpgradable => None,
        };
        match response {
            Some(response) => response.map(axum::body::Body::from),
            None => (self.status(), format!("{self}\n")).into_response(),
        }
    }
}
