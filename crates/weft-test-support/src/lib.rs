//! What the tests of Weft's adapters (weft-std, weft-tokio) and the
//! end-to-end tests share:
//!
//! - raw peers ([`raw`]): the opening handshake done by hand, so that a
//!   test holds the socket and controls every byte after it, and can
//!   misbehave (go silent, vanish mid-frame) as no real peer would;
//! - certificates made for a test ([`cert`]), an expired one included;
//! - servers that handle one connection in one fixed way ([`one_shot`]):
//!   an HTTP answer written by hand, a TLS server, a silent server, a port
//!   where nothing listens;
//! - a fault-injecting TCP proxy ([`fault_proxy`]) on std threads, for
//!   blocking and tokio tests alike: cuts, resets, stalls, delays and
//!   split writes between a client and a real server;
//! - real proxies ([`real_proxy`]): tinyproxy and microsocks started for
//!   a test, and a proxy that never answers;
//! - real services for the hub's tests ([`real_redis`], [`real_nginx`]):
//!   Redis, stopped and restarted as a test says, and nginx as a WebSocket
//!   reverse proxy in front of several servers.
//!
//! It depends on weft-proto and on neither adapter, so each adapter can use
//! it in its own tests without linking a second copy of itself.

#![forbid(unsafe_code)]

pub mod cert;
pub mod fault_proxy;
pub mod one_shot;
pub mod raw;
pub mod real_nginx;
pub mod real_proxy;
pub mod real_redis;

pub use cert::{test_cert, TestCert};
pub use fault_proxy::FaultProxy;
pub use raw::{client_bytes, drain, raw_client, RawHandshake};
