//! The hub on the in-process backplane: fan-out, the slow-consumer
//! policy, recovery by position, presence.

use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use weft_hub::{Hub, HubOptions, Kind, Position, Recovery, Since};

use weft_io::Message;
use weft_proto::PreparedMessage;

/// Every entry, presence too, as a binary message of its payload.
fn options() -> HubOptions {
    HubOptions::new().framer(Arc::new(|entry: &weft_hub::Entry| {
        Some(Message::Prepared(PreparedMessage::binary(
            entry.payload.clone(),
        )))
    }))
}

/// The next delivery, within a few seconds.
async fn next(subscription: &mut weft_hub::Subscription) -> Option<weft_hub::Delivery> {
    tokio::time::timeout(Duration::from_secs(5), subscription.recv())
        .await
        .expect("no delivery within 5 s")
}

fn text(delivery: &weft_hub::Delivery) -> String {
    String::from_utf8(delivery.entry.payload.to_vec()).unwrap()
}

#[tokio::test]
async fn every_member_gets_every_message_once_in_order_framed_once() {
    let hub = Hub::new(HubOptions::new());
    let mut a = hub.subscribe("room", Since::Now).await.unwrap();
    let mut b = hub.subscribe("room", Since::Now).await.unwrap();
    let mut other = hub.subscribe("elsewhere", Since::Now).await.unwrap();
    for i in 0..50 {
        hub.publish("room", Kind::Text, Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    for i in 0..50 {
        let (x, y) = (next(&mut a).await.unwrap(), next(&mut b).await.unwrap());
        assert_eq!((text(&x), text(&y)), (i.to_string(), i.to_string()));
        // One frame for both: the prepared message shares its bytes.
        match (&x.message, &y.message) {
            (Message::Prepared(p), Message::Prepared(q)) => {
                assert_eq!(p.payload().as_ptr(), q.payload().as_ptr())
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(other.try_recv().is_none());
}

#[tokio::test]
async fn a_sender_that_asks_not_to_be_echoed_is_not() {
    let hub = Hub::new(HubOptions::new());
    let mut a = hub.subscribe("room", Since::Now).await.unwrap();
    let mut b = hub.subscribe("room", Since::Now).await.unwrap();
    a.publish(Kind::Binary, Bytes::from_static(b"x"), false)
        .await
        .unwrap();
    a.publish(Kind::Binary, Bytes::from_static(b"y"), true)
        .await
        .unwrap();
    assert_eq!(text(&next(&mut b).await.unwrap()), "x");
    assert_eq!(text(&next(&mut b).await.unwrap()), "y");
    assert_eq!(text(&next(&mut a).await.unwrap()), "y");
    assert!(a.try_recv().is_none());
}

#[tokio::test]
async fn a_member_that_cannot_keep_up_is_removed_and_the_others_get_everything() {
    let hub = Hub::new(options().queue(3));
    let mut fast = hub.subscribe("room", Since::Now).await.unwrap();
    let mut slow = hub.subscribe("room", Since::Now).await.unwrap();
    slow.join_presence(Bytes::from_static(b"slow"))
        .await
        .unwrap();
    assert_eq!(next(&mut fast).await.unwrap().entry.kind, Kind::Joined);
    for i in 0..10 {
        hub.publish("room", Kind::Text, Bytes::from(i.to_string()))
            .await
            .unwrap();
        assert_eq!(text(&next(&mut fast).await.unwrap()), i.to_string());
        if i == 3 {
            // Its leaving came right after the message it could not take.
            let left = next(&mut fast).await.unwrap();
            assert_eq!((left.entry.kind, text(&left)), (Kind::Left, "slow".into()));
        }
    }
    assert!(slow.overflowed());
    // It still gets what its queue held (the three first), then the end.
    for i in 0..3 {
        assert_eq!(text(&next(&mut slow).await.unwrap()), i.to_string());
    }
    assert!(next(&mut slow).await.is_none());
    assert!(hub.presence("room").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_client_resumes_after_its_position_or_is_told_it_cannot() {
    let hub = Hub::new(HubOptions::new().history_len(5));
    let mut first = hub.subscribe("room", Since::Now).await.unwrap();
    for i in 0..3 {
        hub.publish("room", Kind::Text, Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    let seen = next(&mut first).await.unwrap().entry.position();
    drop(first);
    // It saw "0"; "1" and "2" came since, then two more.
    for i in 3..5 {
        hub.publish("room", Kind::Text, Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    let resume = |from: Position| Since::Resume {
        from,
        else_recent: 2,
    };
    let mut back = hub.subscribe("room", resume(seen.clone())).await.unwrap();
    assert_eq!(back.recovery(), Recovery::Recovered);
    let missed: Vec<String> = back.take_history().iter().map(text).collect();
    assert_eq!(missed, ["1", "2", "3", "4"]);
    hub.publish("room", Kind::Text, Bytes::from("5"))
        .await
        .unwrap();
    assert_eq!(text(&next(&mut back).await.unwrap()), "5");
    // Two more and "1" is dropped from a history of five: not recovered,
    // and the two newest are given instead.
    for i in 6..8 {
        hub.publish("room", Kind::Text, Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    let mut late = hub.subscribe("room", resume(seen.clone())).await.unwrap();
    assert_eq!(late.recovery(), Recovery::NotRecovered);
    let newest: Vec<String> = late.take_history().iter().map(text).collect();
    assert_eq!(newest, ["6", "7"]);
    // Another epoch (another hub, as after a restart): not recovered.
    let restarted = Hub::new(HubOptions::new());
    let there = restarted.subscribe("room", resume(seen)).await.unwrap();
    assert_eq!(there.recovery(), Recovery::NotRecovered);
}

#[tokio::test]
async fn presence_lists_members_until_they_leave() {
    let hub = Hub::new(options());
    let ada = hub.subscribe("room", Since::Now).await.unwrap();
    let mut bob = hub.subscribe("room", Since::Now).await.unwrap();
    ada.join_presence(Bytes::from_static(b"ada")).await.unwrap();
    bob.join_presence(Bytes::from_static(b"bob")).await.unwrap();
    let mut names = hub.presence("room").await.unwrap();
    names.sort();
    assert_eq!(
        names,
        [Bytes::from_static(b"ada"), Bytes::from_static(b"bob")]
    );
    let joined = next(&mut bob).await.unwrap();
    assert_eq!(
        (joined.entry.kind, text(&joined)),
        (Kind::Joined, "ada".into())
    );
    ada.leave().await;
    let left = next(&mut bob).await.unwrap();
    assert_eq!((left.entry.kind, text(&left)), (Kind::Left, "ada".into()));
    assert_eq!(
        hub.presence("room").await.unwrap(),
        [Bytes::from_static(b"bob")]
    );
}
