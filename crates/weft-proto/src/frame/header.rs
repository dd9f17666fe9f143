use crate::error::ProtocolError;

use super::OpCode;

/// The most bytes a frame header takes: 2 fixed, 8 of extended length, 4 of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A parsed frame header (RFC 6455 section 5.2).
///
/// [`parse`](Self::parse) checks everything that can be checked without
/// knowing the connection: reserved opcodes, minimal length encoding, the
/// 64-bit length's top bit, and the control frame rules. The connection
/// checks the rest (RSV bits, masking for the role, size limits, fragment
/// sequence).
///
/// ```
/// use weft_proto::frame::{FrameHeader, OpCode};
///
/// // A masked text frame of 5 bytes, as a client sends it.
/// let wire = [0x81, 0x85, 1, 2, 3, 4];
/// let (header, len) = FrameHeader::parse(&wire).unwrap().unwrap();
/// assert_eq!(len, 6);
/// assert_eq!(header.opcode, OpCode::Text);
/// assert_eq!(header.payload_len, 5);
/// assert_eq!(header.mask, Some([1, 2, 3, 4]));
///
/// let mut out = [0; 14];
/// let n = header.encode(&mut out);
/// assert_eq!(&out[..n], &wire);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the last frame of its message.
    pub fin: bool,
    /// The three RSV bits, RSV1 as `0b100`, RSV2 as `0b010`, RSV3 as `0b001`.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` if `buf` holds only part of a header, and
    /// `Ok(Some((header, header_len)))` once it is complete. Inspects at most
    /// [`MAX_HEADER_LEN`] bytes whatever the length of `buf`.
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else {
            return Ok(None);
        };
        let (b0, b1) = (*b0, *b1);
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        let opcode = OpCode::from_u8(b0 & 0xF).ok_or(ProtocolError::ReservedOpcode(b0 & 0xF))?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        // Each check needs only bytes the checks before it have read, so the
        // error does not depend on how much of the header has arrived.
        // RFC 6455 5.5: control frames are never fragmented...
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        let (payload_len, rest) = match len7 {
            126 => {
                let Some(len) = read_u16(rest) else {
                    return Ok(None);
                };
                // RFC 6455 5.2: "the minimal number of bytes MUST be used".
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (u64::from(len), &rest[2..])
            }
            127 => {
                let Some(len) = read_u64(rest) else {
                    return Ok(None);
                };
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                if len <= u64::from(u16::MAX) {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, &rest[8..])
            }
            n => (u64::from(n), rest),
        };
        // ...and carry at most 125 bytes.
        if opcode.is_control() && payload_len > 125 {
            return Err(ProtocolError::ControlFrameTooLong(payload_len));
        }
        let mask = if masked {
            let [k0, k1, k2, k3, ..] = *rest else {
                return Ok(None);
            };
            Some([k0, k1, k2, k3])
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, header.encoded_len())))
    }

    /// How many bytes [`encode`](Self::encode) writes.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        if self.mask.is_some() {
            len + 4
        } else {
            len
        }
    }

    /// Writes the header with the minimal length encoding and returns how
    /// many bytes of `out` it used.
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = first_byte(self.fin, self.rsv, self.opcode);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }
}

/// A frame's first byte: FIN, the RSV bits (RSV1 as `0b100`) and the
/// opcode.
#[inline]
pub(crate) fn first_byte(fin: bool, rsv: u8, opcode: OpCode) -> u8 {
    u8::from(fin) << 7 | (rsv & 0x7) << 4 | opcode.as_u8()
}

/// The header of a final, uncompressed text or binary frame with a 7- or
/// 16-bit length: a whole message of under 64 KiB in one frame, the common
/// case the connection takes on a short path of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShortHeader {
    /// [`OpCode::Text`] or [`OpCode::Binary`].
    pub(crate) opcode: OpCode,
    /// The masking key, if masked.
    pub(crate) mask: Option<[u8; 4]>,
    /// The payload length, below 65,536.
    pub(crate) payload_len: usize,
    /// The header's length: 2, 4, 6 or 8 bytes.
    pub(crate) header_len: usize,
}

impl ShortHeader {
    /// Reads the header at the front of `buf` when it is such a header,
    /// complete, masked exactly when `masked` says. Anything else returns
    /// `None` and is left to [`FrameHeader::parse`], which applies every
    /// rule; where this returns a header, `parse` returns the same one
    /// (tested over every first two bytes and length field below).
    #[inline]
    pub(crate) fn parse(buf: &[u8], masked: bool) -> Option<ShortHeader> {
        // FIN set, RSV clear, text (0x1) or binary (0x2).
        let [b0 @ (0x81 | 0x82), b1, ..] = *buf else {
            return None;
        };
        if (b1 & 0x80 != 0) != masked {
            return None;
        }
        let (payload_len, mut header_len) = match b1 & 0x7F {
            // RFC 6455 5.2: "the minimal number of bytes MUST be used": a
            // 16-bit length below 126 goes the general way, to be refused.
            126 => match *buf {
                [_, _, hi, lo, ..] if u16::from_be_bytes([hi, lo]) >= 126 => {
                    (usize::from(u16::from_be_bytes([hi, lo])), 4)
                }
                _ => return None,
            },
            // A 64-bit length means at least 64 KiB, where the header costs
            // nothing next to the payload.
            127 => return None,
            n => (usize::from(n), 2),
        };
        let mut mask = None;
        if masked {
            let [k0, k1, k2, k3] = *buf.get(header_len..header_len + 4)? else {
                return None;
            };
            mask = Some([k0, k1, k2, k3]);
            header_len += 4;
        }
        Some(ShortHeader {
            opcode: if b0 == 0x81 {
                OpCode::Text
            } else {
                OpCode::Binary
            },
            mask,
            payload_len,
            header_len,
        })
    }
}

#[inline]
fn read_u16(buf: &[u8]) -> Option<u16> {
    match *buf {
        [a, b, ..] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

#[inline]
fn read_u64(buf: &[u8]) -> Option<u64> {
    match *buf {
        [a, b, c, d, e, f, g, h, ..] => Some(u64::from_be_bytes([a, b, c, d, e, f, g, h])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers built from every first two bytes, with length fields around
    /// the encoding boundaries and a mask key, cut at every length.
    fn candidates() -> impl Iterator<Item = Vec<u8>> {
        let lengths: [&[u8]; 6] = [
            &[],
            &[0, 125],
            &[0, 126],
            &[0xff, 0xff],
            &[0, 0, 0, 0, 0, 1, 0, 0],
            &[0, 0, 0, 0, 0, 0, 0, 5],
        ];
        (0..=0xffffu32).flat_map(move |b| {
            lengths.into_iter().flat_map(move |ext| {
                let mut full = vec![(b >> 8) as u8, b as u8];
                full.extend_from_slice(ext);
                full.extend_from_slice(&[9, 8, 7, 6]);
                (0..=full.len()).map(move |cut| full[..cut].to_vec())
            })
        })
    }

    #[test]
    fn the_short_header_agrees_with_the_full_parse() {
        for buf in candidates() {
            let full = FrameHeader::parse(&buf);
            for masked in [false, true] {
                let short = ShortHeader::parse(&buf, masked);
                let expected = match full {
                    Ok(Some((h, len)))
                        if h.fin
                            && h.rsv == 0
                            && matches!(h.opcode, OpCode::Text | OpCode::Binary)
                            && h.payload_len <= 0xffff
                            && h.mask.is_some() == masked =>
                    {
                        Some(ShortHeader {
                            opcode: h.opcode,
                            mask: h.mask,
                            payload_len: h.payload_len as usize,
                            header_len: len,
                        })
                    }
                    _ => None,
                };
                assert_eq!(short, expected, "{buf:02x?}, masked {masked}");
            }
        }
    }
}
