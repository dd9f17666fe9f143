//! The send side: the outgoing queue, the mask keys that go with it, the
//! pong owed for the latest ping, and the fragmented message being sent.
//! It mirrors the receive side ([`super::recv`]): frames go in whole, in
//! order, and come out as one [`Transmit`].

use bytes::{Bytes, BytesMut};

use super::MaskKeys;
use crate::close::{CloseCode, MAX_CLOSE_REASON};
use crate::frame::{OpCode, MAX_HEADER_LEN};
use crate::message::MessageKind;
use crate::transmit::{OutQueue, Transmit};
use crate::transmit_ref::TransmitRef;
use crate::utf8::Utf8Validator;

/// The RSV1 bit, which marks a compressed message (RFC 7692 6).
pub(crate) const RSV1: u8 = 0b100;

/// Frames encoded for the wire and the state that decides what may follow.
pub(super) struct Sender {
    queue: OutQueue,
    /// A client's key source; `None` for a server, whose frames are not masked.
    mask_keys: Option<Box<dyn MaskKeys>>,
    /// At most one automatic pong waits for `poll_transmit`, carrying the
    /// latest ping's payload (RFC 6455 5.5.3).
    pending_pong: Option<Bytes>,
    /// The fragmented message being sent, if one is under way.
    fragments: Option<OutFragments>,
}

/// A fragmented message being sent (RFC 6455 5.4).
#[derive(Debug, Clone)]
pub(super) struct OutFragments {
    /// The kind its first fragment gave; later fragments must match.
    pub(super) kind: MessageKind,
    /// The UTF-8 check of its text so far, across fragment boundaries.
    pub(super) utf8: Utf8Validator,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("queued", &self.queue.len())
            .field("masked", &self.mask_keys.is_some())
            .field("pending_pong", &self.pending_pong)
            .field("fragments", &self.fragments)
            .finish()
    }
}

impl Sender {
    pub(super) fn new(mask_keys: Option<Box<dyn MaskKeys>>) -> Sender {
        Sender {
            queue: OutQueue::default(),
            mask_keys,
            pending_pong: None,
            fragments: None,
        }
    }

    /// Encodes one frame into the queue, masked with the next key when this
    /// is a client (RFC 6455 5.3: a fresh key for every frame).
    #[inline]
    pub(super) fn push_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        let mask = self.mask_keys.as_mut().map(|keys| keys.next_key());
        self.queue.push_frame(opcode, fin, rsv, payload, mask);
    }

    /// Queues a whole frame built elsewhere (a [`PreparedMessage`]'s) as it
    /// is, shared rather than copied. A server's only: a client masks each
    /// frame with a key of its own.
    ///
    /// [`PreparedMessage`]: crate::PreparedMessage
    pub(super) fn push_prepared(&mut self, frame: Bytes) {
        debug_assert!(self.mask_keys.is_none(), "a prepared frame on a client");
        self.queue.push_shared(frame);
    }

    /// Owes the peer a pong for its ping, replacing a pong still owed: when
    /// pings arrive faster than pongs go out, the latest is answered
    /// (RFC 6455 5.5.3).
    pub(super) fn owe_pong(&mut self, payload: Bytes) {
        self.pending_pong = Some(payload);
    }

    /// Forgets the pong owed: the connection has ended.
    pub(super) fn forget_pong(&mut self) {
        self.pending_pong = None;
    }

    /// The fragmented message being sent, if any.
    pub(super) fn fragments(&self) -> Option<&OutFragments> {
        self.fragments.as_ref()
    }

    /// Records what a fragment sent leaves under way: the message, or
    /// nothing once its last fragment is queued.
    pub(super) fn set_fragments(&mut self, fragments: Option<OutFragments>) {
        self.fragments = fragments;
    }

    /// Queues our close frame (no code: an empty payload). RFC 6455 5.5.1:
    /// the endpoint "MUST NOT send any more data frames after sending a
    /// Close frame", so a pong still owed goes out first and a fragmented
    /// message under way is abandoned.
    pub(super) fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) {
        if let Some(pong) = self.pending_pong.take() {
            self.push_frame(OpCode::Pong, true, 0, pong);
        }
        let mut payload = BytesMut::new();
        if let Some(code) = code {
            payload.extend_from_slice(&code.0.to_be_bytes());
            payload.extend_from_slice(truncate_utf8(reason, MAX_CLOSE_REASON).as_bytes());
        }
        self.push_frame(OpCode::Close, true, 0, payload.freeze());
        self.fragments = None;
    }

    /// Bytes queued and not yet handed out, counting an owed pong at its
    /// largest encoded size.
    pub(super) fn buffered(&self) -> usize {
        self.queue.len()
            + self
                .pending_pong
                .as_ref()
                .map_or(0, |p| p.len() + MAX_HEADER_LEN)
    }

    /// Whether nothing waits to be handed out.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.len() == 0 && self.pending_pong.is_none()
    }

    /// Queues the pong owed, if any, where it may go: first when nothing
    /// queued has been written yet (it answers a ping that came before the
    /// frames queued since), else last. While a pong placed before is still
    /// queued it stays owed, so a newer ping replaces its payload.
    #[inline]
    fn place_pong(&mut self) {
        if !self.queue.may_place_pong() {
            return;
        }
        if let Some(payload) = self.pending_pong.take() {
            let mask = self.mask_keys.as_mut().map(|keys| keys.next_key());
            self.queue.place_pong(payload, mask);
        }
    }

    /// Everything queued, as one transmit, with an owed pong first.
    /// Inlined: a `Transmit` returned through a call is copied twice (27
    /// instructions a message when encoding 16-byte messages, counted with
    /// callgrind).
    #[inline]
    pub(super) fn take_transmit(&mut self) -> Option<Transmit> {
        if self.pending_pong.is_some() {
            self.place_pong();
        }
        if self.queue.len() == 0 {
            return None;
        }
        Some(self.queue.take())
    }

    /// Everything queued, lent to be written where it is, with an owed
    /// pong placed first.
    #[inline]
    pub(super) fn lend_transmit(&mut self) -> Option<TransmitRef<'_>> {
        if self.pending_pong.is_some() {
            self.place_pong();
        }
        if self.queue.len() == 0 {
            return None;
        }
        Some(TransmitRef::new(&mut self.queue))
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_reason_is_cut_on_a_char_boundary() {
        let reason = "é".repeat(100); // 200 bytes
        let cut = truncate_utf8(&reason, MAX_CLOSE_REASON);
        assert_eq!(cut.len(), 122);
        assert!(reason.starts_with(cut));
        assert_eq!(truncate_utf8("short", MAX_CLOSE_REASON), "short");
    }

    #[test]
    fn an_owed_pong_goes_out_before_the_close() {
        let mut send = Sender::new(None);
        send.owe_pong(Bytes::from_static(b"p"));
        send.queue_close(Some(CloseCode::NORMAL), "bye");
        let wire = send.take_transmit().unwrap().to_vec();
        assert_eq!(&wire[..3], &[0x8A, 1, b'p']);
        assert_eq!(&wire[3..], &[0x88, 5, 0x03, 0xE8, b'b', b'y', b'e']);
        assert!(send.is_empty());
    }
}
