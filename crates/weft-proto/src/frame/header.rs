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
        out[0] = u8::from(self.fin) << 7 | (self.rsv & 0x7) << 4 | self.opcode.as_u8();
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
