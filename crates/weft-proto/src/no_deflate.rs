//! Stands in for the codec when the `deflate` feature is off: a type with
//! no values, so the connection's compression paths compile to nothing.

use bytes::Bytes;

/// Never constructed without the `deflate` feature.
#[derive(Debug)]
pub(crate) enum Deflate {}

#[derive(Debug)]
#[allow(
    dead_code,
    reason = "matched by the connection, built only with `deflate`"
)]
pub(crate) enum InflateError {
    TooLarge,
    Corrupt,
}

impl Deflate {
    pub(crate) fn wants(&self, _len: usize) -> bool {
        match *self {}
    }

    pub(crate) fn compress(&mut self, _data: &[u8]) -> Bytes {
        match *self {}
    }

    pub(crate) fn inflate(
        &mut self,
        _input: &[u8],
        _last: bool,
        _out: &mut Vec<u8>,
        _limit: usize,
    ) -> Result<(), InflateError> {
        match *self {}
    }
}
