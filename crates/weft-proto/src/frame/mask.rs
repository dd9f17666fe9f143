//! Masking (RFC 6455 section 5.3): XOR with a 4-byte key, in place.

/// Masks or unmasks `buf` in place with `key`, as if `buf` began `offset`
/// bytes into the payload (so a payload can be unmasked in pieces as it
/// arrives). Masking twice with the same key and offset restores the input.
///
/// Works 32 bytes at a time over a key pattern rotated to the offset; the
/// fixed-size inner loop compiles to vector XORs. No alignment is required.
///
/// ```
/// use weft_proto::frame::apply_mask;
/// let mut data = *b"Hello";
/// apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    const WIDE: usize = 32;
    // The key as it lines up with buf[0].
    let shift = offset % 4;
    let key = [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ];
    if buf.len() < WIDE {
        // Eight bytes at a time, then the rest.
        let key8 = u64::from_ne_bytes([
            key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
        ]);
        let mut words = buf.chunks_exact_mut(8);
        for word in &mut words {
            let masked = u64::from_ne_bytes(word.try_into().unwrap_or([0; 8])) ^ key8;
            word.copy_from_slice(&masked.to_ne_bytes());
        }
        for (i, byte) in words.into_remainder().iter_mut().enumerate() {
            *byte ^= key[i & 3];
        }
        return;
    }
    let mut pattern = [0u8; WIDE];
    for quad in pattern.chunks_exact_mut(4) {
        quad.copy_from_slice(&key);
    }
    let mut chunks = buf.chunks_exact_mut(WIDE);
    for chunk in &mut chunks {
        for (byte, k) in chunk.iter_mut().zip(pattern.iter()) {
            *byte ^= k;
        }
    }
    // The tail is shorter than WIDE and starts at a multiple of 4 from the
    // beginning, so the same pattern lines up with it.
    for (byte, k) in chunks.into_remainder().iter_mut().zip(pattern.iter()) {
        *byte ^= k;
    }
}

/// The byte-at-a-time definition of [`apply_mask`], kept as the reference
/// the fast path is tested against.
pub fn apply_mask_naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset % 4 + i) % 4];
    }
}
