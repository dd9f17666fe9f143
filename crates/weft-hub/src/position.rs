//! Where a message sits in its topic: its offset (the Redis stream id, or
//! the in-process log's equivalent) and the topic's epoch.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A message's place in its topic, `MS-SEQ` as a Redis stream id: the
/// milliseconds of the clock that stored it, then a sequence number within
/// that millisecond. Offsets of one topic only ever grow; a client keeps
/// the last one it saw and gives it back to resume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    /// Milliseconds since the Unix epoch when the message was stored.
    pub ms: u64,
    /// The message's number within that millisecond.
    pub seq: u64,
}

impl Offset {
    /// The offset before every message, `0-0`.
    pub const ZERO: Offset = Offset { ms: 0, seq: 0 };

    /// The offset right after this one in the same millisecond.
    pub fn next(self) -> Offset {
        match self.seq.checked_add(1) {
            Some(seq) => Offset { ms: self.ms, seq },
            None => Offset {
                ms: self.ms.saturating_add(1),
                seq: 0,
            },
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An offset that is not `MS-SEQ` with two decimal numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOffset(pub String);

impl fmt::Display for InvalidOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an offset (MS-SEQ): {:?}", self.0)
    }
}

impl std::error::Error for InvalidOffset {}

impl FromStr for Offset {
    type Err = InvalidOffset;

    fn from_str(s: &str) -> Result<Offset, InvalidOffset> {
        let invalid = || InvalidOffset(s.chars().take(64).collect());
        let (ms, seq) = s.split_once('-').ok_or_else(invalid)?;
        let number = |part: &str| {
            if part.is_empty() || part.len() > 20 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u64>().map_err(|_| invalid())
        };
        Ok(Offset {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }
}

/// A topic's epoch: a random name given to its history when the history
/// is created. When the history is lost (Redis restarted without
/// persistence, the topic expired, an in-process hub restarted), the next
/// one gets a new epoch, so an offset of the old one is known not to
/// describe the new one.
pub type Epoch = Arc<str>;

/// The last message a client saw: where to resume from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// The topic's epoch when the message was published.
    pub epoch: Epoch,
    /// The message's offset.
    pub offset: Offset,
}

impl Position {
    /// A position from the two strings a client gives back.
    pub fn parse(epoch: &str, offset: &str) -> Result<Position, InvalidOffset> {
        Ok(Position {
            epoch: epoch.into(),
            offset: offset.parse()?,
        })
    }
}

/// A new random epoch: 16 hexadecimal digits.
pub(crate) fn new_epoch() -> Epoch {
    let nonce = weft_io::OsRandom::new().map(|mut random| random.nonce());
    let value = match nonce {
        Ok(bytes) => u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]),
        // No randomness from the OS: the clock's nanoseconds still differ
        // from one history to the next.
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    };
    format!("{value:016x}").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_and_write_as_redis_stream_ids_and_sort_by_number() {
        let a: Offset = "1700000000000-9".parse().unwrap();
        let b: Offset = "1700000000000-10".parse().unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "1700000000000-10");
        assert_eq!(a.next(), b);
        for bad in [
            "",
            "1",
            "1-",
            "-1",
            "a-1",
            "1-2-3",
            "+1-2",
            "1 -2",
            "99999999999999999999999-0",
        ] {
            assert!(bad.parse::<Offset>().is_err(), "{bad}");
        }
        assert_eq!(
            Offset {
                ms: 3,
                seq: u64::MAX
            }
            .next(),
            Offset { ms: 4, seq: 0 }
        );
    }

    #[test]
    fn epochs_differ() {
        assert_ne!(new_epoch(), new_epoch());
        assert_eq!(new_epoch().len(), 16);
    }
}
