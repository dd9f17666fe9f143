//! The span a connection's events are recorded in (feature `tracing`):
//! `websocket`, with the connection's role, its peer's address once known
//! and an id unique in the process. Every call into the core runs inside
//! it, so the core's own events (frames, state changes, the close) carry
//! those fields; so do the transport failures this crate reports.
//!
//! Without the feature, [`ConnectionSpan`] holds nothing and each method
//! does nothing.

use std::io;
use std::net::SocketAddr;
#[cfg(feature = "tracing")]
use std::sync::atomic::{AtomicU64, Ordering};

use weft_proto::Role;

/// The next connection's id: one counter for the process, so that an id
/// names one connection in any log.
#[cfg(feature = "tracing")]
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A connection's span.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl ConnectionSpan {
    /// A new span for a connection in `role`, with a fresh id and no peer
    /// yet. At INFO, so that it frames the close (INFO) and the failures
    /// (WARN) of a subscriber that shows only those.
    pub(crate) fn new(role: Role) -> Self {
        #[cfg(not(feature = "tracing"))]
        let _ = role;
        ConnectionSpan {
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                "websocket",
                %role,
                peer = tracing::field::Empty,
                id = NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ),
        }
    }

    /// Runs `f` inside the span: whatever it logs carries the span's fields.
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        self.span.in_scope(f)
    }

    /// Runs `f`.
    #[cfg(not(feature = "tracing"))]
    #[inline]
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }

    /// `fut`, run inside the span each time it is polled: for the opening
    /// handshake, whose events come before the connection exists.
    #[cfg(feature = "tracing")]
    pub(crate) fn instrument<F: std::future::Future>(
        &self,
        fut: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(fut, self.span.clone())
    }

    /// `fut`, unchanged.
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn instrument<F: std::future::Future>(&self, fut: F) -> F {
        fut
    }

    /// Records the peer's address, for a transport that has one.
    pub(crate) fn record_peer(&self, peer: SocketAddr) {
        #[cfg(feature = "tracing")]
        self.span.record("peer", tracing::field::display(peer));
        #[cfg(not(feature = "tracing"))]
        let _ = peer;
    }
}

/// The transport failed while `doing` (reading, writing). While the
/// connection is `open` (it has not ended) that loses the connection, a
/// warning; after its end it only cuts short the last bytes, which the
/// close already accounts for.
pub(crate) fn transport_failed(doing: &str, error: &io::Error, open: bool) {
    #[cfg(feature = "tracing")]
    if open {
        tracing::warn!(%error, "transport failed while {doing}");
    } else {
        tracing::debug!(%error, "transport failed while {doing}, after the end");
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (doing, error, open);
}

/// The peer did not take the connection's last bytes within the close
/// timeout after its end: the transport is given up.
pub(crate) fn gave_up_lingering() {
    #[cfg(feature = "tracing")]
    tracing::debug!("the peer did not read the last bytes within the close timeout; giving up");
}
