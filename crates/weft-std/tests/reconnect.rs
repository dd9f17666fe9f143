//! The blocking reconnecting client against real servers on loopback,
//! with faults injected by a TCP proxy (cuts, stalls) and by servers that
//! restart, refuse, or close at once. The backoff is checked on a clock
//! that records its sleeps instead of sleeping.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use weft_proto::handshake::{Accept, Reject};
use weft_proto::{CloseCode, CloseFrame, CloseReason, Config};
use weft_std::reconnect::{
    self, ClientEvent, Clock, Disconnect, OutboxLimits, Overflow, ReconnectOptions,
    ReconnectPolicy, ReconnectingClient,
};
use weft_std::{accept_with, ClientOptions, Message};
use weft_test_support::FaultProxy;

const LIMIT: Duration = Duration::from_secs(30);

/// An echo server on its own threads that records the text it receives
/// and can be stopped: its listener closed and every connection cut.
struct EchoServer {
    addr: SocketAddr,
    messages: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    stopped: Arc<AtomicBool>,
}

impl EchoServer {
    fn start(addr: SocketAddr, messages: Arc<Mutex<Vec<String>>>) -> EchoServer {
        // A stopped server's listener closes on its own thread, a moment
        // after `stop`: binding its port again may have to wait for it.
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(addr) {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("binding {addr}: {e}"),
            }
        };
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let server = EchoServer {
            addr,
            messages: messages.clone(),
            connections: connections.clone(),
            stopped: stopped.clone(),
        };
        thread::spawn(move || {
            for tcp in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                connections.lock().unwrap().push(tcp.try_clone().unwrap());
                let messages = messages.clone();
                thread::spawn(move || {
                    let Ok(mut ws) = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
                    else {
                        return;
                    };
                    while let Ok(Some(message)) = ws.read() {
                        if let Message::Text(text) = &message {
                            messages.lock().unwrap().push(text.to_string());
                        }
                        if message.is_data() && ws.send(message).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        server
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    /// Closes the listener and cuts every connection, as a crash would.
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        for tcp in self.connections.lock().unwrap().drain(..) {
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
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

fn next(client: &ReconnectingClient) -> ClientEvent {
    client
        .recv_timeout(LIMIT)
        .expect("no event within the limit, or the client ended")
}

/// Events until one matches `want`.
fn until(client: &ReconnectingClient, want: impl Fn(&ClientEvent) -> bool) -> ClientEvent {
    loop {
        let event = next(client);
        if want(&event) {
            return event;
        }
    }
}

fn is_connected(event: &ClientEvent) -> bool {
    matches!(event, ClientEvent::Connected { .. })
}

#[test]
fn a_silent_peer_is_detected_within_the_keepalive_interval_and_pong_timeout() {
    let server = EchoServer::start(any_port(), Arc::default());
    let proxy = FaultProxy::start(server.addr).unwrap();
    let keepalive = Duration::from_millis(200);
    let options =
        ClientOptions::new().config(Config::default().keepalive(Some(keepalive), keepalive));
    let client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .options(options)
        .reconnect(quick())
        .start();
    until(&client, is_connected);
    proxy.stall(true);
    let stalled = Instant::now();
    let ClientEvent::Disconnected { cause, .. } =
        until(&client, |e| matches!(e, ClientEvent::Disconnected { .. }))
    else {
        unreachable!()
    };
    assert!(
        matches!(cause, Disconnect::Closed(CloseReason::TimedOut(_))),
        "a silent peer fails the connection by the pong timeout: {cause}"
    );
    assert!(stalled.elapsed() >= keepalive * 2 - Duration::from_millis(50));
    proxy.stall(false);
    until(&client, is_connected);
}

#[test]
fn a_restarted_server_gets_the_hook_first_then_the_queue_in_order() {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let server = EchoServer::start(any_port(), messages.clone());
    let addr = server.addr;
    let mut hooks = 0;
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .on_connect(move |ws| {
            hooks += 1;
            ws.send(format!("hello {hooks}"))
        })
        .start();
    until(&client, is_connected);
    client.send("before").unwrap();
    until(
        &client,
        |e| matches!(e, ClientEvent::Message(Message::Text(t)) if t.as_str() == "before"),
    );

    server.stop();
    until(&client, |e| matches!(e, ClientEvent::Disconnected { .. }));
    for i in 0..5 {
        client.send(format!("queued {i}")).unwrap();
    }
    let _restarted = EchoServer::start(addr, messages.clone());
    until(&client, is_connected);
    until(
        &client,
        |e| matches!(e, ClientEvent::Message(Message::Text(t)) if t.as_str() == "queued 4"),
    );
    let messages = messages.lock().unwrap().clone();
    let start = messages
        .iter()
        .position(|m| m == "hello 2")
        .expect("the hook ran again");
    let expected: Vec<String> = std::iter::once("hello 2".to_owned())
        .chain((0..5).map(|i| format!("queued {i}")))
        .collect();
    assert_eq!(
        messages[start..],
        expected,
        "the hook first, then the queue in order"
    );
    assert_eq!(messages[..2], ["hello 1".to_owned(), "before".to_owned()]);
}

#[test]
fn ten_thousand_messages_survive_random_cuts_with_at_least_once() {
    const N: usize = 10_000;
    let server = EchoServer::start(any_port(), Arc::default());
    let proxy = Arc::new(FaultProxy::start(server.addr).unwrap());
    let options = quick().outbox(OutboxLimits::default().max_messages(N));
    let client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .reconnect(options)
        .start();
    let mut ids = HashMap::new();
    for i in 0..N {
        ids.insert(
            i.to_string(),
            client.send_reliable(i.to_string()).unwrap().id,
        );
    }
    let received = server.messages.clone();
    let done = Arc::new(AtomicBool::new(false));
    let cutter = {
        let (proxy, done) = (proxy.clone(), done.clone());
        thread::spawn(move || {
            let (mut next_cut, mut x, mut cuts) = (150, 12345u32, 0);
            while !done.load(Ordering::SeqCst) {
                if received.lock().unwrap().len() >= next_cut {
                    proxy.cut();
                    cuts += 1;
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    next_cut += 100 + (x >> 16) as usize % 400;
                }
                thread::sleep(Duration::from_millis(1));
            }
            cuts
        })
    };
    let (mut acked, mut connections) = (0, 0);
    while acked < N {
        match next(&client) {
            ClientEvent::Message(Message::Text(text)) if client.ack(ids[text.as_str()]) => {
                acked += 1;
            }
            ClientEvent::Connected { .. } => connections += 1,
            ClientEvent::GaveUp { cause } => panic!("gave up: {cause}"),
            _ => {}
        }
    }
    done.store(true, Ordering::SeqCst);
    let cuts = cutter.join().unwrap();
    assert!(cuts >= 5, "the proxy cut the connection {cuts} times");
    assert!(
        connections > cuts / 2,
        "{connections} connections for {cuts} cuts"
    );
    let unique: HashSet<_> = server.messages().into_iter().collect();
    assert_eq!(
        unique.len(),
        N,
        "every message reached the server at least once"
    );
    assert_eq!(client.unacked(), 0);
    assert_eq!(client.queued(), 0);
}

/// A server that runs `serve` on every connection and counts them.
fn serve_each(
    serve: impl Fn(TcpStream) + Send + Sync + 'static,
) -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0));
    let counter = count.clone();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            *counter.lock().unwrap() += 1;
            let serve = serve.clone();
            thread::spawn(move || serve(tcp));
        }
    });
    (addr, count)
}

#[test]
fn a_401_is_final() {
    let (addr, connections) = serve_each(|tcp| {
        let _ = accept_with(tcp, Config::default(), |_| Err(Reject::new(401)));
    });
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    let event = until(&client, |e| matches!(e, ClientEvent::GaveUp { .. }));
    let ClientEvent::GaveUp {
        cause: Disconnect::Failed(e),
    } = event
    else {
        panic!("expected a failed attempt, got {event:?}");
    };
    assert_eq!(e.rejection().map(|r| r.status), Some(401));
    assert!(client.recv().is_none(), "nothing after giving up");
    assert_eq!(*connections.lock().unwrap(), 1, "no second attempt");
}

#[test]
fn a_1008_close_is_final() {
    let (addr, connections) = serve_each(|tcp| {
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new())).unwrap();
        ws.close(CloseCode::POLICY_VIOLATION, "not allowed")
            .unwrap();
        while let Ok(Some(_)) = ws.read() {}
    });
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    let event = until(&client, |e| matches!(e, ClientEvent::GaveUp { .. }));
    let ClientEvent::GaveUp {
        cause: Disconnect::Closed(CloseReason::Clean(frame)),
    } = event
    else {
        panic!("expected a clean close, got {event:?}");
    };
    assert_eq!(frame.code, CloseCode::POLICY_VIOLATION);
    assert!(client.recv().is_none());
    assert_eq!(*connections.lock().unwrap(), 1);
}

#[test]
fn the_applications_own_close_is_final() {
    let server = EchoServer::start(any_port(), Arc::default());
    let client = reconnect::connect(format!("ws://{}/", server.addr))
        .reconnect(quick())
        .start();
    until(&client, is_connected);
    client.close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "done")));
    let event = until(&client, |e| matches!(e, ClientEvent::Closed(_)));
    let ClientEvent::Closed(Some(reason)) = event else {
        panic!("expected the close to complete, got {event:?}");
    };
    assert!(reason.is_clean(), "{reason}");
    assert!(client.recv().is_none());
    thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connections(), 1);
}

/// A clock that does not sleep: it adds each sleep to its own time.
#[derive(Clone)]
struct RecordingClock {
    start: Instant,
    slept: Arc<Mutex<Duration>>,
}

impl Clock for RecordingClock {
    fn now(&self) -> Instant {
        self.start + *self.slept.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) {
        *self.slept.lock().unwrap() += duration;
    }
}

#[test]
fn a_server_that_accepts_and_closes_at_once_gets_attempts_on_the_backoff() {
    let (addr, _) = serve_each(drop);
    let policy = ReconnectPolicy::default()
        .initial_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(8))
        .multiplier(2.0)
        .max_attempts(Some(6));
    // The top of every jitter range: the delays are the backoff's ceilings.
    let options = ReconnectOptions::new().policy(policy).jitter(|| 1.0);
    let clock = RecordingClock {
        start: Instant::now(),
        slept: Arc::default(),
    };
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(options)
        .clock(clock.clone())
        .start();
    let started = Instant::now();
    let (mut attempts, mut delays) = (Vec::new(), Vec::new());
    loop {
        match next(&client) {
            ClientEvent::Connecting { attempt } => attempts.push(attempt),
            ClientEvent::Disconnected { retry_in, .. } => delays.push(retry_in),
            ClientEvent::GaveUp { .. } => break,
            _ => {}
        }
    }
    assert_eq!(attempts, [1, 2, 3, 4, 5, 6]);
    let secs = Duration::from_secs;
    assert_eq!(delays, [secs(1), secs(2), secs(4), secs(8), secs(8)]);
    // The client waited out every delay on its clock, and only there:
    // 23 s of backoff, none of it spent in real time.
    assert_eq!(*clock.slept.lock().unwrap(), secs(23));
    assert!(started.elapsed() < secs(10));
}

/// Fills a queue of three messages while nothing listens, then starts the
/// server: what reaches it is what the overflow policy kept.
fn overflow(
    policy: Overflow,
) -> (
    Vec<Result<reconnect::Pushed, String>>,
    Vec<ClientEvent>,
    Vec<String>,
) {
    let addr = weft_test_support::one_shot::closed_port();
    let limits = OutboxLimits::default().max_messages(3).overflow(policy);
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick().outbox(limits))
        .start();
    until(&client, |e| matches!(e, ClientEvent::Disconnected { .. }));
    let results: Vec<_> = (0..5)
        .map(|i| {
            client.send(format!("m{i}")).map_err(|e| match e.message {
                Message::Text(text) => text.to_string(),
                other => panic!("not the message sent: {other:?}"),
            })
        })
        .collect();
    let server = EchoServer::start(addr, Arc::default());
    let mut echoed = 0;
    let mut events = Vec::new();
    while echoed < 3 {
        let event = next(&client);
        if matches!(event, ClientEvent::Message(_)) {
            echoed += 1;
        }
        events.push(event);
    }
    (results, events, server.messages())
}

#[test]
fn each_overflow_policy_does_what_it_says_at_the_limit() {
    let (results, _, received) = overflow(Overflow::Reject);
    assert!(results[..3].iter().all(|r| r.is_ok()));
    assert_eq!(
        results[3].as_ref().unwrap_err(),
        "m3",
        "the message comes back"
    );
    assert_eq!(results[4].as_ref().unwrap_err(), "m4");
    assert_eq!(received, ["m0", "m1", "m2"]);

    let (results, events, received) = overflow(Overflow::DropOldest);
    let ids: Vec<_> = results.iter().map(|r| r.as_ref().unwrap().id).collect();
    assert_eq!(results[3].as_ref().unwrap().dropped, [ids[0]]);
    assert_eq!(results[4].as_ref().unwrap().dropped, [ids[1]]);
    let dropped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Dropped(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(
        dropped,
        [ids[0], ids[1]],
        "each drop is reported as an event"
    );
    assert_eq!(received, ["m2", "m3", "m4"]);

    let (results, _, received) = overflow(Overflow::DropNewest);
    let pushed: Vec<_> = results.iter().map(|r| r.as_ref().unwrap()).collect();
    assert!(pushed[..3].iter().all(|p| p.dropped.is_empty()));
    assert_eq!(pushed[3].dropped, [pushed[3].id]);
    assert_eq!(received, ["m0", "m1", "m2"]);
}

#[test]
fn giving_up_reports_every_message_still_held() {
    let addr = weft_test_support::one_shot::closed_port();
    let options = quick().policy(
        ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(20))
            .max_attempts(Some(2)),
    );
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(options)
        .start();
    let a = client.send("a").unwrap().id;
    let b = client.send_reliable("b").unwrap().id;
    let mut dropped = Vec::new();
    loop {
        match next(&client) {
            ClientEvent::Dropped(id) => dropped.push(id),
            ClientEvent::GaveUp { cause } => {
                assert!(matches!(
                    cause,
                    Disconnect::Failed(weft_std::Error::Connect { .. })
                ));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(dropped, [a, b]);
    assert!(client.recv().is_none());
}

#[test]
fn a_peer_that_stops_reading_under_a_full_queue_is_still_detected() {
    let server = EchoServer::start(any_port(), Arc::default());
    let proxy = FaultProxy::start(server.addr).unwrap();
    let keepalive = Duration::from_millis(200);
    let options =
        ClientOptions::new().config(Config::default().keepalive(Some(keepalive), keepalive));
    let client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .options(options)
        .reconnect(quick().outbox(OutboxLimits::default().max_bytes(64 << 20)))
        .start();
    until(&client, is_connected);
    proxy.stall(true);
    // Far more than the socket buffers hold: the writer blocks, the reader
    // finds the peer silent, and the writer is woken to end the session.
    for _ in 0..256 {
        client.send(vec![7u8; 64 << 10]).unwrap();
    }
    let ClientEvent::Disconnected { cause, .. } =
        until(&client, |e| matches!(e, ClientEvent::Disconnected { .. }))
    else {
        unreachable!()
    };
    assert!(
        matches!(cause, Disconnect::Closed(CloseReason::TimedOut(_))),
        "{cause}"
    );
    // Dropping the client while the proxy still holds everything back
    // must not hang.
    drop(client);
}

#[test]
fn dropping_the_client_writes_the_queue_then_closes_with_1000() {
    let listener = TcpListener::bind(any_port()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new())).unwrap();
        let mut texts = Vec::new();
        while let Ok(Some(message)) = ws.read() {
            if let Message::Text(text) = message {
                texts.push(text.to_string());
            }
        }
        (texts, ws.close_reason().cloned())
    });
    let client = reconnect::connect(format!("ws://{addr}/"))
        .reconnect(quick())
        .start();
    until(&client, is_connected);
    client.send("a").unwrap();
    client.send("b").unwrap();
    drop(client);
    let (texts, reason) = server.join().unwrap();
    assert_eq!(texts, ["a", "b"]);
    let Some(CloseReason::Clean(frame)) = reason else {
        panic!("expected a clean close, got {reason:?}");
    };
    assert_eq!(frame.code, CloseCode::NORMAL);
}

#[test]
fn a_reset_is_an_abnormal_end_and_writes_split_and_delayed_still_carry_every_message() {
    let server = EchoServer::start(any_port(), Arc::default());
    let proxy = FaultProxy::start(server.addr).unwrap();
    let client = reconnect::connect(format!("ws://{}/", proxy.addr()))
        .reconnect(quick())
        .start();
    until(&client, is_connected);
    proxy.reset();
    let ClientEvent::Disconnected { cause, .. } =
        until(&client, |e| matches!(e, ClientEvent::Disconnected { .. }))
    else {
        unreachable!()
    };
    assert!(
        matches!(cause, Disconnect::Closed(CloseReason::Abnormal)),
        "{cause}"
    );
    // Every write now arrives in pieces of 3 bytes, each 5 ms late.
    proxy.split_writes(Some(3));
    proxy.delay(Duration::from_millis(5));
    until(&client, is_connected);
    let texts: Vec<String> = (0..20).map(|i| format!("piece by piece {i}")).collect();
    for text in &texts {
        client.send(text.as_str()).unwrap();
    }
    let mut echoed = Vec::new();
    while echoed.len() < texts.len() {
        if let ClientEvent::Message(Message::Text(text)) = next(&client) {
            echoed.push(text.to_string());
        }
    }
    assert_eq!(echoed, texts);
}
