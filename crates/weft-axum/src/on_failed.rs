//! What happens when the upgrade fails after the response was sent
//! ([`OnFailedUpgrade`]).

use weft_tokio::Error;

/// Called when a WebSocket that was answered cannot start: the client
/// went away before hyper handed over the connection, or the origin
/// policy refused it.
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
