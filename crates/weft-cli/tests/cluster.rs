//! `weft serve --chat --redis` and `--broadcast --redis`: several nodes
//! sharing one real Redis, behind a real nginx configured as a WebSocket
//! reverse proxy, with the failures injected: a node killed, Redis killed
//! and restarted with and without its data, a history shorter than a
//! client's absence. redis-server and nginx are Debian's packages:
//! `tests/hub/run.sh` installs them and runs these tests, which a plain
//! `cargo test` skips.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::*;
use weft_test_support::real_nginx::RealNginx;
use weft_test_support::real_redis::{Persistence, RealRedis};
use weft_tokio::reconnect::{
    self, ClientEvent, ReconnectOptions, ReconnectPolicy, ReconnectingClient,
};
use weft_tokio::{CloseCode, Message};

type Ws = weft_tokio::WebSocketStream<weft_tokio::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long any one expected thing may take.
const WAIT: Duration = Duration::from_secs(20);

/// A chat node on a free port sharing `redis`, with `extra` flags.
fn node(redis: &RealRedis, extra: &[&str]) -> Server {
    let url = redis.url();
    let mut flags = vec!["--chat", "--redis", &url, "--any-origin", "--node-ttl", "2"];
    flags.extend_from_slice(extra);
    Server::start(&flags)
}

/// The next JSON text message on `ws`, skipping nothing.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("nothing within the wait")
            .expect("the connection ended")
            .expect("the connection failed");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

/// The next message of `type`, skipping the others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let value = next_json(ws).await;
        if value["type"] == kind {
            return value;
        }
    }
}

/// Joins the chat at `url` as `nick` (resuming from `since` if given); the
/// connection and its welcome.
async fn join(url: &str, nick: &str, since: Option<(&str, &str)>) -> (Ws, Value) {
    let (mut ws, _) = weft_tokio::connect(url)
        .await
        .expect("connect through nginx");
    let mut join = json!({"type": "join", "nick": nick});
    if let Some((epoch, offset)) = since {
        join["since"] = json!({"epoch": epoch, "offset": offset});
    }
    ws.send(Message::text(join.to_string())).await.unwrap();
    let welcome = next_json(&mut ws).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (ws, welcome)
}

async fn say(ws: &mut Ws, text: &str) {
    let say = json!({"type": "say", "text": text}).to_string();
    ws.send(Message::text(say)).await.unwrap();
}

/// The offsets of a list of items.
fn offsets(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["offset"].as_str().unwrap().to_owned())
        .collect()
}

fn texts(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter(|item| item["type"] == "message")
        .map(|item| item["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and nginx (tests/hub/run.sh)"]
async fn clients_on_two_nodes_behind_nginx_see_every_message_in_one_order() {
    let redis = RealRedis::start(Persistence::None);
    let (a, b) = (node(&redis, &[]), node(&redis, &[]));
    let nginx = RealNginx::start(&[a.addr, b.addr]);
    let url = format!("ws://{}/ws", nginx.addr);
    let mut clients = Vec::new();
    for i in 0..4 {
        clients.push(join(&url, &format!("user{i}"), None).await);
    }
    // Round robin put them on both nodes.
    let nodes: HashSet<String> = clients
        .iter()
        .map(|(_, w)| w["node"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    let epochs: HashSet<&str> = clients
        .iter()
        .map(|(_, w)| w["epoch"].as_str().unwrap())
        .collect();
    assert_eq!(epochs.len(), 1);
    // The last one is told who is online, on both nodes.
    let mut online: Vec<&str> = clients[3].1["online"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    online.sort();
    assert_eq!(online, ["user0", "user1", "user2", "user3"]);
    // Everyone says ten things at once.
    let mut wss: Vec<Ws> = clients.into_iter().map(|(ws, _)| ws).collect();
    for round in 0..10 {
        for (i, ws) in wss.iter_mut().enumerate() {
            say(ws, &format!("{i}.{round}")).await;
        }
    }
    let mut seen = Vec::new();
    for ws in &mut wss {
        let mut items = Vec::new();
        while items.len() < 40 {
            items.push(next_of(ws, "message").await);
        }
        seen.push(items);
    }
    // One order for all, each message once, offsets growing.
    for items in &seen[1..] {
        assert_eq!(offsets(items), offsets(&seen[0]));
        assert_eq!(texts(items), texts(&seen[0]));
    }
    let all = offsets(&seen[0]);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), 40);
    let parsed: Vec<weft_hub::Offset> = all.iter().map(|o| o.parse().unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    // Each sender's own messages in the order it sent them.
    for i in 0..4 {
        let own: Vec<String> = texts(&seen[0])
            .into_iter()
            .filter(|t| t.starts_with(&format!("{i}.")))
            .collect();
        let expected: Vec<String> = (0..10).map(|r| format!("{i}.{r}")).collect();
        assert_eq!(own, expected);
    }
    // nginx logs each upgrade once it ends.
    for mut ws in wss {
        ws.close().await.unwrap();
    }
    let deadline = Instant::now() + WAIT;
    while nginx
        .access_log()
        .lines()
        .filter(|l| l.contains("GET /ws HTTP/1.1\" 101"))
        .count()
        < 4
    {
        assert!(
            Instant::now() < deadline,
            "nginx did not log the upgrades:\n{}",
            nginx.access_log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a resuming chat client has seen: the items shown, in order, the
/// welcome of each connection, and where it would resume from.
#[derive(Default)]
struct Seen {
    epoch: Option<String>,
    offset: Option<String>,
    items: Vec<Value>,
    welcomes: Vec<Value>,
}

impl Seen {
    fn welcome(&mut self, welcome: Value) {
        let history = welcome["history"].as_array().cloned().unwrap_or_default();
        if welcome["recovered"] != true {
            self.items.clear();
        }
        self.items.extend(history);
        self.epoch = welcome["epoch"].as_str().map(str::to_owned);
        self.offset = welcome["offset"].as_str().map(str::to_owned);
        self.welcomes.push(welcome);
    }

    fn item(&mut self, item: Value) {
        if let Some(offset) = item["offset"].as_str() {
            self.offset = Some(offset.to_owned());
            self.items.push(item);
        }
    }
}

/// A reconnecting chat client, as docs/scaling.md describes one: on every
/// connection it joins with the last position it saw and reads its
/// welcome; its messages are the live items.
fn resuming_client(url: &str, nick: &str, seen: Arc<Mutex<Seen>>) -> ReconnectingClient {
    let policy = ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(500));
    let nick = nick.to_owned();
    reconnect::connect(url)
        .reconnect(ReconnectOptions::new().policy(policy))
        .on_connect(move |ws| {
            let seen = seen.clone();
            let nick = nick.clone();
            Box::pin(async move {
                let mut join = json!({"type": "join", "nick": nick});
                {
                    let seen = seen.lock().unwrap();
                    if let (Some(epoch), Some(offset)) = (&seen.epoch, &seen.offset) {
                        join["since"] = json!({"epoch": epoch, "offset": offset});
                    }
                }
                ws.send(Message::text(join.to_string())).await?;
                while let Some(message) = ws.next().await {
                    if let Message::Text(text) = message? {
                        let value: Value = serde_json::from_str(&text).unwrap();
                        if value["type"] == "welcome" {
                            seen.lock().unwrap().welcome(value);
                            return Ok(());
                        }
                    }
                }
                Err(weft_tokio::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed before the welcome",
                )))
            })
        })
        .start()
}

/// Runs `client`'s events into `seen` until `done` says so.
async fn follow(
    client: &mut ReconnectingClient,
    seen: &Arc<Mutex<Seen>>,
    done: impl Fn(&Seen) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(&seen.lock().unwrap()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, client.next_event())
            .await
            .expect("not done within the wait")
            .expect("the client ended");
        if let ClientEvent::Message(Message::Text(text)) = event {
            seen.lock()
                .unwrap()
                .item(serde_json::from_str(&text).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and nginx (tests/hub/run.sh)"]
async fn a_killed_nodes_clients_come_back_through_nginx_and_miss_nothing() {
    let redis = RealRedis::start(Persistence::None);
    let a = node(&redis, &[]);
    let mut b = Some(node(&redis, &[]));
    let nginx = RealNginx::start(&[a.addr, b.as_ref().unwrap().addr]);
    let url = format!("ws://{}/ws", nginx.addr);
    // Resuming clients until two are on different nodes.
    let mut clients = Vec::new();
    for i in 0..2 {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut client = resuming_client(&url, &format!("c{i}"), seen.clone());
        follow(&mut client, &seen, |s| !s.welcomes.is_empty()).await;
        clients.push((client, seen));
    }
    let node_of =
        |seen: &Arc<Mutex<Seen>>| seen.lock().unwrap().welcomes.last().unwrap()["node"].clone();
    assert_ne!(node_of(&clients[0].1), node_of(&clients[1].1));
    // Whichever is on b is the one cut off; the other talks through a.
    let b_node = {
        let (mut ws, welcome) = join(
            &format!("ws://{}/ws", b.as_ref().unwrap().addr),
            "probe",
            None,
        )
        .await;
        ws.close().await.unwrap();
        welcome["node"].clone()
    };
    let (mut talker, mut cut) = {
        let (first, second) = (clients.remove(0), clients.remove(0));
        if node_of(&first.1) == b_node {
            (second, first)
        } else {
            (first, second)
        }
    };
    let (mut writer, _) = join(&format!("ws://{}/ws", a.addr), "writer", None).await;
    for i in 0..5 {
        say(&mut writer, &format!("before {i}")).await;
    }
    follow(&mut cut.0, &cut.1, |s| texts(&s.items).len() >= 5).await;
    b.take(); // SIGKILL: its clients' connections drop
    for i in 0..20 {
        say(&mut writer, &format!("while away {i}")).await;
    }
    // The cut client comes back to a (nginx skips the dead node) and gets
    // what it missed, once and in order; so does the other.
    follow(&mut cut.0, &cut.1, |s| texts(&s.items).len() >= 25).await;
    follow(&mut talker.0, &talker.1, |s| texts(&s.items).len() >= 25).await;
    let cut_nick = {
        let cut_seen = cut.1.lock().unwrap();
        let talker_seen = talker.1.lock().unwrap();
        assert_eq!(cut_seen.welcomes.len(), 2);
        let back = cut_seen.welcomes.last().unwrap();
        assert_eq!(back["recovered"], true, "{back}");
        assert_ne!(back["node"], b_node);
        let expected: Vec<String> = (0..5)
            .map(|i| format!("before {i}"))
            .chain((0..20).map(|i| format!("while away {i}")))
            .collect();
        assert_eq!(texts(&cut_seen.items), expected);
        let messages = |s: &Seen| -> Vec<Value> {
            s.items
                .iter()
                .filter(|i| i["type"] == "message")
                .cloned()
                .collect()
        };
        assert_eq!(
            offsets(&messages(&cut_seen)),
            offsets(&messages(&talker_seen))
        );
        let unique: HashSet<String> = offsets(&cut_seen.items).into_iter().collect();
        assert_eq!(unique.len(), cut_seen.items.len(), "an item twice");
        back["nick"].as_str().unwrap().to_owned()
    };
    // The dead node's member of cut_nick leaves the presence within the
    // node TTL (2 s) and a heartbeat: everyone is told, and it is listed
    // once (for its new connection).
    let left = tokio::time::timeout(WAIT, async {
        loop {
            let item = next_of(&mut writer, "leave").await;
            if item["nick"] == cut_nick.as_str() {
                return item;
            }
        }
    })
    .await
    .expect("the dead node's member did not leave the presence");
    assert_eq!(left["type"], "leave");
    let (_, welcome) = join(&url, "late", None).await;
    let online: Vec<&str> = welcome["online"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        online.iter().filter(|n| **n == cut_nick).count(),
        1,
        "{online:?}"
    );
    drop(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and nginx (tests/hub/run.sh)"]
async fn redis_restarted_under_load_with_its_data_loses_nothing_acknowledged() {
    let mut redis = RealRedis::start(Persistence::AppendOnly);
    let (a, b) = (node(&redis, &[]), node(&redis, &[]));
    let (mut sender, _) = join(&format!("ws://{}/ws", a.addr), "sender", None).await;
    let (mut reader, _) = join(&format!("ws://{}/ws", b.addr), "reader", None).await;
    next_of(&mut sender, "join").await;
    // A message every 10 ms; Redis is killed after 100 and started again
    // 1.5 s later, on the same port with its append-only file.
    let total = 400;
    let mut errors = Vec::new();
    let mut echoed = Vec::new();
    let mut killed_at = None;
    for i in 0..total {
        say(&mut sender, &format!("m{i}")).await;
        if i == 100 {
            redis.kill();
            killed_at = Some(Instant::now());
        }
        if killed_at.is_some_and(|at| at.elapsed() > Duration::from_millis(1500)) {
            redis.restart();
            killed_at = None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        // What came back so far: echoes (published) and errors (not).
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(1), sender.next()).await
        {
            let value: Value = serde_json::from_str(&text).unwrap();
            match value["type"].as_str() {
                Some("message") => echoed.push(value),
                Some("error") => errors.push(value["text"].as_str().unwrap().to_owned()),
                _ => {}
            }
        }
    }
    if killed_at.is_some() {
        redis.restart();
    }
    say(&mut sender, "last").await;
    loop {
        let value = next_json(&mut sender).await;
        match value["type"].as_str() {
            Some("message") if value["text"] == "last" => {
                echoed.push(value);
                break;
            }
            Some("message") => echoed.push(value),
            Some("error") => errors.push(value["text"].as_str().unwrap().to_owned()),
            _ => {}
        }
    }
    // The outage was seen: some were refused, each with its text.
    assert!(
        !errors.is_empty(),
        "no message was refused during the outage"
    );
    assert!(
        errors.iter().all(|e| e.starts_with("not sent:")),
        "{errors:?}"
    );
    // The other node's client got exactly what the sender saw echoed, in
    // the same order, across the restart, on the same connection.
    let mut received = Vec::new();
    while received.len() < echoed.len() {
        received.push(next_of(&mut reader, "message").await);
    }
    assert_eq!(offsets(&received), offsets(&echoed));
    // Every message is accounted for: echoed once or refused (a refusal
    // whose answer was lost may have been stored: echoed too).
    let echoed_texts = texts(&echoed);
    let unique: HashSet<&String> = echoed_texts.iter().collect();
    assert_eq!(unique.len(), echoed_texts.len(), "a message echoed twice");
    for i in 0..total {
        let text = format!("m{i}");
        let refused = errors.iter().any(|e| e.ends_with(&format!(": {text}")));
        assert!(
            unique.contains(&text) || refused,
            "{text} neither echoed nor refused"
        );
    }
    assert!(
        echoed_texts.len() > 200,
        "only {} published",
        echoed_texts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and nginx (tests/hub/run.sh)"]
async fn redis_losing_its_data_tells_clients_they_did_not_recover() {
    let mut redis = RealRedis::start(Persistence::None);
    let (a, b) = (node(&redis, &[]), node(&redis, &[]));
    let (mut sender, _) = join(&format!("ws://{}/ws", a.addr), "sender", None).await;
    let (mut reader, welcome) = join(&format!("ws://{}/ws", b.addr), "reader", None).await;
    say(&mut sender, "before").await;
    let before = next_of(&mut reader, "message").await;
    redis.kill();
    redis.restart();
    // Both nodes find, on reaching Redis again, that their position is no
    // longer in the history, and close their clients with 1012, before
    // anyone says anything.
    for ws in [&mut sender, &mut reader] {
        let close = loop {
            match tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("no close")
                .expect("ended")
            {
                Ok(Message::Close(frame)) => break frame.expect("a close frame"),
                Ok(_) => continue,
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(close.code, CloseCode::SERVICE_RESTART, "{close:?}");
    }
    // Someone says something in the new history.
    let (mut sender, _) = join(&format!("ws://{}/ws", a.addr), "sender", None).await;
    say(&mut sender, "after").await;
    next_of(&mut sender, "message").await;
    // The reader comes back with its old position: not recovered, and
    // given the new history.
    let since = (
        welcome["epoch"].as_str().unwrap(),
        before["offset"].as_str().unwrap(),
    );
    let (_, back) = join(&format!("ws://{}/ws", b.addr), "reader", Some(since)).await;
    assert_eq!(back["recovered"], false, "{back}");
    assert_ne!(back["epoch"], welcome["epoch"]);
    assert!(texts(back["history"].as_array().unwrap()).contains(&"after".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and nginx (tests/hub/run.sh)"]
async fn a_history_shorter_than_the_absence_is_not_recovered() {
    let redis = RealRedis::start(Persistence::None);
    let a = node(&redis, &["--history-len", "5"]);
    let (mut sender, _) = join(&format!("ws://{}/ws", a.addr), "sender", None).await;
    let (mut reader, welcome) = join(&format!("ws://{}/ws", a.addr), "reader", None).await;
    say(&mut sender, "seen").await;
    let seen = next_of(&mut reader, "message").await;
    reader.close().await.unwrap();
    // Within the history: recovered.
    say(&mut sender, "missed").await;
    let since = (
        welcome["epoch"].as_str().unwrap(),
        seen["offset"].as_str().unwrap(),
    );
    let (mut back, recovered) = join(&format!("ws://{}/ws", a.addr), "reader", Some(since)).await;
    assert_eq!(recovered["recovered"], true, "{recovered}");
    assert_eq!(texts(recovered["history"].as_array().unwrap()), ["missed"]);
    back.close().await.unwrap();
    // 300 more: far more than the 5 a client may miss, though the stream
    // itself still holds them all.
    for i in 0..300 {
        say(&mut sender, &format!("m{i}")).await;
    }
    loop {
        if next_of(&mut sender, "message").await["text"] == "m299" {
            break;
        }
    }
    let (_, late) = join(&format!("ws://{}/ws", a.addr), "reader", Some(since)).await;
    assert_eq!(late["recovered"], false, "{}", late["recovered"]);
    // It is given the newest instead, to reload from.
    let history = texts(late["history"].as_array().unwrap());
    assert_eq!(history.last().map(String::as_str), Some("m299"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and nginx (tests/hub/run.sh)"]
async fn broadcast_nodes_share_messages_through_redis() {
    let redis = RealRedis::start(Persistence::None);
    let url = redis.url();
    let flags = ["--broadcast", "--redis", &url];
    let (a, b) = (Server::start(&flags), Server::start(&flags));
    let (mut on_a, _) = weft_tokio::connect(&a.url("/")).await.unwrap();
    let (mut on_b, _) = weft_tokio::connect(&b.url("/")).await.unwrap();
    let (mut also_a, _) = weft_tokio::connect(&a.url("/")).await.unwrap();
    on_a.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    on_a.send(Message::text("hello")).await.unwrap();
    for ws in [&mut on_b, &mut also_a] {
        let first = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(first, Message::binary(vec![1, 2, 3]));
        let second = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(second, Message::text("hello"));
    }
    // The sender does not get its own back.
    on_b.send(Message::text("from b")).await.unwrap();
    let next = tokio::time::timeout(WAIT, on_a.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next, Message::text("from b"));
}
