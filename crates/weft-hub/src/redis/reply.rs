//! Reading Redis' answers: stream entries and script replies, from the
//! untyped values the client gives.

use std::sync::Arc;

use bytes::Bytes;
use redis::Value;

use crate::entry::{Entry, Kind};
use crate::error::{Error, ErrorKind};
use crate::position::{Epoch, Offset};

fn unexpected(what: &str) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("redis: unexpected reply: {what}"),
    )
}

/// The bytes of a bulk or simple string.
pub(super) fn bytes(value: &Value) -> Result<&[u8], Error> {
    match value {
        Value::BulkString(data) => Ok(data),
        Value::SimpleString(text) => Ok(text.as_bytes()),
        _ => Err(unexpected("not a string")),
    }
}

/// A string value as text.
pub(super) fn text(value: &Value) -> Result<&str, Error> {
    std::str::from_utf8(bytes(value)?).map_err(|_| unexpected("not UTF-8"))
}

/// The items of an array.
pub(super) fn array(value: &Value) -> Result<&[Value], Error> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        _ => Err(unexpected("not an array")),
    }
}

/// A stream id.
pub(super) fn offset(value: &Value) -> Result<Offset, Error> {
    text(value)?
        .parse()
        .map_err(|_| unexpected("not a stream id"))
}

/// One stream entry, `[id, [field, value, ...]]`, of `topic`. An entry
/// without an epoch or kind (not written by a hub) is `None`.
pub(super) fn entry(topic: &Arc<str>, value: &Value) -> Result<Option<Entry>, Error> {
    let parts = array(value)?;
    let [id, fields] = parts else {
        return Err(unexpected("an entry is not [id, fields]"));
    };
    let offset = offset(id)?;
    let fields = array(fields)?;
    let (mut epoch, mut kind, mut payload, mut except): (Option<Epoch>, _, _, _) =
        (None, None, Bytes::new(), None);
    for pair in fields.chunks(2) {
        let [name, value] = pair else { break };
        match bytes(name)? {
            b"e" => epoch = Some(text(value)?.into()),
            b"k" => kind = Kind::from_tag(bytes(value)?),
            b"p" => payload = Bytes::copy_from_slice(bytes(value)?),
            b"x" => except = Some(text(value)?.into()),
            _ => {}
        }
    }
    let (Some(epoch), Some(kind)) = (epoch, kind) else {
        return Ok(None);
    };
    Ok(Some(Entry {
        topic: topic.clone(),
        offset,
        epoch,
        kind,
        payload,
        except,
    }))
}

/// A list of stream entries.
pub(super) fn entries(topic: &Arc<str>, value: &Value) -> Result<Vec<Arc<Entry>>, Error> {
    let mut out = Vec::new();
    for item in array(value)? {
        if let Some(entry) = entry(topic, item)? {
            out.push(Arc::new(entry));
        }
    }
    Ok(out)
}

/// The id of the last of a list of stream entries, whoever wrote them.
pub(super) fn last_id(value: &Value) -> Result<Option<Offset>, Error> {
    match array(value)?.last() {
        Some(last) => match array(last)?.first() {
            Some(id) => Ok(Some(offset(id)?)),
            None => Err(unexpected("an entry without an id")),
        },
        None => Ok(None),
    }
}

/// The stream key of `topic`, and back.
pub(super) fn stream_key(topic: &str) -> String {
    format!("weft:{{{topic}}}:log")
}

/// The topic of a stream key.
pub(super) fn topic_of(key: &[u8]) -> Option<&str> {
    let key = std::str::from_utf8(key).ok()?;
    key.strip_prefix("weft:{")?.strip_suffix("}:log")
}

/// The epoch key of `topic`.
pub(super) fn epoch_key(topic: &str) -> String {
    format!("weft:{{{topic}}}:epoch")
}

/// The presence hash of `topic`.
pub(super) fn presence_key(topic: &str) -> String {
    format!("weft:{{{topic}}}:presence")
}

/// The heartbeat key of a node.
pub(super) fn node_key(node: &str) -> String {
    format!("weft:node:{node}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_topics_hash_tag_and_give_the_topic_back() {
        assert_eq!(stream_key("room 1"), "weft:{room 1}:log");
        assert_eq!(epoch_key("room 1"), "weft:{room 1}:epoch");
        assert_eq!(topic_of(stream_key("a}b").as_bytes()), Some("a}b"));
        assert_eq!(topic_of(b"other"), None);
    }

    #[test]
    fn entries_are_read_from_their_fields() {
        let topic: Arc<str> = "t".into();
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let value = Value::Array(vec![
            bulk("5-1"),
            Value::Array(vec![
                bulk("e"),
                bulk("ep"),
                bulk("k"),
                bulk("b"),
                bulk("p"),
                bulk("\u{0}x"),
                bulk("x"),
                bulk("n/3"),
            ]),
        ]);
        let entry = entry(&topic, &value).unwrap().unwrap();
        assert_eq!(entry.offset, Offset { ms: 5, seq: 1 });
        assert_eq!((&*entry.epoch, entry.kind), ("ep", Kind::Binary));
        assert_eq!(&entry.payload[..], b"\0x");
        assert_eq!(entry.except.as_deref(), Some("n/3"));
        let foreign = Value::Array(vec![bulk("5-2"), Value::Array(vec![bulk("a"), bulk("b")])]);
        assert_eq!(super::entry(&topic, &foreign).unwrap(), None);
        assert!(super::entry(&topic, &bulk("x")).is_err());
    }
}
