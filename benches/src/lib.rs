//! Shared by the echo servers and the decoding benchmarks. The load
//! generator the scripts drive is `weft bench` (crates/weft-cli).
//!
//! - [`server`]: what every echo server example shares: the port argument
//!   and the `listening on` line the scripts wait for.
//! - [`wire`]: the frames the decoding benchmarks read.
//! - [`memory`]: the in-memory transport they are read from and written to.
//! - [`broadcast`]: the members and queues the broadcast servers share.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod broadcast;
pub mod memory;
pub mod server;
pub mod wire;
