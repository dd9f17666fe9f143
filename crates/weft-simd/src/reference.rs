//! The definition every kernel is tested against: RFC 6455 5.3, one byte
//! at a time. Slow on purpose; nothing in the engine calls it.

/// Masks or unmasks `buf` in place, byte `i` with `key[(offset + i) % 4]`.
pub fn mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset % 4 + i) % 4];
    }
}

/// `src` masked with `key` from `offset`, as a new vector.
pub fn masked(src: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    let mut out = src.to_vec();
    mask(&mut out, key, offset);
    out
}
