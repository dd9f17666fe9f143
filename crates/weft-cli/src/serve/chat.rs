//! `weft serve --chat`: a chat room over a hub topic, speaking JSON text
//! messages (docs/cli.md lists them). A client joins with a nickname (and,
//! when it comes back, the last position it saw), is welcomed with what it
//! missed or the last [`HISTORY`] items and who is online, then says
//! things; everyone, the sender too, gets every message, and a notice when
//! someone joins or leaves. With `--redis`, every node sharing the Redis
//! is the same room.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};
use weft_hub::{Delivery, Entry, Framer, Kind, Offset, Position, Recovery};
use weft_tokio::weft_proto::PreparedMessage;
use weft_tokio::Message;

/// The hub topic of the room.
pub(crate) const TOPIC: &str = "chat";
/// How many items a newcomer (or a client that could not recover) is shown.
pub(crate) const HISTORY: usize = 100;
/// The longest nickname, in characters.
pub(crate) const MAX_NICK: usize = 32;
/// The longest message, in characters.
pub(crate) const MAX_TEXT: usize = 4000;

/// The largest WebSocket message the chat accepts unless told otherwise:
/// room for [`MAX_TEXT`] characters escaped in JSON, and no more, so that
/// no client makes the server parse megabytes of JSON.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

/// What a client's message asks for.
#[derive(Debug, PartialEq)]
pub(crate) enum Request {
    /// `{"type":"join","nick":"ada"}`, with `"since":{"epoch","offset"}`
    /// when the client comes back.
    Join {
        /// The nickname.
        nick: String,
        /// The last item it saw, if any.
        since: Option<Position>,
    },
    /// `{"type":"say","text":"hello"}`
    Say(String),
}

/// Reads a client's message; the error is what to tell it.
pub(crate) fn parse(text: &str) -> Result<Request, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON message: {e}"))?;
    let field = |name: &str| value.get(name).and_then(Value::as_str);
    match field("type") {
        Some("join") => {
            let nick = field("nick").unwrap_or("").trim();
            let chars = nick.chars().count();
            if chars == 0 || chars > MAX_NICK {
                return Err(format!("a nickname has 1 to {MAX_NICK} characters"));
            }
            let since = value.get("since").map(|since| {
                let part = |name: &str| since.get(name).and_then(Value::as_str).unwrap_or("");
                // A position that cannot be read cannot be resumed from:
                // an empty epoch is no topic's, so the client is told it
                // did not recover.
                Position::parse(part("epoch"), part("offset")).unwrap_or(Position {
                    epoch: "".into(),
                    offset: Offset::ZERO,
                })
            });
            Ok(Request::Join {
                nick: nick.to_owned(),
                since,
            })
        }
        Some("say") => {
            let text = field("text").ok_or("say needs a text")?;
            if text.chars().count() > MAX_TEXT {
                return Err(format!("a message has at most {MAX_TEXT} characters"));
            }
            Ok(Request::Say(text.to_owned()))
        }
        _ => Err(r#"expected {"type":"join","nick":..} or {"type":"say","text":..}"#.into()),
    }
}

/// A message for one client telling it what it did wrong.
pub(crate) fn error(text: &str) -> Message {
    Message::text(json!({"type": "error", "text": text}).to_string())
}

/// What the hub stores for `nick` saying `text`: `{"nick","text"}`; the
/// type, time and offset are added by every node as it sends it.
pub(crate) fn said(nick: &str, text: &str) -> Bytes {
    Bytes::from(json!({"nick": nick, "text": text}).to_string())
}

/// How the chat's entries go out: `{"type":"message","time","offset",
/// "nick","text"}`, `{"type":"join"|"leave","nick","time","offset"}`.
/// Framed once per node, whatever the number of members.
pub(crate) fn framer() -> Framer {
    Arc::new(|entry: &Entry| {
        let json = match entry.kind {
            Kind::Text => {
                // `{"nick":..,"text":..}` as stored, its fields after ours.
                let stored = std::str::from_utf8(&entry.payload).ok()?;
                let fields = stored.strip_prefix('{')?;
                format!(
                    r#"{{"type":"message","time":{},"offset":"{}",{fields}"#,
                    entry.time_ms(),
                    entry.offset
                )
            }
            Kind::Joined | Kind::Left => json!({
                "type": if entry.kind == Kind::Joined { "join" } else { "leave" },
                "nick": String::from_utf8_lossy(&entry.payload),
                "time": entry.time_ms(),
                "offset": entry.offset.to_string(),
            })
            .to_string(),
            Kind::Binary => return None,
        };
        Some(Message::Prepared(PreparedMessage::text(json)))
    })
}

/// The JSON text of a framed item.
fn item(delivery: &Delivery) -> Option<&str> {
    match &delivery.message {
        Message::Prepared(prepared) => std::str::from_utf8(prepared.payload()).ok(),
        Message::Text(text) => Some(text),
        _ => None,
    }
}

/// The welcome: `{"type":"welcome","nick","node","epoch","offset",
/// "recovered","online","history"}`. `offset` is the newest of the room
/// when the welcome was made: a client that comes back resumes from it,
/// or from a newer item's. `recovered` is `null` when the client did not
/// ask to resume.
pub(crate) fn welcome(
    nick: &str,
    node: &str,
    position: &Position,
    recovery: Recovery,
    history: &[Delivery],
    online: &[String],
) -> Message {
    let recovered = match recovery {
        Recovery::Recovered => json!(true),
        Recovery::NotRecovered => json!(false),
        Recovery::NotAsked => Value::Null,
    };
    let head = json!({
        "type": "welcome",
        "nick": nick,
        "node": node,
        "epoch": &*position.epoch,
        "offset": position.offset.to_string(),
        "recovered": recovered,
        "online": online,
    })
    .to_string();
    let items: Vec<&str> = history.iter().filter_map(item).collect();
    // The items are JSON already (framed once for everyone): spliced in.
    let mut text =
        String::with_capacity(head.len() + items.iter().map(|i| i.len() + 1).sum::<usize>() + 16);
    text.push_str(&head[..head.len() - 1]);
    text.push_str(r#","history":["#);
    text.push_str(&items.join(","));
    text.push_str("]}");
    Message::text(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_hub::{Hub, HubOptions, Since};

    fn json_of(delivery: &Delivery) -> Value {
        serde_json::from_str(item(delivery).unwrap()).unwrap()
    }

    #[test]
    fn requests_are_checked() {
        assert_eq!(
            parse(r#"{"type":"join","nick":" ada "}"#),
            Ok(Request::Join {
                nick: "ada".into(),
                since: None
            })
        );
        assert_eq!(
            parse(r#"{"type":"join","nick":"ada","since":{"epoch":"e1","offset":"5-2"}}"#),
            Ok(Request::Join {
                nick: "ada".into(),
                since: Some(Position::parse("e1", "5-2").unwrap())
            })
        );
        let Ok(Request::Join {
            since: Some(bad), ..
        }) = parse(r#"{"type":"join","nick":"ada","since":{"offset":"x"}}"#)
        else {
            panic!()
        };
        assert_eq!(&*bad.epoch, "");
        assert_eq!(
            parse(r#"{"type":"say","text":"é"}"#),
            Ok(Request::Say("é".into()))
        );
        assert!(parse(r#"{"type":"join","nick":""}"#).is_err());
        assert!(parse(&json!({"type":"join","nick":"x".repeat(33)}).to_string()).is_err());
        assert!(parse(&json!({"type":"say","text":"x".repeat(4001)}).to_string()).is_err());
        assert!(parse("hello").is_err());
        assert!(parse(r#"{"type":"shout"}"#).is_err());
    }

    #[tokio::test]
    async fn items_carry_type_time_and_offset_and_the_welcome_splices_them() {
        let hub = Hub::new(HubOptions::new().framer(framer()));
        let watcher = hub.subscribe(TOPIC, Since::Now).await.unwrap();
        watcher.join_presence(Bytes::from("bob")).await.unwrap();
        let p = hub
            .publish(TOPIC, Kind::Text, said("ada", "say \"hi\""))
            .await
            .unwrap();
        let mut newcomer = hub.subscribe(TOPIC, Since::Recent(HISTORY)).await.unwrap();
        let history = newcomer.take_history();
        let items: Vec<Value> = history.iter().map(json_of).collect();
        assert_eq!(items[0]["type"], "join");
        assert_eq!(items[0]["nick"], "bob");
        assert_eq!(items[1]["type"], "message");
        assert_eq!(items[1]["text"], "say \"hi\"");
        assert_eq!(items[1]["nick"], "ada");
        assert_eq!(items[1]["offset"], p.offset.to_string());
        assert_eq!(items[1]["time"], p.offset.ms);
        let Message::Text(text) = welcome(
            "ada",
            hub.node(),
            &newcomer.position(),
            Recovery::NotRecovered,
            &history,
            &["bob".into(), "ada".into()],
        ) else {
            panic!()
        };
        let welcome: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["recovered"], false);
        assert_eq!(welcome["epoch"], &**newcomer.epoch());
        assert_eq!(welcome["offset"], p.offset.to_string());
        assert_eq!(welcome["online"], json!(["bob", "ada"]));
        assert_eq!(welcome["history"], Value::Array(items));
    }
}
