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

/// How long one `XREAD` blocks: also the longest a topic that starts to be
/// read here waits, should the reader not have been woken.
const BLOCK: Duration = Duration::from_millis(1000);
/// The most entries one `XREAD` takes per stream.
const BATCH: usize = 1024;
/// The first wait before reaching Redis again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

pub(super) async fn run(inner: Weak<Inner>) {
    let mut connection: Option<MultiplexedConnection> = None;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let hub = Hub { inner };
        let Some(redis) = hub.redis_link() else {
            return;
        };
        let result = match connection.as_mut() {
            Some(connection) => read_once(&hub, redis, connection).await,
            None => match connect(redis).await {
                Ok(new) => {
                    connection = Some(new);
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

/// One `XREAD` over the topics read here, its entries delivered.
async fn read_once(
    hub: &Hub,
    redis: &Redis,
    connection: &mut MultiplexedConnection,
) -> Result<(), Error> {
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
    for (key, entries) in streams {
        let Some(topic) = reply::topic_of(reply::bytes(key)?) else {
            continue;
        };
        let topic: Arc<str> = topic.into();
        read.extend(reply::entries(&topic, entries)?);
    }
    for (topic, id, info) in hub.deliver_read(read) {
        let hub = hub.clone();
        tokio::spawn(async move { hub.publish_left(&topic, id, info).await });
    }
    Ok(())
}
