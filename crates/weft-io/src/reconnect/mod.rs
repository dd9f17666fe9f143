//! The runtime-free core of reconnecting clients, shared by the `weft-std`
//! and `weft-tokio` adapters: the backoff between attempts, why a
//! connection was lost and whether to try again, and the queue of messages
//! that outlives each connection.
//!
//! Nothing here does I/O, reads a clock or sleeps: every method that
//! depends on time takes `now`, and randomness comes only from the
//! [`Jitter`] given. An adapter's loop is, in outline:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use weft_io::reconnect::{Disconnect, ReconnectOptions, ReconnectPolicy};
//! use weft_io::weft_proto::CloseReason;
//!
//! let mut supervisor = ReconnectOptions::new()
//!     .policy(ReconnectPolicy::default().max_attempts(Some(5)))
//!     .jitter(|| 0.5)
//!     .into_supervisor();
//! let start = Instant::now();
//! let attempt = supervisor.attempt(start); // ClientEvent::Connecting { attempt }
//! assert_eq!(attempt, 1);
//! // ... connecting succeeded: ClientEvent::Connected { .. }
//! supervisor.connected(start);
//! // ... the connection was lost after a minute: ClientEvent::Disconnected { .. }
//! let lost = start + Duration::from_secs(60);
//! let cause = Disconnect::Closed(CloseReason::Abnormal);
//! match supervisor.after(&cause, lost) {
//!     Some(delay) => assert_eq!(delay, Duration::from_millis(500)), // sleep, then attempt again
//!     None => unreachable!("1006 is retried"),                      // ClientEvent::GaveUp
//! }
//! ```

mod backoff;
mod disconnect;
mod event;
mod jitter;
mod options;
mod outbox;
mod policy;
mod shared;
mod state;

pub use backoff::Backoff;
pub use disconnect::Disconnect;
pub use event::ClientEvent;
pub use jitter::Jitter;
pub use options::{ReconnectOptions, Supervisor};
pub use outbox::{Delivery, MessageId, Outbox, OutboxLimits, Overflow, Pushed, QueueFull};
pub use policy::ReconnectPolicy;
pub use shared::{ReconnectingSender, Shared, Wake};
pub use state::ClientState;
