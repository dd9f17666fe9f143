//! Frames as a peer sends them, for the decoding benchmarks: the criterion
//! comparison (`benches/compare.rs`) and the instruction counts
//! (`examples/instructions.rs`) read the same bytes.

use weft_proto::frame::{apply_mask, FrameHeader, OpCode};

/// The masking key of every masked frame.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// JSON, as most text messages are: ASCII with a few non-ASCII characters.
pub const JSON: &str =
    r#"{"id":12345,"user":"zoë","text":"a message to everybody","tags":["weft","ws"],"ok":true}, "#;

/// `size` bytes of `pattern` repeated, cut back to a character boundary
/// and padded with spaces.
pub fn text_of(pattern: &str, size: usize) -> Vec<u8> {
    let mut text: Vec<u8> = pattern.bytes().cycle().take(size).collect();
    while std::str::from_utf8(&text).is_err() {
        text.pop();
    }
    text.resize(size, b' ');
    text
}

/// `count` whole messages of `size` bytes of [`JSON`], each in one frame:
/// text or binary, masked with [`MASK`] (as a client sends them) or not.
pub fn frames(size: usize, count: usize, text: bool, masked: bool) -> Vec<u8> {
    let payload = text_of(JSON, size);
    let mut wire = Vec::with_capacity(count * (size + 14));
    for _ in 0..count {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: if text { OpCode::Text } else { OpCode::Binary },
            mask: masked.then_some(MASK),
            payload_len: size as u64,
        };
        let mut head = [0u8; 14];
        let n = header.encode(&mut head);
        wire.extend_from_slice(&head[..n]);
        let start = wire.len();
        wire.extend_from_slice(&payload);
        if masked {
            apply_mask(&mut wire[start..], MASK, 0);
        }
    }
    wire
}
