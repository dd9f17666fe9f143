//! Text from bytes, validated once.

use bytes::Bytes;
use bytestring::ByteString;

/// `bytes` as text, if they are UTF-8: validated once, with the SIMD
/// validator from 64 bytes on (std's check is faster below that), and then
/// wrapped without the second check `ByteString::try_from` would make.
/// Returns the bytes back if they are not UTF-8.
///
/// ```
/// use bytes::Bytes;
/// assert_eq!(&*weft_simd::utf8_text(Bytes::from_static(b"caf\xc3\xa9")).unwrap(), "café");
/// assert!(weft_simd::utf8_text(Bytes::from_static(b"\xff")).is_err());
/// ```
#[inline]
pub fn utf8_text(bytes: Bytes) -> Result<ByteString, Bytes> {
    let valid = if bytes.len() < 64 {
        std::str::from_utf8(&bytes).is_ok()
    } else {
        simdutf8::basic::from_utf8(&bytes).is_ok()
    };
    if !valid {
        return Err(bytes);
    }
    // SAFETY: `bytes` was checked to be UTF-8 just above, and `Bytes` is
    // immutable, so what is wrapped is exactly what was checked.
    Ok(unsafe { ByteString::from_bytes_unchecked(bytes) })
}
