//! Incremental UTF-8 validation that fails fast.

/// Validates UTF-8 fed in arbitrary pieces, failing as soon as the bytes
/// seen so far can no longer begin valid UTF-8, not at the end of the
/// message (RFC 6455 8.1; Autobahn 6.4 checks this).
///
/// A code point split across pieces is carried over in a 4-byte buffer, so
/// the state is a few bytes whatever the input.
///
/// ```
/// use weft_proto::Utf8Validator;
///
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(b"caf\xc3").is_ok()); // a valid prefix of "café"
/// assert!(!v.is_complete());
/// assert!(v.feed(b"\xa9").is_ok());
/// assert!(v.is_complete());
///
/// // 0xF4 0x90 can never start valid UTF-8: rejected at once.
/// assert!(Utf8Validator::new().feed(b"ok \xf4\x90").is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    len: u8,
    need: u8,
}

/// The error from [`Utf8Validator::feed`]: the input is not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a string.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            len: 0,
            need: 0,
        }
    }

    /// Validates the next piece. Once this has returned an error the
    /// validator's state is unspecified.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.len > 0 {
            let have = usize::from(self.len);
            let take = (usize::from(self.need) - have).min(input.len());
            self.partial[have..have + take].copy_from_slice(&input[..take]);
            self.len += take as u8;
            match simdutf8::compat::from_utf8(&self.partial[..usize::from(self.len)]) {
                Ok(_) => {
                    self.len = 0;
                    input = &input[take..];
                }
                // Still a valid prefix; `take` used up the input.
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(InvalidUtf8),
            }
        }
        // simdutf8's `compat` checker reports errors as `from_utf8` does,
        // several times faster on anything but short ASCII.
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            // `error_len() == None` means the input ends inside a sequence
            // that is valid so far; anything else is invalid now.
            Err(e) if e.error_len().is_none() => {
                let rest = &input[e.valid_up_to()..];
                self.partial[..rest.len()].copy_from_slice(rest);
                self.len = rest.len() as u8;
                self.need = sequence_len(rest[0]);
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Whether the input so far ends on a code point boundary, i.e. is
    /// complete, valid UTF-8.
    pub fn is_complete(&self) -> bool {
        self.len == 0
    }

    /// Forgets any partial code point: ready for a new string.
    pub fn reset(&mut self) {
        self.len = 0;
    }
}

/// The length of the sequence a lead byte starts. Only called on lead bytes
/// `from_utf8` accepted as the start of an incomplete sequence.
fn sequence_len(lead: u8) -> u8 {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}
