//! Stands in for the codec when the `deflate` feature is off: a type with
//! no values, so the connection's compression paths compile to nothing.

use bytes::Bytes;

/// The restored sync-flush tail (never used without `deflate`).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Never constructed without the `deflate` feature.
#[derive(Debug)]
pub(crate) enum Deflate {}

/// Never constructed without the `deflate` feature.
#[derive(Debug)]
pub(crate) enum InflateError {}

impl Deflate {
    pub(crate) fn wants(&self, _len: usize) -> bool {
        match *self {}
    }

    pub(crate) fn compress(&mut self, _data: &[u8]) -> Bytes {
        match *self {}
    }

    pub(crate) fn independent(&self) -> Option<(u32, u8)> {
        match *self {}
    }

    pub(crate) fn inflate(
        &mut self,
        _input: &[u8],
        _out: &mut Vec<u8>,
        _cap: usize,
    ) -> Result<usize, InflateError> {
        match *self {}
    }

    pub(crate) fn end_message(&mut self) {
        match *self {}
    }
}
