//! The reconnecting client against real servers on loopback, with faults
//! injected by a TCP proxy (cuts, resets, stalls) and by servers that
//! restart, refuse, or close at once. The backoff is checked on tokio's
//! paused clock.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use weft_proto::handshake::Reject;
use weft_test_support::FaultProxy;
use weft_tokio::reconnect::{
    self, ClientEvent, Disconnect, OutboxLimits, Overflow, ReconnectOptions, ReconnectPolicy,
    ReconnectingClient,
};
use weft_tokio::weft_proto;
use weft_tokio::{accept_with, Accept, ClientOptions, CloseCode, CloseReason, Config, Message};

use common::LIMIT;

/// What a test server saw: every text message, across connections, and
/// how many connections it accepted.
#[derive(Clone, Default)]
struct Seen {
    messages: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<usize>>,
}

impl Seen {
    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// An echo server on `listener` that records what it receives. Aborting
/// the handle stops it as a crash would: the listener and every connection
/// close.
fn echo_server(listener: TcpListener, seen: Seen) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Connections live in this set, so they end with the server.
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            *seen.connections.lock().unwrap() += 1;
            let seen = seen.clone();
            connections.spawn(async move {
                let Ok(mut ws) = accept_with(tcp, Config::default(), |_| Ok(Accept::new())).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = &message {
                        seen.messages.lock().unwrap().push(text.to_string());
                    }
                    if message.is_data() && ws.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

/// A policy that retries quickly, for tests on the real clock.
fn quick() -> ReconnectOptions {
    ReconnectOptions::new().policy(
        ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(20))
            .max_delay(Duration::from_millis(200))
            .min_uptime(Duration::from_millis(100)),
    )
}

/// The next event, within the test's limit.
async fn next(client: &mut ReconnectingClient) -> ClientEvent {
    timeout(LIMIT, client.next_event())
        .await
        .expect("no event within the limit")
        .expect("the client ended")
}

/// Events until one matches `want`; the ones before it.
async fn until(
    client: &mut ReconnectingClient,
    want: impl Fn(&ClientEvent) -> bool,
) -> (ClientEvent, Vec<ClientEvent>) {
    let mut before = Vec::new();
    loop {
        let event = next(client).await;
        if want(&event) {
            return (event, before);
        }
        before.push(event);
    }
}

fn is_connected(event: &ClientEvent) -> bool {
    matches!(event, ClientEvent::Connected { .. })
}

#[tokio::test]
async fn a_silent_peer_is_detected_within_the_keepalive_interval_and_pong_timeout() {
    let (listener, addr) = common::listener().await;
    let _server = echo_server(listener, Seen::default());
    let proxy = FaultProxy::start(addr).unwrap();
    let keepalive = Duration::from_millis(200);
    let options =
        ClientOptions::new().config(Config::default().keepalive(Some(keepalive), keepalive));
    let mut client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .options(options)
        .reconnect(quick())
        .start();
    until(&mut client, is_connected).await;
    proxy.stall(true);
    let stalled = Instant::now();
    let (event, _) = until(&mut client, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let ClientEvent::Disconnected { cause, .. } = event else {
        unreachable!()
    };
    assert!(
        matches!(cause, Disconnect::Closed(CloseReason::TimedOut(_))),
        "a silent peer fails the connection by the pong timeout: {cause}"
    );
    // Found after the keepalive interval and the pong timeout, not at the
    // first sign of silence.
    assert!(stalled.elapsed() >= keepalive * 2 - Duration::from_millis(50));
    proxy.stall(false);
    until(&mut client, is_connected).await;
}

#[tokio::test]
async fn a_restarted_server_gets_the_hook_first_then_the_queue_in_order() {
    let (listener, addr) = common::listener().await;
    let seen = Seen::default();
    let server = echo_server(listener, seen.clone());
    let hooks = Arc::new(Mutex::new(0u32));
    let counter = hooks.clone();
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .on_connect(move |ws| {
            let n = {
                let mut hooks = counter.lock().unwrap();
                *hooks += 1;
                *hooks
            };
            Box::pin(async move { ws.send(Message::text(format!("hello {n}"))).await })
        })
        .start();
    until(&mut client, is_connected).await;
    client.send("before").unwrap();
    until(
        &mut client,
        |e| matches!(e, ClientEvent::Message(Message::Text(t)) if t.as_str() == "before"),
    )
    .await;

    // The server goes away: its listener and every connection.
    server.abort();
    let (event, _) = until(&mut client, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    assert!(matches!(event, ClientEvent::Disconnected { .. }));
    for i in 0..5 {
        client.send(format!("queued {i}")).unwrap();
    }
    // Back on the same port.
    let listener = TcpListener::bind(addr).await.unwrap();
    let _server = echo_server(listener, seen.clone());
    until(&mut client, is_connected).await;
    let (_, _) = until(
        &mut client,
        |e| matches!(e, ClientEvent::Message(Message::Text(t)) if t.as_str() == "queued 4"),
    )
    .await;
    let messages = seen.messages();
    let after = &messages[messages
        .iter()
        .position(|m| m == "hello 2")
        .expect("the hook ran again")..];
    let expected: Vec<String> = std::iter::once("hello 2".to_owned())
        .chain((0..5).map(|i| format!("queued {i}")))
        .collect();
    assert_eq!(after, expected, "the hook first, then the queue in order");
    assert_eq!(messages[..2], ["hello 1".to_owned(), "before".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_survive_random_cuts_with_at_least_once() {
    const N: usize = 10_000;
    let (listener, addr) = common::listener().await;
    let seen = Seen::default();
    let _server = echo_server(listener, seen.clone());
    let proxy = Arc::new(FaultProxy::start(addr).unwrap());
    let options = quick().outbox(OutboxLimits::default().max_messages(N));
    let mut client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .reconnect(options)
        .start();
    let mut ids = HashMap::new();
    for i in 0..N {
        let pushed = client.send_reliable(i.to_string()).unwrap();
        ids.insert(i.to_string(), pushed.id);
    }
    // Cut every few hundred messages the server receives, at a varying
    // point (a fixed pseudo-random sequence).
    let cutter = {
        let (proxy, seen) = (proxy.clone(), seen.clone());
        tokio::spawn(async move {
            let mut next_cut = 150;
            let mut x: u32 = 12345;
            let mut cuts = 0;
            while seen.messages.lock().unwrap().len() < N {
                if seen.messages.lock().unwrap().len() >= next_cut {
                    proxy.cut();
                    cuts += 1;
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    next_cut += 100 + (x >> 16) as usize % 400;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            cuts
        })
    };
    let mut acked = 0;
    let mut reconnects = 0;
    while acked < N {
        match next(&mut client).await {
            ClientEvent::Message(Message::Text(text)) if client.ack(ids[text.as_str()]) => {
                acked += 1;
            }
            ClientEvent::Connected { .. } => reconnects += 1,
            ClientEvent::GaveUp { cause } => panic!("gave up: {cause}"),
            _ => {}
        }
    }
    let cuts = timeout(LIMIT, cutter).await.unwrap().unwrap();
    assert!(cuts >= 5, "the proxy cut the connection {cuts} times");
    assert!(
        reconnects > cuts / 2,
        "{reconnects} connections for {cuts} cuts"
    );
    let received: std::collections::HashSet<_> = seen.messages().into_iter().collect();
    assert_eq!(
        received.len(),
        N,
        "every message reached the server at least once"
    );
    assert_eq!(client.unacked(), 0);
    assert_eq!(client.queued(), 0);
}

#[tokio::test]
async fn a_401_is_final() {
    let (listener, addr) = common::listener().await;
    let seen = Seen::default();
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            *counter.connections.lock().unwrap() += 1;
            let _ = accept_with(tcp, Config::default(), |_| Err(Reject::new(401))).await;
        }
    });
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    let (event, _) = until(&mut client, |e| matches!(e, ClientEvent::GaveUp { .. })).await;
    let ClientEvent::GaveUp {
        cause: Disconnect::Failed(e),
    } = event
    else {
        panic!("expected a failed attempt, got {event:?}");
    };
    assert_eq!(e.rejection().map(|r| r.status), Some(401));
    assert!(
        client.next_event().await.is_none(),
        "nothing after giving up"
    );
    assert_eq!(seen.connections(), 1, "no second attempt");
}

#[tokio::test]
async fn a_1008_close_is_final() {
    let (listener, addr) = common::listener().await;
    let seen = Seen::default();
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            *counter.connections.lock().unwrap() += 1;
            let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
                .await
                .unwrap();
            ws.send(Message::Close(Some(weft_proto::CloseFrame::new(
                CloseCode::POLICY_VIOLATION,
                "not allowed",
            ))))
            .await
            .unwrap();
            while ws.next().await.is_some() {}
        }
    });
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    let (event, _) = until(&mut client, |e| matches!(e, ClientEvent::GaveUp { .. })).await;
    let ClientEvent::GaveUp {
        cause: Disconnect::Closed(CloseReason::Clean(frame)),
    } = event
    else {
        panic!("expected a clean close, got {event:?}");
    };
    assert_eq!(frame.code, CloseCode::POLICY_VIOLATION);
    assert!(client.next_event().await.is_none());
    assert_eq!(seen.connections(), 1);
}

#[tokio::test]
async fn the_applications_own_close_is_final() {
    let (listener, addr) = common::listener().await;
    let seen = Seen::default();
    let _server = echo_server(listener, seen.clone());
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    until(&mut client, is_connected).await;
    client.close(None);
    let (event, _) = until(&mut client, |e| matches!(e, ClientEvent::Closed(_))).await;
    let ClientEvent::Closed(Some(reason)) = event else {
        panic!("expected the close to complete, got {event:?}");
    };
    assert!(reason.is_clean(), "{reason}");
    assert!(client.next_event().await.is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_accepts_and_closes_at_once_gets_attempts_on_the_backoff() {
    let (listener, addr) = common::listener().await;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            drop(tcp);
        }
    });
    let policy = ReconnectPolicy::default()
        .initial_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(8))
        .multiplier(2.0)
        .max_attempts(Some(6));
    // The top of every jitter range: the delays are the backoff's ceilings.
    let options = ReconnectOptions::new().policy(policy).jitter(|| 1.0);
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(options)
        .start();
    let mut attempts = Vec::new();
    loop {
        match next(&mut client).await {
            ClientEvent::Connecting { attempt } => attempts.push((attempt, Instant::now())),
            ClientEvent::GaveUp { .. } => break,
            _ => {}
        }
    }
    assert_eq!(
        attempts.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let gaps: Vec<u64> = attempts
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).as_millis() as u64)
        .collect();
    let expected = [1000, 2000, 4000, 8000, 8000];
    for (gap, want) in gaps.iter().zip(expected) {
        assert!(
            gap.abs_diff(want) < 50,
            "gaps {gaps:?}, expected {expected:?}"
        );
    }
}

/// Fills a queue of three messages while nothing listens, then starts the
/// server: what reaches it is what the overflow policy kept.
async fn overflow(policy: Overflow) -> (Vec<Result<reconnect::Pushed, String>>, Vec<String>) {
    let addr: SocketAddr = weft_test_support::one_shot::closed_port();
    let limits = OutboxLimits::default().max_messages(3).overflow(policy);
    let reconnect = quick().outbox(limits);
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(reconnect)
        .start();
    until(&mut client, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let results: Vec<_> = (0..5)
        .map(|i| {
            client.send(format!("m{i}")).map_err(|e| match e.message {
                Message::Text(text) => text.to_string(),
                other => panic!("not the message sent: {other:?}"),
            })
        })
        .collect();
    let seen = Seen::default();
    let _server = echo_server(TcpListener::bind(addr).await.unwrap(), seen.clone());
    let mut echoed = Vec::new();
    while echoed.len() < 3 {
        if let ClientEvent::Message(Message::Text(t)) = next(&mut client).await {
            echoed.push(t.to_string());
        }
    }
    (results, seen.messages())
}

#[tokio::test]
async fn the_queue_rejects_when_full_under_reject() {
    let (results, received) = overflow(Overflow::Reject).await;
    assert!(results[..3].iter().all(|r| r.is_ok()));
    assert_eq!(
        results[3].as_ref().unwrap_err(),
        "m3",
        "the message comes back"
    );
    assert_eq!(results[4].as_ref().unwrap_err(), "m4");
    assert_eq!(received, ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn the_queue_drops_the_oldest_under_drop_oldest() {
    let (results, received) = overflow(Overflow::DropOldest).await;
    let ids: Vec<_> = results.iter().map(|r| r.as_ref().unwrap().id).collect();
    assert_eq!(results[3].as_ref().unwrap().dropped, [ids[0]]);
    assert_eq!(results[4].as_ref().unwrap().dropped, [ids[1]]);
    assert_eq!(received, ["m2", "m3", "m4"]);
}

#[tokio::test]
async fn the_queue_drops_the_newest_under_drop_newest() {
    let (results, received) = overflow(Overflow::DropNewest).await;
    let pushed: Vec<_> = results.iter().map(|r| r.as_ref().unwrap()).collect();
    assert!(pushed[..3].iter().all(|p| p.dropped.is_empty()));
    assert_eq!(pushed[3].dropped, [pushed[3].id]);
    assert_eq!(pushed[4].dropped, [pushed[4].id]);
    assert_eq!(received, ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn each_attempt_asks_for_its_request() {
    let (listener, addr) = common::listener().await;
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen_tokens = tokens.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tokens = seen_tokens.clone();
            let _ = accept_with(tcp, Config::default(), move |request| {
                let token = request
                    .headers()
                    .get_str("authorization")
                    .unwrap_or("")
                    .to_owned();
                tokens.lock().unwrap().push(token.clone());
                // The first token has expired.
                if token == "Bearer 1" {
                    Err(Reject::new(503))
                } else {
                    Ok(Accept::new())
                }
            })
            .await;
        }
    });
    let url = format!("ws://{addr}/");
    let mut client = reconnect::connect("unused")
        .request_with(move |attempt| {
            (
                url.clone(),
                ClientOptions::new().header("Authorization", format!("Bearer {attempt}")),
            )
        })
        .reconnect(quick())
        .start();
    until(&mut client, is_connected).await;
    assert_eq!(*tokens.lock().unwrap(), ["Bearer 1", "Bearer 2"]);
}

#[tokio::test]
async fn closing_while_disconnected_reports_every_message_still_held() {
    let addr = weft_test_support::one_shot::closed_port();
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    until(&mut client, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let a = client.send("a").unwrap().id;
    let b = client.send_reliable("b").unwrap().id;
    client.close(None);
    let (last, before) = until(&mut client, |e| matches!(e, ClientEvent::Closed(_))).await;
    assert!(matches!(last, ClientEvent::Closed(None)), "{last:?}");
    let dropped: Vec<_> = before
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Dropped(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [a, b]);
    assert!(client.next_event().await.is_none());
    assert_eq!(client.queued(), 0);
}

#[tokio::test]
async fn a_peer_that_stops_reading_under_a_full_queue_is_still_detected() {
    let (listener, addr) = common::listener().await;
    let _server = echo_server(listener, Seen::default());
    let proxy = FaultProxy::start(addr).unwrap();
    let keepalive = Duration::from_millis(200);
    let options =
        ClientOptions::new().config(Config::default().keepalive(Some(keepalive), keepalive));
    let mut client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .options(options)
        .reconnect(quick().outbox(OutboxLimits::default().max_bytes(64 << 20)))
        .start();
    until(&mut client, is_connected).await;
    proxy.stall(true);
    // Far more than the socket buffers hold: writing blocks, and only
    // reading can run the keepalive that finds the peer silent.
    for _ in 0..256 {
        client.send(vec![7u8; 64 << 10]).unwrap();
    }
    let (event, _) = until(&mut client, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let ClientEvent::Disconnected { cause, .. } = event else {
        unreachable!()
    };
    assert!(
        matches!(cause, Disconnect::Closed(CloseReason::TimedOut(_))),
        "{cause}"
    );
}

#[tokio::test]
async fn dropping_the_client_writes_the_queue_then_closes_with_1000() {
    let (listener, addr) = common::listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        let mut texts = Vec::new();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                texts.push(text.to_string());
            }
        }
        (texts, ws.close_reason())
    });
    let mut client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    until(&mut client, is_connected).await;
    client.send("a").unwrap();
    client.send("b").unwrap();
    drop(client);
    let (texts, reason) = timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(texts, ["a", "b"]);
    let Some(CloseReason::Clean(frame)) = reason else {
        panic!("expected a clean close, got {reason:?}");
    };
    assert_eq!(frame.code, CloseCode::NORMAL);
}

#[tokio::test]
async fn a_reset_is_an_abnormal_end_and_writes_split_and_delayed_still_carry_every_message() {
    let (listener, addr) = common::listener().await;
    let seen = Seen::default();
    let _server = echo_server(listener, seen.clone());
    let proxy = FaultProxy::start(addr).unwrap();
    let mut client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .reconnect(quick())
        .start();
    until(&mut client, is_connected).await;
    proxy.reset();
    let (event, _) = until(&mut client, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let ClientEvent::Disconnected { cause, .. } = event else {
        unreachable!()
    };
    assert!(
        matches!(cause, Disconnect::Closed(CloseReason::Abnormal)),
        "{cause}"
    );
    // Every write now arrives in pieces of 3 bytes, each 5 ms late.
    proxy.split_writes(Some(3));
    proxy.delay(Duration::from_millis(5));
    until(&mut client, is_connected).await;
    let texts: Vec<String> = (0..20).map(|i| format!("piece by piece {i}")).collect();
    for text in &texts {
        client.send(text.as_str()).unwrap();
    }
    let mut echoed = Vec::new();
    while echoed.len() < texts.len() {
        if let ClientEvent::Message(Message::Text(text)) = next(&mut client).await {
            echoed.push(text.to_string());
        }
    }
    assert_eq!(echoed, texts);
}
