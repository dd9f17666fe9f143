//! [`FrameInfo`]: what a frame's header says, and which way it went, in a
//! form made for reading: the line a frame trace prints.

use std::fmt;

use super::{FrameHeader, OpCode};

/// Which way a frame went, as seen from this end of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The frame arrived from the peer.
    Received,
    /// The frame was queued for the peer.
    Sent,
}

impl Direction {
    /// The arrow a frame line starts with: `<` for a frame received, `>`
    /// for one sent (the convention of HTTP traces such as `curl -v`).
    pub const fn arrow(self) -> char {
        match self {
            Direction::Received => '<',
            Direction::Sent => '>',
        }
    }
}

impl fmt::Display for Direction {
    /// `received` or `sent`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Received => "received",
            Direction::Sent => "sent",
        })
    }
}

/// One frame's header, described: which way it went, its opcode, its
/// flags and its payload length. The payload itself is not part of it.
///
/// Its [`Display`](fmt::Display) is one line: the direction's arrow, the
/// opcode in capitals (`CONT` for a continuation), each flag that is set
/// (`fin`, `rsv1`, `rsv2`, `rsv3`, `masked`), and the payload length in
/// bytes. With the `tracing` feature the connection logs each frame it
/// receives or queues at TRACE, with this line as the message and each
/// field as a field of its own.
///
/// ```
/// use weft_proto::frame::{FrameHeader, OpCode};
/// use weft_proto::{Direction, FrameInfo};
///
/// // A compressed text frame of 5 bytes, as a client sends it.
/// let wire = [0xC1, 0x85, 1, 2, 3, 4];
/// let (header, _) = FrameHeader::parse(&wire).unwrap().unwrap();
/// let info = FrameInfo::new(Direction::Received, &header);
/// assert_eq!(info.to_string(), "< TEXT fin rsv1 masked 5 B");
/// assert!(info.rsv1 && info.masked);
///
/// // An empty ping, as a server sends it.
/// let ping = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Ping, mask: None, payload_len: 0 };
/// assert_eq!(FrameInfo::new(Direction::Sent, &ping).to_string(), "> PING fin 0 B");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FrameInfo {
    /// Which way it went.
    pub direction: Direction,
    /// The opcode.
    pub opcode: OpCode,
    /// FIN: the last frame of its message.
    pub fin: bool,
    /// RSV1 (set on the first frame of a compressed message, RFC 7692).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The frame carries a masking key (frames from a client do).
    pub masked: bool,
    /// The payload length, as the header gives it.
    pub payload_len: u64,
}

impl FrameInfo {
    /// The description of a frame with `header` that went `direction`.
    pub const fn new(direction: Direction, header: &FrameHeader) -> FrameInfo {
        FrameInfo {
            direction,
            opcode: header.opcode,
            fin: header.fin,
            rsv1: header.rsv & 0b100 != 0,
            rsv2: header.rsv & 0b010 != 0,
            rsv3: header.rsv & 0b001 != 0,
            masked: header.mask.is_some(),
            payload_len: header.payload_len,
        }
    }
}

/// The opcode as a frame line names it: short, in capitals, so that the
/// opcode stands out from the flags after it.
fn opcode_name(opcode: OpCode) -> &'static str {
    match opcode {
        OpCode::Continuation => "CONT",
        OpCode::Text => "TEXT",
        OpCode::Binary => "BINARY",
        OpCode::Close => "CLOSE",
        OpCode::Ping => "PING",
        OpCode::Pong => "PONG",
    }
}

impl fmt::Display for FrameInfo {
    /// `< TEXT fin rsv1 masked 5 B`, `> PING fin 0 B`, `< CONT 1024 B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.direction.arrow(), opcode_name(self.opcode))?;
        let flags = [
            (self.fin, "fin"),
            (self.rsv1, "rsv1"),
            (self.rsv2, "rsv2"),
            (self.rsv3, "rsv3"),
            (self.masked, "masked"),
        ];
        for (_, name) in flags.iter().filter(|(set, _)| *set) {
            write!(f, " {name}")?;
        }
        write!(f, " {} B", self.payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(direction: Direction, b0: u8, masked: bool, payload_len: u64) -> FrameInfo {
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x7,
            opcode: OpCode::from_u8(b0 & 0xF).unwrap(),
            mask: masked.then_some([1, 2, 3, 4]),
            payload_len,
        };
        FrameInfo::new(direction, &header)
    }

    #[test]
    fn a_frame_line_names_the_direction_opcode_flags_set_and_length() {
        let cases = [
            (
                info(Direction::Received, 0xC1, true, 5),
                "< TEXT fin rsv1 masked 5 B",
            ),
            (info(Direction::Sent, 0x89, false, 0), "> PING fin 0 B"),
            (
                info(Direction::Received, 0x02, false, 1024),
                "< BINARY 1024 B",
            ),
            (
                info(Direction::Received, 0x00, true, 7),
                "< CONT masked 7 B",
            ),
            (info(Direction::Sent, 0x80, false, 3), "> CONT fin 3 B"),
            (
                info(Direction::Sent, 0x88, true, 2),
                "> CLOSE fin masked 2 B",
            ),
            (
                info(Direction::Received, 0x8A, false, 125),
                "< PONG fin 125 B",
            ),
            (
                info(Direction::Received, 0xF2, true, 1 << 40),
                "< BINARY fin rsv1 rsv2 rsv3 masked 1099511627776 B",
            ),
        ];
        for (info, line) in cases {
            assert_eq!(info.to_string(), line, "{info:?}");
        }
    }

    #[test]
    fn the_fields_follow_the_header_bits() {
        let i = info(Direction::Sent, 0x21 | 0x10, false, 9);
        assert_eq!(i.direction, Direction::Sent);
        assert_eq!(i.opcode, OpCode::Text);
        assert!(!i.fin && !i.rsv1 && i.rsv2 && i.rsv3 && !i.masked);
        assert_eq!(i.payload_len, 9);
        assert_eq!(Direction::Received.to_string(), "received");
        assert_eq!(Direction::Sent.to_string(), "sent");
    }
}
