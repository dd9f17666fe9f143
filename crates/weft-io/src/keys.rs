//! Masking keys and handshake nonces from the operating system.

use rand::rngs::{StdRng, SysRng};
use rand::{Rng, SeedableRng};
use weft_proto::MaskKeys;

/// A cryptographically secure generator seeded from the operating system:
/// the source of a client's masking keys and handshake nonces.
///
/// RFC 6455 10.3 asks for masking keys a script in a page cannot predict,
/// so that it cannot choose the bytes a proxy sees. Seeding ChaCha12
/// (`rand::rngs::StdRng`) once per connection from the OS keeps the cost
/// per frame to a few nanoseconds.
#[derive(Debug)]
pub struct OsRandom(StdRng);

impl OsRandom {
    /// A generator seeded from the operating system.
    pub fn new() -> std::io::Result<OsRandom> {
        StdRng::try_from_rng(&mut SysRng)
            .map(OsRandom)
            .map_err(|e| std::io::Error::other(format!("no randomness from the OS: {e}")))
    }

    /// A fresh 16-byte nonce for `Sec-WebSocket-Key`.
    pub fn nonce(&mut self) -> [u8; 16] {
        let mut nonce = [0u8; 16];
        self.0.fill_bytes(&mut nonce);
        nonce
    }
}

impl MaskKeys for OsRandom {
    fn next_key(&mut self) -> [u8; 4] {
        self.0.next_u32().to_ne_bytes()
    }
}

/// Uniform in `[0, 1)`: the top 53 bits of a `u64`, the precision of an
/// `f64`, so every value is equally likely and 1.0 never comes out.
impl crate::reconnect::Jitter for OsRandom {
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}
