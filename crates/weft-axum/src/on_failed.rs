//! What happens when the upgrade fails after the response was sent
//! ([`OnFailedUpgrade`]).

use weft_tokio::Error;

/// Called when a WebSocket cannot start after all: the client went away
/// before hyper handed over the connection, or the application's answer
/// could not be sent (a header that would break it: the client gets 500).
/// A request the origin policy refuses gets its 403 without a call.
pub trait OnFailedUpgrade: Send + 'static {
    /// Handles the failure.
    fn call(self, error: Error);
}

impl<F> OnFailedUpgrade for F
where
    F: FnOnce(Error) + Send + 'static,
{
    fn call(self, error: Error) {
        self(error)
    }
}

/// The default: the failure is logged (at WARN, with the `tracing`
/// feature) and otherwise ignored.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, error: Error) {
        #[cfg(feature = "tracing")]
        tracing::warn!(%error, "websocket upgrade failed");
        #[cfg(not(feature = "tracing"))]
        let _ = error;
    }
}
