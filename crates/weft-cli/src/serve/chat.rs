//! `weft serve --chat`: a chat room over the hub, speaking JSON text
//! messages (docs/cli.md lists them). A client joins with a nickname, is
//! welcomed with the last [`HISTORY`] messages and who is online, then
//! says things; everyone, the sender too, gets every message, and a notice
//! when someone joins or leaves.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use weft_tokio::Message;

use super::hub::{Hub, Inbox, MemberId};

/// How many messages a newcomer is shown.
pub(crate) const HISTORY: usize = 100;
/// The longest nickname, in characters.
pub(crate) const MAX_NICK: usize = 32;
/// The longest message, in characters.
pub(crate) const MAX_TEXT: usize = 4000;

/// The largest WebSocket message the chat accepts unless told otherwise:
/// room for [`MAX_TEXT`] characters escaped in JSON, and no more, so that
/// no client makes the server parse megabytes of JSON.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024;

/// The room: its members (by nickname), what was said, and the hub that
/// carries it to them, under one lock so that a newcomer's history and
/// the messages after it neither overlap nor leave a gap.
pub(crate) struct Room {
    hub: Hub,
    history: VecDeque<Value>,
    online: Vec<(MemberId, String)>,
}

/// What a client's message asks for.
#[derive(Debug, PartialEq)]
pub(crate) enum Request {
    /// `{"type":"join","nick":"ada"}`
    Join(String),
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
            Ok(Request::Join(nick.to_owned()))
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Room {
    /// An empty room whose members' queues hold `queue` messages and
    /// `queue_bytes` bytes.
    pub(crate) fn new(queue: usize, queue_bytes: usize) -> Room {
        Room {
            hub: Hub::new(queue, queue_bytes),
            history: VecDeque::with_capacity(HISTORY),
            online: Vec::new(),
        }
    }

    /// `nick` joins: its inbox, with the welcome first in it; the others
    /// are told.
    pub(crate) fn join(&mut self, nick: &str) -> Inbox {
        let inbox = self.hub.join();
        self.online.push((inbox.id, nick.to_owned()));
        let online: Vec<&str> = self.online.iter().map(|(_, n)| n.as_str()).collect();
        let welcome = json!({
            "type": "welcome",
            "nick": nick,
            "history": self.history,
            "online": online,
        });
        // A new queue has room for its first message.
        let _ = self
            .hub
            .publish_to(inbox.id, &Message::text(welcome.to_string()));
        let notice = json!({"type": "join", "nick": nick, "time": now_ms()});
        self.publish(&notice, Some(inbox.id));
        inbox
    }

    /// Member `id` says `text`: everyone gets it, the sender too.
    pub(crate) fn say(&mut self, id: MemberId, text: &str) {
        let Some(nick) = self.nick(id) else {
            return;
        };
        let message = json!({"type": "message", "nick": nick, "text": text, "time": now_ms()});
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(message.clone());
        self.publish(&message, None);
    }

    /// Member `id` left (or was removed): the others are told.
    pub(crate) fn leave(&mut self, id: MemberId) {
        self.hub.leave(id);
        if let Some(nick) = self.nick(id) {
            self.online.retain(|(member, _)| *member != id);
            let notice = json!({"type": "leave", "nick": nick, "time": now_ms()});
            self.publish(&notice, None);
        }
    }

    fn nick(&self, id: MemberId) -> Option<String> {
        self.online
            .iter()
            .find(|(member, _)| *member == id)
            .map(|(_, nick)| nick.clone())
    }

    /// Sends `value` to the members but `except`; those too slow to take
    /// it are gone, and their leaving is told in turn.
    fn publish(&mut self, value: &Value, except: Option<MemberId>) {
        let removed = self.hub.publish(&Message::text(value.to_string()), except);
        for id in removed {
            self.leave(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::hub::DEFAULT_QUEUE_BYTES;
    use weft_tokio::weft_proto::MessageKind;

    fn next(inbox: &mut Inbox) -> Value {
        match inbox.try_recv().unwrap() {
            Message::Text(text) => serde_json::from_str(&text).unwrap(),
            Message::Prepared(p) if p.kind() == MessageKind::Text => {
                serde_json::from_slice(p.payload()).unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_are_checked() {
        assert_eq!(
            parse(r#"{"type":"join","nick":" ada "}"#),
            Ok(Request::Join("ada".into()))
        );
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

    #[test]
    fn a_newcomer_sees_the_last_hundred_messages_then_everything_after() {
        let mut room = Room::new(1000, DEFAULT_QUEUE_BYTES);
        let mut ada = room.join("ada");
        assert_eq!(next(&mut ada)["online"], json!(["ada"]));
        for i in 0..105 {
            room.say(ada.id, &i.to_string());
        }
        let mut bob = room.join("bob");
        let welcome = next(&mut bob);
        assert_eq!(welcome["type"], "welcome");
        let history = welcome["history"].as_array().unwrap();
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history[0]["text"], "5");
        assert_eq!(history[99]["text"], "104");
        assert_eq!(welcome["online"], json!(["ada", "bob"]));
        for i in 0..105 {
            assert_eq!(next(&mut ada)["text"], i.to_string());
        }
        assert_eq!(next(&mut ada)["type"], "join");
        room.say(bob.id, "hi");
        assert_eq!(next(&mut ada)["nick"], "bob");
        assert_eq!(next(&mut bob)["text"], "hi");
        room.leave(bob.id);
        let notice = next(&mut ada);
        assert_eq!(
            (&notice["type"], &notice["nick"]),
            (&json!("leave"), &json!("bob"))
        );
    }

    #[test]
    fn a_member_too_slow_to_keep_up_leaves_and_the_others_are_told() {
        let mut room = Room::new(3, DEFAULT_QUEUE_BYTES);
        let mut ada = room.join("ada");
        let slow = room.join("slow");
        next(&mut ada); // welcome
        next(&mut ada); // slow joined
        for i in 0..3 {
            room.say(ada.id, &i.to_string());
            assert_eq!(next(&mut ada)["text"], i.to_string());
        }
        // The slow one's queue held its welcome and two messages.
        assert!(slow.overflowed());
        assert_eq!(next(&mut ada)["type"], "leave");
    }
}
