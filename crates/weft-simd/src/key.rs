//! The masking key as the kernels use it: four bytes lined up with the
//! first byte to mask.

/// The key as a little-endian `u32` whose bytes, in memory order, are the
/// key bytes that mask the bytes `offset`, `offset + 1`, … of the payload.
/// Repeated across a vector register, it lines up with any run of bytes
/// starting `offset` bytes into the payload.
#[inline]
pub(crate) fn lane(key: [u8; 4], offset: usize) -> u32 {
    u32::from_le_bytes(key).rotate_right(8 * (offset % 4) as u32)
}

/// `lane` for the byte `at` bytes after the one `lane` lines up with.
#[inline]
pub(crate) fn advance(lane: u32, at: usize) -> u32 {
    lane.rotate_right(8 * (at % 4) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lane_starts_at_the_offset() {
        let key = [1, 2, 3, 4];
        assert_eq!(lane(key, 0).to_le_bytes(), [1, 2, 3, 4]);
        assert_eq!(lane(key, 1).to_le_bytes(), [2, 3, 4, 1]);
        assert_eq!(lane(key, 6).to_le_bytes(), [3, 4, 1, 2]);
        assert_eq!(advance(lane(key, 1), 2), lane(key, 3));
    }
}
