//! [`PayloadPreview`]: the start of a frame's payload, made readable for a
//! frame trace: a close frame's code, name and reason; the first bytes of
//! any other frame, escaped.

use std::fmt;

use super::{apply_mask, OpCode};
use crate::close::CloseCode;

/// The most payload bytes a preview keeps. A close frame's reason is cut
/// there too (a close payload may hold 125 bytes).
pub const PREVIEW_LEN: usize = 32;

/// The first [`PREVIEW_LEN`] bytes of a frame's payload, unmasked, and
/// what they mean for the frame's opcode.
///
/// Its [`Display`](fmt::Display) is what a frame line shows after the
/// header (see [`FrameInfo`](super::FrameInfo)), starting with a space,
/// or nothing for an empty data frame:
/// - a close frame: `code 1000 normal closure reason "bye"` (or
///   `no code` for an empty close frame);
/// - any other frame: the bytes as a Rust byte string shows them
///   (printable ASCII as is, the rest as `\n`, `\xNN`), in quotes, with
///   `...` after the quote when the payload goes on. A compressed
///   message (RSV1) shows its compressed bytes: the preview is of the
///   wire, not of the message.
///
/// ```
/// use weft_proto::frame::{OpCode, PayloadPreview};
///
/// let close = PayloadPreview::new(OpCode::Close, b"\x03\xe8bye", 5);
/// assert_eq!(close.to_string(), " code 1000 normal closure reason \"bye\"");
///
/// let text = PayloadPreview::new(OpCode::Text, "héllo\n".as_bytes(), 7);
/// assert_eq!(text.to_string(), r#" "h\xc3\xa9llo\n""#);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadPreview {
    opcode: OpCode,
    bytes: [u8; PREVIEW_LEN],
    /// How many of `bytes` hold payload.
    shown: u8,
    /// The whole payload's length.
    total: u64,
}

impl PayloadPreview {
    /// The preview of a payload of `total` bytes of a frame with
    /// `opcode`, whose (unmasked) start is `start`; only the first
    /// [`PREVIEW_LEN`] bytes of `start`, and no more than `total`, are
    /// kept.
    pub fn new(opcode: OpCode, start: &[u8], total: u64) -> PayloadPreview {
        let keep = start
            .len()
            .min(PREVIEW_LEN)
            .min(usize::try_from(total).unwrap_or(usize::MAX));
        let mut bytes = [0; PREVIEW_LEN];
        bytes[..keep].copy_from_slice(&start[..keep]);
        PayloadPreview {
            opcode,
            bytes,
            // `keep` is at most PREVIEW_LEN.
            shown: keep as u8,
            total,
        }
    }

    /// The preview of a payload as it arrived: `wire` holds the payload's
    /// first bytes (as many as have arrived), masked with `mask` if the
    /// frame is masked.
    pub fn from_wire(
        opcode: OpCode,
        wire: &[u8],
        mask: Option<[u8; 4]>,
        total: u64,
    ) -> PayloadPreview {
        let mut preview = PayloadPreview::new(opcode, wire, total);
        if let Some(key) = mask {
            let shown = usize::from(preview.shown);
            apply_mask(&mut preview.bytes[..shown], key, 0);
        }
        preview
    }

    /// The payload bytes kept.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.shown)]
    }

    /// For a close frame whose first two bytes arrived, its status code.
    pub fn close_code(&self) -> Option<CloseCode> {
        match (self.opcode, self.bytes()) {
            (OpCode::Close, [hi, lo, ..]) => Some(CloseCode(u16::from_be_bytes([*hi, *lo]))),
            _ => None,
        }
    }

    /// Whether the payload goes on past the bytes kept.
    fn is_cut(&self) -> bool {
        u64::from(self.shown) < self.total
    }
}

impl fmt::Display for PayloadPreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let more = if self.is_cut() { "..." } else { "" };
        if self.opcode == OpCode::Close {
            let Some(code) = self.close_code() else {
                return match self.total {
                    0 => f.write_str(" no code"),
                    _ => write!(f, " \"{}\"{more}", self.bytes().escape_ascii()),
                };
            };
            write!(f, " code {}", code.0)?;
            if let Some(name) = code.name() {
                write!(f, " {name}")?;
            }
            let reason = &self.bytes()[2..];
            if !reason.is_empty() || self.is_cut() {
                write!(f, " reason \"{}\"{more}", reason.escape_ascii())?;
            }
            return Ok(());
        }
        if self.total == 0 {
            return Ok(());
        }
        write!(f, " \"{}\"{more}", self.bytes().escape_ascii())
    }
}

impl fmt::Debug for PayloadPreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadPreview({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_payload_is_cut_and_says_so() {
        let payload = [b'a'; 40];
        let preview = PayloadPreview::new(OpCode::Binary, &payload, 40);
        assert_eq!(preview.bytes().len(), PREVIEW_LEN);
        assert_eq!(preview.to_string(), format!(" \"{}\"...", "a".repeat(32)));
    }

    #[test]
    fn bytes_not_yet_arrived_are_cut_too() {
        let preview = PayloadPreview::new(OpCode::Text, b"ab", 10);
        assert_eq!(preview.to_string(), " \"ab\"...");
    }

    #[test]
    fn a_masked_payload_is_shown_unmasked() {
        let key = [1, 2, 3, 4];
        let mut wire = *b"hello";
        apply_mask(&mut wire, key, 0);
        let preview = PayloadPreview::from_wire(OpCode::Text, &wire, Some(key), 5);
        assert_eq!(preview.bytes(), b"hello");
    }

    #[test]
    fn close_frames_show_their_code_name_and_reason() {
        let cases: [(&[u8], &str); 5] = [
            (b"", " no code"),
            (b"\x03\xe8", " code 1000 normal closure"),
            (b"\x03\xe9going", " code 1001 going away reason \"going\""),
            (b"\x0f\xa0x", " code 4000 reason \"x\""),
            (b"\x03", " \"\\x03\""),
        ];
        for (payload, line) in cases {
            let preview = PayloadPreview::new(OpCode::Close, payload, payload.len() as u64);
            assert_eq!(preview.to_string(), line, "{payload:?}");
        }
        let code = PayloadPreview::new(OpCode::Close, b"\x03\xea", 2).close_code();
        assert_eq!(code, Some(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn an_empty_data_frame_adds_nothing() {
        assert_eq!(PayloadPreview::new(OpCode::Ping, b"", 0).to_string(), "");
    }
}
