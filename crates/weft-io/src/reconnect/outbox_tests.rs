//! The tests of the send queue: order, delivery guarantees, limits and
//! overflow policies.

use super::*;

fn text(n: usize) -> Message {
    Message::text("x".repeat(n))
}

fn push(outbox: &mut Outbox, message: Message, delivery: Delivery) -> MessageId {
    outbox.push(message, delivery).unwrap().id
}

/// Writes everything waiting; returns the ids written, in order.
fn write_all(outbox: &mut Outbox) -> Vec<MessageId> {
    let mut ids = Vec::new();
    while let Some((id, _)) = outbox.next_unwritten() {
        outbox.written(id);
        ids.push(id);
    }
    ids
}

#[test]
fn close_frames_and_fragments_are_never_queued() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    let refused = outbox
        .push(Message::Close(None), Delivery::AtMostOnce)
        .unwrap_err();
    assert!(refused.is_unqueueable());
    assert!(!refused.is_too_large());
    assert!(refused.to_string().contains("cannot be queued"));
    let fragment = weft_proto::Fragment {
        kind: weft_proto::MessageKind::Text,
        data: bytes::Bytes::from_static(b"a"),
        is_first: true,
        is_last: false,
    };
    let refused = outbox
        .push(Message::Fragment(fragment), Delivery::AtLeastOnce)
        .unwrap_err();
    assert!(refused.is_unqueueable());
    assert!(outbox.is_empty());
}

#[test]
fn messages_come_out_in_the_order_pushed() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    let ids: Vec<MessageId> = (0..5)
        .map(|i| {
            push(
                &mut outbox,
                Message::text(i.to_string()),
                Delivery::AtMostOnce,
            )
        })
        .collect();
    assert_eq!(ids[0].get(), 1);
    assert_eq!(ids[4].to_string(), "#5");
    assert_eq!(outbox.len(), 5);
    assert_eq!(outbox.bytes(), 5);
    let mut texts = Vec::new();
    while let Some((id, message)) = outbox.next_unwritten() {
        texts.push(message.clone());
        outbox.written(id);
    }
    let expected: Vec<Message> = (0..5).map(|i| Message::text(i.to_string())).collect();
    assert_eq!(texts, expected);
}

#[test]
fn at_most_once_is_forgotten_once_written() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    push(&mut outbox, text(3), Delivery::AtMostOnce);
    assert_eq!(outbox.unwritten(), 1);
    write_all(&mut outbox);
    assert!(outbox.is_empty());
    assert_eq!(outbox.bytes(), 0);
    assert_eq!(outbox.unacked(), 0);
    // Nothing to write again after a loss.
    assert_eq!(outbox.disconnected(), 0);
    assert_eq!(outbox.next_unwritten(), None);
}

#[test]
fn at_least_once_is_written_again_after_a_loss_before_later_pushes() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    let a = push(&mut outbox, Message::text("a"), Delivery::AtLeastOnce);
    let b = push(&mut outbox, Message::text("b"), Delivery::AtMostOnce);
    let c = push(&mut outbox, Message::text("c"), Delivery::AtLeastOnce);
    let d = push(&mut outbox, Message::text("d"), Delivery::AtLeastOnce);
    assert_eq!(write_all(&mut outbox), [a, b, c, d]);
    assert_eq!(outbox.unacked_ids(), [a, c, d]);
    assert!(outbox.ack(c));
    let e = push(&mut outbox, Message::text("e"), Delivery::AtMostOnce);
    assert_eq!(outbox.disconnected(), 2);
    assert_eq!(outbox.unacked(), 0);
    assert_eq!(outbox.unwritten(), 3);
    assert_eq!(outbox.next_unwritten(), Some((a, &Message::text("a"))));
    assert_eq!(write_all(&mut outbox), [a, d, e]);
    assert_eq!(outbox.unacked_ids(), [a, d]);
}

#[test]
fn a_loss_in_the_middle_of_writing_keeps_the_original_order() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    let ids: Vec<MessageId> = (0..4)
        .map(|_| push(&mut outbox, text(1), Delivery::AtLeastOnce))
        .collect();
    // Two written, two still waiting, when the connection is lost.
    for id in &ids[..2] {
        outbox.written(*id);
    }
    assert_eq!(outbox.disconnected(), 2);
    assert_eq!(write_all(&mut outbox), ids);
}

#[test]
fn ack_removes_written_and_unwritten_entries() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    let a = push(&mut outbox, text(2), Delivery::AtLeastOnce);
    let b = push(&mut outbox, text(3), Delivery::AtLeastOnce);
    outbox.written(a);
    assert!(outbox.ack(a));
    assert!(!outbox.ack(a));
    assert_eq!(outbox.bytes(), 3);
    // Acknowledged before it was written: it need not be.
    assert!(outbox.ack(b));
    assert!(outbox.is_empty());
    assert_eq!(outbox.bytes(), 0);
    assert_eq!(outbox.next_unwritten(), None);
    // Written for an id not waiting: nothing happens.
    outbox.written(b);
    assert!(outbox.is_empty());
}

#[test]
fn reject_refuses_past_the_message_limit() {
    let mut outbox = Outbox::new(OutboxLimits::default().max_messages(2));
    push(&mut outbox, text(1), Delivery::AtMostOnce);
    push(&mut outbox, text(1), Delivery::AtLeastOnce);
    let full = outbox
        .push(Message::text("late"), Delivery::AtMostOnce)
        .unwrap_err();
    assert_eq!(full.message, Message::text("late"));
    assert!(!full.is_too_large());
    assert!(full
        .to_string()
        .starts_with("the send queue is full (2 messages, 2 bytes): "));
    assert_eq!(outbox.len(), 2);
    // Unacknowledged entries count too.
    write_all(&mut outbox);
    assert_eq!(outbox.len(), 1);
    push(&mut outbox, text(1), Delivery::AtMostOnce);
    assert!(outbox.push(text(1), Delivery::AtMostOnce).is_err());
}

#[test]
fn reject_refuses_past_the_byte_limit() {
    let mut outbox = Outbox::new(OutboxLimits::default().max_bytes(10));
    push(&mut outbox, text(6), Delivery::AtMostOnce);
    push(&mut outbox, text(4), Delivery::AtMostOnce);
    let full = outbox.push(text(1), Delivery::AtMostOnce).unwrap_err();
    assert_eq!(full.into_message(), text(1));
    assert_eq!(outbox.bytes(), 10);
    assert!(outbox.push(Message::text(""), Delivery::AtMostOnce).is_ok());
}

#[test]
fn drop_oldest_makes_room_at_the_message_limit() {
    let limits = OutboxLimits::default()
        .max_messages(3)
        .overflow(Overflow::DropOldest);
    let mut outbox = Outbox::new(limits);
    let a = push(&mut outbox, text(1), Delivery::AtLeastOnce);
    let b = push(&mut outbox, text(1), Delivery::AtMostOnce);
    let c = push(&mut outbox, text(1), Delivery::AtMostOnce);
    // The oldest is awaiting acknowledgement: it goes all the same.
    outbox.written(a);
    let pushed = outbox.push(text(1), Delivery::AtMostOnce).unwrap();
    assert_eq!(pushed.dropped, [a]);
    assert_eq!(outbox.unacked(), 0);
    let pushed = outbox.push(text(1), Delivery::AtMostOnce).unwrap();
    assert_eq!(pushed.dropped, [b]);
    assert_eq!(outbox.len(), 3);
    assert_eq!(outbox.next_unwritten().unwrap().0, c);
}

#[test]
fn drop_oldest_makes_room_at_the_byte_limit() {
    let limits = OutboxLimits::default()
        .max_bytes(10)
        .overflow(Overflow::DropOldest);
    let mut outbox = Outbox::new(limits);
    let a = push(&mut outbox, text(4), Delivery::AtLeastOnce);
    let b = push(&mut outbox, text(4), Delivery::AtMostOnce);
    let c = push(&mut outbox, text(2), Delivery::AtMostOnce);
    // 5 more bytes need the first two to go, the one awaiting its
    // acknowledgement and the one waiting to be written.
    outbox.written(a);
    let pushed = outbox.push(text(5), Delivery::AtMostOnce).unwrap();
    assert_eq!(pushed.dropped, [a, b]);
    assert_eq!(outbox.bytes(), 7);
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox.next_unwritten().unwrap().0, c);
    let pushed = outbox.push(text(3), Delivery::AtMostOnce).unwrap();
    assert!(pushed.dropped.is_empty());
    assert_eq!(outbox.bytes(), 10);
}

#[test]
fn drop_newest_drops_the_new_message_at_either_limit() {
    let limits = OutboxLimits::default()
        .max_messages(2)
        .max_bytes(10)
        .overflow(Overflow::DropNewest);
    let mut outbox = Outbox::new(limits);
    let a = push(&mut outbox, text(8), Delivery::AtMostOnce);
    // The byte limit.
    let pushed = outbox.push(text(3), Delivery::AtMostOnce).unwrap();
    assert_eq!(pushed.dropped, [pushed.id]);
    assert!(pushed.id > a);
    push(&mut outbox, text(2), Delivery::AtMostOnce);
    // The message limit.
    let pushed = outbox
        .push(Message::text(""), Delivery::AtMostOnce)
        .unwrap();
    assert_eq!(pushed.dropped, [pushed.id]);
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox.next_unwritten().unwrap().0, a);
}

#[test]
fn a_message_over_max_bytes_is_refused_under_every_policy() {
    for overflow in [Overflow::Reject, Overflow::DropOldest, Overflow::DropNewest] {
        let limits = OutboxLimits::default().max_bytes(8).overflow(overflow);
        let mut outbox = Outbox::new(limits);
        push(&mut outbox, text(4), Delivery::AtMostOnce);
        let refused = outbox.push(text(9), Delivery::AtMostOnce).unwrap_err();
        assert!(refused.is_too_large(), "{overflow:?}");
        assert_eq!(
            refused.to_string(),
            "the send queue is full (1 messages, 4 bytes): a message of 9 bytes is over \
             the limit of 8 bytes on its own (send smaller messages, or raise \
             OutboxLimits::max_bytes)"
        );
        // Nothing held was dropped for it.
        assert_eq!(outbox.len(), 1, "{overflow:?}");
    }
    let mut outbox = Outbox::new(OutboxLimits::default().max_messages(0));
    assert!(outbox
        .push(text(1), Delivery::AtMostOnce)
        .unwrap_err()
        .is_too_large());
}

#[test]
fn control_messages_count_their_payloads() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    push(
        &mut outbox,
        Message::Ping(vec![0; 5].into()),
        Delivery::AtMostOnce,
    );
    push(
        &mut outbox,
        Message::binary(vec![0; 7]),
        Delivery::AtMostOnce,
    );
    push(
        &mut outbox,
        Message::Pong(vec![0; 3].into()),
        Delivery::AtMostOnce,
    );
    assert_eq!(outbox.bytes(), 5 + 7 + 3);
    assert_eq!(outbox.len(), 3);
}

#[test]
fn clear_forgets_everything_and_names_it() {
    let mut outbox = Outbox::new(OutboxLimits::default());
    let a = push(&mut outbox, text(1), Delivery::AtLeastOnce);
    let b = push(&mut outbox, text(1), Delivery::AtMostOnce);
    outbox.written(a);
    assert_eq!(outbox.clear(), [a, b]);
    assert!(outbox.is_empty());
    assert_eq!(outbox.bytes(), 0);
}
