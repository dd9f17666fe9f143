//! Appending a masked copy to a `BytesMut`: written straight into its spare
//! capacity, so the bytes are touched once, never zeroed first or staged.

use bytes::BytesMut;

use crate::Kernel;

/// Appends `src` to `buf` masked (or unmasked: it is the same XOR) with
/// `key`, as if `src` began `offset` bytes into the payload, in one pass
/// with the fastest kernel this CPU has.
#[inline]
pub fn extend_masked(buf: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    buf.reserve(src.len());
    let spare = buf.spare_capacity_mut();
    let written = Kernel::for_len(src.len())
        .copy_masked(spare, src, key, offset)
        .len();
    let len = buf.len() + written;
    // SAFETY: `copy_masked` initialised the first `written` bytes of the
    // spare capacity (all of `src`: `reserve` made room for it), so the
    // first `len` bytes of the buffer are initialised and within capacity.
    unsafe { buf.set_len(len) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;

    #[test]
    fn appends_after_what_is_there() {
        let key = [9, 8, 7, 6];
        for len in [0, 1, 15, 16, 17, 100, 1000] {
            let src: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut buf = BytesMut::from(&b"head"[..]);
            extend_masked(&mut buf, &src, key, 3);
            assert_eq!(&buf[..4], b"head");
            assert_eq!(&buf[4..], &reference::masked(&src, key, 3)[..]);
        }
    }
}
