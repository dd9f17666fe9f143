//! [`MaskKeys`]: where a client's masking keys come from.

/// A source of masking keys for the frames a client sends (RFC 6455 5.3).
///
/// The core draws no randomness itself. The RFC asks for keys "derived from
/// a strong source of entropy" so that a page's script cannot choose the
/// bytes that reach a proxy; adapters pass a generator seeded from the OS.
/// Any `FnMut() -> [u8; 4] + Send` closure is a source.
///
/// ```
/// use weft_proto::MaskKeys;
/// let mut counter = 0u32;
/// let mut keys = move || { counter += 1; counter.to_be_bytes() };
/// assert_eq!(keys.next_key(), [0, 0, 0, 1]);
/// ```
pub trait MaskKeys: Send {
    /// The key for the next frame.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskKeys for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}
