//! Compressing and inflating messages (RFC 7692 7.2), with bounded output.

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{DeflateConfig, DeflateParams};
use crate::role::Role;

/// The four bytes a sync flush ends with, removed from each compressed
/// message and restored before inflating it (RFC 7692 7.2.1, 7.2.2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most output one inflating step produces before the limit is checked.
const STEP: usize = 64 * 1024;

/// Why inflating failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The data is not a valid deflate stream.
    Corrupt,
}

/// One connection's compression state, for the directions the role sends
/// and receives. Each half is allocated when first needed and, for a
/// direction without context takeover, freed after each message.
pub(crate) struct Deflate {
    params: DeflateParams,
    level: u32,
    threshold: usize,
    /// Our window bits for compressing, at most 15; below 9 we never
    /// compress.
    send_bits: u8,
    send_reset: bool,
    /// The peer's window bits, 9–15.
    recv_bits: u8,
    recv_reset: bool,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("params", &self.params)
            .field("compressor", &self.compressor.is_some())
            .field("decompressor", &self.decompressor.is_some())
            .finish()
    }
}

impl Deflate {
    pub(crate) fn new(params: DeflateParams, role: Role, config: &DeflateConfig) -> Deflate {
        let settings = config.settings();
        let (send_bits, send_reset, recv_bits, recv_reset) = match role {
            Role::Server => (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_max_window_bits,
                params.client_no_context_takeover,
            ),
            Role::Client => (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_max_window_bits,
                params.server_no_context_takeover,
            ),
        };
        Deflate {
            params,
            level: settings.level,
            threshold: settings.threshold,
            // Parameters agreed elsewhere (`Connection::enable_deflate`) may
            // hold anything, and zlib takes only 9–15.
            send_bits: send_bits.min(15),
            send_reset,
            // A 9-bit window reads what an 8-bit one wrote.
            recv_bits: recv_bits.clamp(9, 15),
            recv_reset,
            compressor: None,
            decompressor: None,
        }
    }

    pub(crate) fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// Whether a message of `len` bytes goes out compressed.
    pub(crate) fn wants(&self, len: usize) -> bool {
        self.send_bits >= 9 && len >= self.threshold.max(1)
    }

    /// Compresses one whole message, without the sync-flush tail.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Bytes {
        let (level, bits) = (self.level, self.send_bits);
        let compressor = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let out = compress_with(compressor, data);
        // Without context takeover nothing carries to the next message: free
        // the state, so an idle connection holds no compressor.
        if self.send_reset {
            self.compressor = None;
        }
        out
    }

    /// When this connection compresses each message on its own (no context
    /// takeover in the direction it sends), the settings that decide the
    /// output, `(level, window bits)`: a message compressed once with them
    /// ([`compress_alone`]) is what this connection would send. `None` when
    /// the output depends on the messages before.
    pub(crate) fn independent(&self) -> Option<(u32, u8)> {
        self.send_reset.then_some((self.level, self.send_bits))
    }

    /// Inflates `input` onto `out` until the input is used up or `out`
    /// holds `cap` bytes, and returns how much input it used. Feed a
    /// message's frames and then [`TAIL`]; `out` never grows past `cap`,
    /// whatever the compression ratio.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<usize, InflateError> {
        let bits = self.recv_bits;
        let d = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let mut consumed = 0;
        while consumed < input.len() && out.len() < cap {
            if out.capacity() == out.len() {
                // Grow geometrically, never past the cap.
                let want = (out.capacity() * 2).max(out.len() + STEP).min(cap);
                out.reserve_exact(want - out.len());
            }
            let (before_in, before_out) = (d.total_in(), d.total_out());
            let status = d.decompress_vec(&input[consumed..], out, FlushDecompress::Sync);
            let produced = (d.total_out() - before_out) as usize;
            let taken = (d.total_in() - before_in) as usize;
            consumed += taken;
            match status {
                Err(_) => return Err(InflateError::Corrupt),
                Ok(Status::StreamEnd) => {
                    // A final block (BFINAL) ends the stream; the next data
                    // starts a new one. The restored tail after it is not
                    // data: drop it.
                    *d = Decompress::new_with_window_bits(false, bits);
                    if TAIL.ends_with(&input[consumed..]) {
                        consumed = input.len();
                    }
                }
                Ok(Status::Ok | Status::BufError) => {}
            }
            if produced == 0 && taken == 0 {
                // No progress with room to spare: not a deflate stream.
                return Err(InflateError::Corrupt);
            }
        }
        Ok(consumed)
    }

    /// The end of a received message: without context takeover nothing
    /// carries over, so the state is freed.
    pub(crate) fn end_message(&mut self) {
        if self.recv_reset {
            self.decompressor = None;
        }
    }
}

/// Compresses one whole message with a fresh compressor of `level` and
/// `bits` window bits, without the sync-flush tail: what a connection that
/// compresses each message on its own sends (see [`Deflate::independent`]).
pub(crate) fn compress_alone(level: u32, bits: u8, data: &[u8]) -> Bytes {
    let mut compressor = Compress::new_with_window_bits(Compression::new(level), false, bits);
    compress_with(&mut compressor, data)
}

/// Compresses one whole message with `compressor` and a sync flush, and
/// drops the flush's tail (RFC 7692 7.2.1).
fn compress_with(compressor: &mut Compress, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        let before = compressor.total_in();
        // Compressing into a growable vector cannot fail.
        let _ = compressor.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync);
        consumed += (compressor.total_in() - before) as usize;
        // Done once all input is in and the flush left room to spare.
        if consumed == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(role: Role) -> Deflate {
        let params = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        };
        Deflate::new(params, role, &DeflateConfig::default().level(9))
    }

    #[test]
    fn inflating_a_bomb_never_holds_more_than_the_cap() {
        let mut sender = deflate(Role::Client);
        let bomb = sender.compress(&vec![0u8; 32 << 20]);
        assert!(bomb.len() < 64 << 10);
        let mut receiver = deflate(Role::Server);
        let cap = (1 << 20) + 1;
        let mut out = Vec::new();
        // Fed in pieces, as frames arrive, the buffer stays bounded throughout.
        let mut full = false;
        for piece in bomb.chunks(1024) {
            let used = receiver.inflate(piece, &mut out, cap).unwrap();
            assert!(out.capacity() <= cap, "{}", out.capacity());
            if out.len() == cap {
                assert!(used <= piece.len());
                full = true;
                break;
            }
        }
        assert!(full, "the bomb never reached the cap");
    }

    #[test]
    fn a_message_exactly_at_the_limit_inflates() {
        let mut sender = deflate(Role::Client);
        let data = vec![7u8; 100_000];
        let compressed = sender.compress(&data);
        let mut receiver = deflate(Role::Server);
        let mut out = Vec::new();
        let mut input = compressed.to_vec();
        input.extend_from_slice(&TAIL);
        let used = receiver.inflate(&input, &mut out, data.len() + 1).unwrap();
        assert_eq!(used, input.len());
        assert_eq!(&out[..], &data[..]);
    }
}
