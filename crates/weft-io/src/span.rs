//! [`ConnectionSpan`]: the `tracing` span an adapter records a
//! connection's events in (feature `tracing`), and the adapters' own log
//! lines about the transport.
//!
//! The span is `websocket`, with the connection's role, its peer's address
//! once known, and an id unique in the process (one counter for both
//! adapters). Every call an adapter makes into the core runs inside it, so
//! the core's own events (frames, state changes, the close) carry those
//! fields; so do the transport failures the adapters report. Without the
//! feature, a `ConnectionSpan` holds nothing and each method does nothing.

use std::io;
use std::net::SocketAddr;
#[cfg(feature = "tracing")]
use std::sync::atomic::{AtomicU64, Ordering};

use weft_proto::Role;

/// The next connection's id.
#[cfg(feature = "tracing")]
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A connection's span (see the [module](self) docs).
///
/// ```
/// use weft_io::span::ConnectionSpan;
/// use weft_io::weft_proto::Role;
///
/// let span = ConnectionSpan::new(Role::Client);
/// span.record_peer("127.0.0.1:9001".parse().unwrap());
/// let answer = span.in_scope(|| 6 * 7); // events logged here carry the span
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// The span entered, until dropped.
#[must_use = "the span is left when the guard is dropped"]
pub struct Entered {
    #[cfg(feature = "tracing")]
    _entered: tracing::span::EnteredSpan,
}

impl ConnectionSpan {
    /// A new span for a connection in `role`, with a fresh id and no peer
    /// yet. At INFO, so that it frames the close (INFO) and the failures
    /// (WARN) for a subscriber that shows only those.
    pub fn new(role: Role) -> Self {
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

    /// Enters the span until the guard is dropped. The guard holds a
    /// handle of its own on the span (a reference count, and nothing at
    /// all while no subscriber wants the span), so that whatever holds the
    /// span stays free to borrow.
    pub fn enter(&self) -> Entered {
        Entered {
            #[cfg(feature = "tracing")]
            _entered: self.span.clone().entered(),
        }
    }

    /// Runs `f` inside the span.
    #[inline]
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(f);
        #[cfg(not(feature = "tracing"))]
        f()
    }

    /// `fut`, run inside the span each time it is polled: for an opening
    /// handshake, whose events come before the connection exists.
    #[cfg(feature = "tracing")]
    pub fn instrument<F: std::future::Future>(
        &self,
        fut: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(fut, self.span.clone())
    }

    /// `fut`, unchanged (no `tracing` feature).
    #[cfg(not(feature = "tracing"))]
    pub fn instrument<F: std::future::Future>(&self, fut: F) -> F {
        fut
    }

    /// Records the peer's address.
    pub fn record_peer(&self, peer: SocketAddr) {
        #[cfg(feature = "tracing")]
        self.span.record("peer", tracing::field::display(peer));
        #[cfg(not(feature = "tracing"))]
        let _ = peer;
    }
}

/// Logs that the transport failed while `doing` (reading, writing). While
/// the connection is `open` (it has not ended) that loses the connection:
/// a warning. After its end it only cuts short the last bytes, which the
/// close already accounts for: DEBUG.
pub fn transport_failed(doing: &str, error: &io::Error, open: bool) {
    #[cfg(feature = "tracing")]
    if open {
        tracing::warn!(%error, "transport failed while {doing}");
    } else {
        tracing::debug!(%error, "transport failed while {doing}, after the end");
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (doing, error, open);
}

/// Logs that the peer did not take a connection's last bytes within the
/// close timeout after its end, and the transport was given up.
pub fn gave_up_lingering() {
    #[cfg(feature = "tracing")]
    tracing::debug!("the peer did not read the last bytes within the close timeout; giving up");
}
