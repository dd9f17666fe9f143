//! Shared by the load generator and the echo servers.
//!
//! - [`load`]: the closed-loop load generator behind the `loadgen` binary
//!   (and, later, the command-line tool): options, connections, round-trip
//!   times and the one-line summary.
//! - [`server`]: what every echo server example shares: the port argument
//!   and the `listening on` line the scripts wait for.
//! - [`wire`]: the frames the decoding benchmarks read.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod load;
pub mod server;
pub mod wire;
