//! The Redis backplane against a real Redis (Debian's `redis-server`),
//! with the failures injected: a node cut off from Redis while others
//! publish, a node that dies without a word, a member too slow to keep up.
//! `tests/hub/run.sh` installs Redis and runs these tests, which a plain
//! `cargo test` skips.

#![cfg(feature = "redis")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_hub::{Delivery, Hub, HubOptions, Kind, Recovery, Since, Subscription};
use weft_io::Message;
use weft_proto::PreparedMessage;
use weft_test_support::real_redis::{Persistence, RealRedis};
use weft_test_support::FaultProxy;

const WAIT: Duration = Duration::from_secs(20);

/// Every entry, presence too, as a binary message of its payload.
fn options() -> HubOptions {
    HubOptions::new()
        .node_ttl(Duration::from_secs(1))
        .framer(Arc::new(|entry: &weft_hub::Entry| {
            Some(Message::Prepared(PreparedMessage::binary(
                entry.payload.clone(),
            )))
        }))
}

async fn next(subscription: &mut Subscription) -> Option<Delivery> {
    tokio::time::timeout(WAIT, subscription.recv())
        .await
        .expect("no delivery within the wait")
}

fn text(delivery: &Delivery) -> String {
    String::from_utf8(delivery.entry.payload.to_vec()).unwrap()
}

/// Publishes until Redis takes it (it may be coming back).
async fn publish(hub: &Hub, topic: &str, text: &str) {
    let deadline = Instant::now() + WAIT;
    while hub
        .publish(topic, Kind::Text, Bytes::from(text.to_owned()))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "Redis did not take {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn a_node_cut_off_from_redis_resumes_from_its_last_id() {
    let redis = RealRedis::start(Persistence::None);
    let proxy = FaultProxy::start(redis.addr).unwrap();
    let cut_off = Hub::redis(&format!("redis://{}", proxy.addr()), options())
        .await
        .unwrap();
    let other = Hub::redis(&redis.url(), options()).await.unwrap();
    let mut member = cut_off.subscribe("feed", Since::Now).await.unwrap();
    for i in 0..10 {
        publish(&other, "feed", &format!("m{i}")).await;
    }
    for i in 0..10 {
        assert_eq!(text(&next(&mut member).await.unwrap()), format!("m{i}"));
    }
    // Its connections to Redis are cut and new ones refused for a while;
    // meanwhile the other node publishes.
    proxy.refuse(true);
    proxy.cut();
    for i in 10..60 {
        publish(&other, "feed", &format!("m{i}")).await;
    }
    assert!(member.try_recv().is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.refuse(false);
    // It reads again from its last id: all of them, once, in order.
    for i in 10..60 {
        assert_eq!(text(&next(&mut member).await.unwrap()), format!("m{i}"));
    }
    publish(&other, "feed", "live").await;
    assert_eq!(text(&next(&mut member).await.unwrap()), "live");
    assert!(member.try_recv().is_none());
    assert!(!member.overflowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn a_node_cut_off_for_longer_than_the_history_removes_its_members_as_lagged() {
    let redis = RealRedis::start(Persistence::None);
    let proxy = FaultProxy::start(redis.addr).unwrap();
    let options = options().history_len(3);
    let cut_off = Hub::redis(&format!("redis://{}", proxy.addr()), options.clone())
        .await
        .unwrap();
    let other = Hub::redis(&redis.url(), options).await.unwrap();
    let mut member = cut_off.subscribe("feed", Since::Now).await.unwrap();
    publish(&other, "feed", "seen").await;
    assert_eq!(text(&next(&mut member).await.unwrap()), "seen");
    proxy.refuse(true);
    proxy.cut();
    // Far more than the stream keeps (at least 1024, and Redis trims
    // blocks of about 100).
    for i in 0..1600 {
        publish(&other, "feed", &format!("m{i}")).await;
    }
    proxy.refuse(false);
    // Its node's position left the history: it is not given what is left
    // as if nothing were missing, but removed, marked as lagged.
    assert!(next(&mut member).await.is_none());
    assert!(member.lagged() && !member.overflowed());
    // Resuming from where it was: not recovered.
    let from = member.position();
    let back = cut_off
        .subscribe(
            "feed",
            Since::Resume {
                from,
                else_recent: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(back.recovery(), Recovery::NotRecovered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn subscriptions_that_start_together_on_a_node_each_get_everything_after_their_start() {
    let redis = RealRedis::start(Persistence::None);
    let publisher = Hub::redis(&redis.url(), options()).await.unwrap();
    let mut reference = publisher.subscribe("burst", Since::Now).await.unwrap();
    let node = Hub::redis(&redis.url(), options()).await.unwrap();
    // Messages flow while 200 subscriptions start at once on a node
    // that does not read the topic yet.
    let flow = tokio::spawn({
        let publisher = publisher.clone();
        async move {
            for i in 0..400 {
                publish(&publisher, "burst", &format!("m{i}")).await;
            }
            publish(&publisher, "burst", "end").await;
        }
    });
    let starts: Vec<_> = (0..200)
        .map(|_| {
            let node = node.clone();
            tokio::spawn(async move { node.subscribe("burst", Since::Now).await.unwrap() })
        })
        .collect();
    let mut subscriptions = Vec::new();
    for start in starts {
        subscriptions.push(start.await.unwrap());
    }
    flow.await.unwrap();
    let mut all = Vec::new();
    loop {
        let delivery = next(&mut reference).await.unwrap();
        all.push(delivery.entry.offset);
        if text(&delivery) == "end" {
            break;
        }
    }
    for mut subscription in subscriptions {
        let start = subscription.position().offset;
        let expected: Vec<_> = all
            .iter()
            .copied()
            .filter(|offset| *offset > start)
            .collect();
        let mut got = Vec::new();
        while got.len() < expected.len() {
            got.push(next(&mut subscription).await.unwrap().entry.offset);
        }
        assert_eq!(
            got, expected,
            "a subscription starting after {start} missed or repeated some"
        );
        assert!(subscription.try_recv().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn a_client_resumes_on_another_node_or_is_told_it_cannot() {
    let redis = RealRedis::start(Persistence::None);
    let options = options().history_len(3);
    let (a, b) = (
        Hub::redis(&redis.url(), options.clone()).await.unwrap(),
        Hub::redis(&redis.url(), options).await.unwrap(),
    );
    // Seen nothing yet, in an empty topic: resumes from the start.
    let first = a.subscribe("room", Since::Now).await.unwrap();
    let start = first.position();
    assert_eq!(start.offset, weft_hub::Offset::ZERO);
    drop(first);
    for i in 0..3 {
        publish(&a, "room", &format!("m{i}")).await;
    }
    let resume = |from| Since::Resume {
        from,
        else_recent: 2,
    };
    let mut on_b = b.subscribe("room", resume(start.clone())).await.unwrap();
    assert_eq!(on_b.recovery(), Recovery::Recovered);
    let missed: Vec<String> = on_b.take_history().iter().map(text).collect();
    assert_eq!(missed, ["m0", "m1", "m2"]);
    let seen = on_b.position();
    drop(on_b);
    // A client may miss three: after 300 more, it is not recovered,
    // though the stream still holds them all.
    for i in 3..303 {
        publish(&a, "room", &format!("m{i}")).await;
    }
    let late = b.subscribe("room", resume(seen.clone())).await.unwrap();
    assert_eq!(late.recovery(), Recovery::NotRecovered);
    let since_start = b.subscribe("room", resume(start)).await.unwrap();
    assert_eq!(since_start.recovery(), Recovery::NotRecovered);
    // Another epoch: not recovered; an offset from the future neither.
    let mut other_epoch = seen.clone();
    other_epoch.epoch = "0000000000000000".into();
    let elsewhere = b.subscribe("room", resume(other_epoch)).await.unwrap();
    assert_eq!(elsewhere.recovery(), Recovery::NotRecovered);
    let mut future = seen;
    future.offset.ms += 1_000_000;
    assert_eq!(
        b.subscribe("room", resume(future))
            .await
            .unwrap()
            .recovery(),
        Recovery::NotRecovered
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn a_dead_nodes_members_leave_the_presence_within_the_node_ttl() {
    let redis = RealRedis::start(Persistence::None);
    let alive = Hub::redis(&redis.url(), options()).await.unwrap();
    let mut watcher = alive.subscribe("room", Since::Now).await.unwrap();
    watcher
        .join_presence(Bytes::from_static(b"watcher"))
        .await
        .unwrap();
    // A node in a runtime of its own, which is then dropped: its tasks
    // stop at once, as if the process died.
    let url = redis.url();
    let doomed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let hub = Hub::redis(&url, options()).await.unwrap();
            let member = hub.subscribe("room", Since::Now).await.unwrap();
            member
                .join_presence(Bytes::from_static(b"doomed"))
                .await
                .unwrap();
            // Never leaves: no Left is published by it.
            std::mem::forget(member);
        });
        runtime.shutdown_background();
    });
    doomed.join().unwrap();
    let joined = next(&mut watcher).await.unwrap();
    assert_eq!(
        (joined.entry.kind, text(&joined)),
        (Kind::Joined, "doomed".into())
    );
    let mut names = alive.presence("room").await.unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            Bytes::from_static(b"doomed"),
            Bytes::from_static(b"watcher")
        ]
    );
    // Its heartbeat key expires after 1 s; the next sweep (every third of
    // that) removes its member and publishes the leaving, once.
    let started = Instant::now();
    let left = next(&mut watcher).await.unwrap();
    assert_eq!(
        (left.entry.kind, text(&left)),
        (Kind::Left, "doomed".into())
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        alive.presence("room").await.unwrap(),
        [Bytes::from_static(b"watcher")]
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(watcher.try_recv().is_none(), "left twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn a_member_too_slow_for_the_redis_feed_is_removed_and_its_leaving_published() {
    let redis = RealRedis::start(Persistence::None);
    let hub = Hub::redis(&redis.url(), options().queue(4)).await.unwrap();
    let mut fast = hub.subscribe("room", Since::Now).await.unwrap();
    let mut slow = hub.subscribe("room", Since::Now).await.unwrap();
    slow.join_presence(Bytes::from_static(b"slow"))
        .await
        .unwrap();
    assert_eq!(next(&mut fast).await.unwrap().entry.kind, Kind::Joined);
    // The fast one reads each as it comes; the slow one never does.
    let mut got = Vec::new();
    for i in 0..20 {
        publish(&hub, "room", &format!("m{i}")).await;
        loop {
            let delivery = next(&mut fast).await.unwrap();
            let done = text(&delivery) == format!("m{i}");
            got.push(delivery);
            if done {
                break;
            }
        }
    }
    // Its leaving, if it came after the last message.
    while !got.iter().any(|d| d.entry.kind == Kind::Left) {
        got.push(next(&mut fast).await.unwrap());
    }
    let texts: Vec<String> = got
        .iter()
        .filter(|d| d.entry.kind == Kind::Text)
        .map(text)
        .collect();
    assert_eq!(texts, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert!(got
        .iter()
        .any(|d| d.entry.kind == Kind::Left && text(d) == "slow"));
    assert!(slow.overflowed());
    // It keeps what its queue held (its own joining first), then the end.
    let mut held = 0;
    while next(&mut slow).await.is_some() {
        held += 1;
    }
    assert_eq!(held, 4);
    assert!(hub.presence("room").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (tests/hub/run.sh)"]
async fn a_redis_that_cannot_be_reached_or_a_url_that_is_not_redis_is_refused_at_once() {
    let nothing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = nothing.local_addr().unwrap();
    drop(nothing);
    let err = Hub::redis(&format!("redis://{addr}"), HubOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), weft_hub::ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    let err = Hub::redis("http://x", HubOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), weft_hub::ErrorKind::Config, "{err}");
}
