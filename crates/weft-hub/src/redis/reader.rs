//! The node's reader: one connection blocked in `XREAD` on the streams of
//! every topic with members here, each from the last id read, so that a
//! node cut off from Redis for a while resumes exactly where it stopped.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};

use super::{reply, Redis, CONNECT_TIMEOUT, MAX_BACKOFF};
use crate::error::Error;
use crate::hub::{Hub, Inner};
use crate::position::Offset;

/// How long one `XREAD` blocks: also the longest a topic that starts to be
/// read here waits, should the reader not have been woken.
const BLOCK: Duration = Duration::from_millis(1000);
/// The most entries one `XREAD` takes per stream: half the fewest a
/// stream keeps ([`super::MIN_STREAM_LEN`]), so that a node that fell far
/// enough behind to lose entries gets a full batch, and checks.
pub(super) const BATCH: usize = 512;
/// The first wait before reaching Redis again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

pub(super) async fn run(inner: Weak<Inner>) {
    let mut connection: Option<MultiplexedConnection> = None;
    let mut backoff = FIRST_BACKOFF;
    // Whether the topics' positions may have fallen out of their
    // histories: after reaching Redis again, and after a full batch (the
    // node is behind).
    let mut check = false;
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let hub = Hub { inner };
        let Some(redis) = hub.redis_link() else {
            return;
        };
        let result = match connection.as_mut() {
            Some(connection) => read_once(&hub, redis, connection, &mut check).await,
            None => match connect(redis).await {
                Ok(new) => {
                    connection = Some(new);
                    check = true;
                    if redis
                        .last_error
                        .lock()
                        .map(|mut e| e.take())
                        .ok()
                        .flatten()
                        .is_some()
                    {
                        tracing::info!(node = %hub.node(), "reached Redis again; reading from the last ids");
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => backoff = FIRST_BACKOFF,
            Err(e) => {
                connection = None;
                redis.reader_id.store(0, Ordering::Relaxed);
                tracing::warn!(node = %hub.node(), error = %e, retry_in = ?backoff, "cannot read from Redis");
                if let Ok(mut last) = redis.last_error.lock() {
                    *last = Some(e.to_string());
                }
                drop(hub);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// A connection of the reader's own (its reads block), with its id.
async fn connect(redis: &Redis) -> Result<MultiplexedConnection, Error> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(BLOCK + super::RESPONSE_TIMEOUT));
    let mut connection = redis
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut connection)
        .await?;
    redis.reader_id.store(id, Ordering::Relaxed);
    Ok(connection)
}

/// One `XREAD` over the topics read here, its entries delivered; first,
/// if `check`, the topics whose position is no longer in their stream
/// have their members removed as lagged.
async fn read_once(
    hub: &Hub,
    redis: &Redis,
    connection: &mut MultiplexedConnection,
    check: &mut bool,
) -> Result<(), Error> {
    if std::mem::take(check) {
        check_positions(hub, connection).await?;
    }
    let (keys, ids): (Vec<String>, Vec<String>) = {
        let state = hub.lock();
        state
            .topics
            .iter()
            .filter_map(|(name, topic)| Some((reply::stream_key(name), topic.reading?.to_string())))
            .unzip()
    };
    if keys.is_empty() {
        let _ = tokio::time::timeout(BLOCK, redis.topics_changed.notified()).await;
        return Ok(());
    }
    let value: Value = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(BATCH)
        .arg("BLOCK")
        .arg(BLOCK.as_millis() as u64)
        .arg("STREAMS")
        .arg(&keys)
        .arg(&ids)
        .query_async(connection)
        .await?;
    let streams: Vec<(&Value, &Value)> = match &value {
        Value::Nil => return Ok(()),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        other => reply::array(other)?
            .iter()
            .filter_map(|stream| match reply::array(stream) {
                Ok([key, entries]) => Some((key, entries)),
                _ => None,
            })
            .collect(),
    };
    let mut read = Vec::new();
    let mut read_up_to = Vec::new();
    for (key, entries) in streams {
        let Some(topic) = reply::topic_of(reply::bytes(key)?) else {
            continue;
        };
        let topic: Arc<str> = topic.into();
        if reply::array(entries)?.len() >= BATCH {
            // Far behind: entries between the position and this batch may
            // have been trimmed before they were read. Checked before any
            // of the batch is delivered, and again at the next read.
            *check = true;
            if !position_kept(hub, connection, &topic).await? {
                continue;
            }
        }
        if let Some(last) = reply::last_id(entries)? {
            read_up_to.push((topic.clone(), last));
        }
        read.extend(reply::entries(&topic, entries)?);
    }
    let left = hub.deliver_read(read, read_up_to);
    publish_left(hub, left);
    Ok(())
}

/// Publishes the leaving of members removed from the presence here.
fn publish_left(hub: &Hub, left: Vec<(Arc<str>, crate::topic::MemberId, bytes::Bytes)>) {
    for (topic, id, info) in left {
        let hub = hub.clone();
        tokio::spawn(async move { hub.publish_left(&topic, id, info).await });
    }
}

/// Removes, as lagged, the members of every topic whose position here is
/// no longer an entry of its stream: entries after it may have been
/// dropped before this node read them (it was cut off or behind for
/// longer than the history covers, or the history was lost), and its
/// members would not know what they missed. They come back and are told
/// whether they recovered.
async fn check_positions(hub: &Hub, connection: &mut MultiplexedConnection) -> Result<(), Error> {
    let topics: Vec<Arc<str>> = hub.lock().topics.keys().cloned().collect();
    for topic in topics {
        position_kept(hub, connection, &topic).await?;
    }
    Ok(())
}

/// Whether this node's position in `topic` is still an entry of its
/// stream (or the start); if not, its members are removed as lagged.
async fn position_kept(
    hub: &Hub,
    connection: &mut MultiplexedConnection,
    topic: &Arc<str>,
) -> Result<bool, Error> {
    let reading = hub.lock().topics.get(topic).and_then(|topic| topic.reading);
    let Some(reading) = reading.filter(|reading| *reading != Offset::ZERO) else {
        return Ok(true);
    };
    let id = reading.to_string();
    let found: Value = redis::cmd("XRANGE")
        .arg(reply::stream_key(topic))
        .arg(&id)
        .arg(&id)
        .query_async(connection)
        .await?;
    if !reply::array(&found)?.is_empty() {
        return Ok(true);
    }
    tracing::warn!(node = %hub.node(), topic = %topic, position = %reading,
        "the node's position left the history: its members missed entries and are closed");
    let left = hub.drop_lagged(topic);
    publish_left(hub, left);
    Ok(false)
}
