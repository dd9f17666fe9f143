//! [`TransmitRef`]: the bytes queued to send, lent to be written where they
//! are.

use std::io::IoSlice;

use bytes::Buf;

use crate::transmit::OutQueue;

/// The bytes queued to send, lent from the connection
/// ([`Connection::poll_transmit_ref`](crate::Connection::poll_transmit_ref)):
/// a [`bytes::Buf`] over the connection's own queue. Write its chunks
/// (vectored with [`chunks_vectored`](Buf::chunks_vectored)), then
/// [`advance`](Buf::advance) by what was written: the bytes written leave
/// the queue, the rest stay for the next call. Nothing is handed over, so
/// nothing is allocated or reference-counted per write, and the buffer
/// small frames are packed into is used again once written.
///
/// It borrows the connection, so it is for an adapter that writes while
/// it holds the connection; one that writes without holding it (another
/// thread reading meanwhile) takes an owned [`Transmit`](crate::Transmit)
/// from [`Connection::poll_transmit`](crate::Connection::poll_transmit).
/// The two may be mixed: each takes up where the other left off.
pub struct TransmitRef<'a> {
    queue: &'a mut OutQueue,
}

impl<'a> TransmitRef<'a> {
    pub(crate) fn new(queue: &'a mut OutQueue) -> Self {
        TransmitRef { queue }
    }

    /// Whether everything queued has been written.
    pub fn is_empty(&self) -> bool {
        self.queue.len() == 0
    }
}

impl std::fmt::Debug for TransmitRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransmitRef")
            .field("remaining", &self.queue.len())
            .finish()
    }
}

impl Buf for TransmitRef<'_> {
    #[inline]
    fn remaining(&self) -> usize {
        self.queue.len()
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        self.queue.front()
    }

    /// Advancing past the end empties the queue rather than panicking.
    #[inline]
    fn advance(&mut self, cnt: usize) {
        self.queue.consume(cnt);
    }

    fn chunks_vectored<'b>(&'b self, dst: &mut [IoSlice<'b>]) -> usize {
        self.queue.chunks_vectored(dst)
    }
}
