//! Node heartbeats and presence: each node refreshes a key that expires
//! after the node TTL, and keeps its members in the presence hashes; every
//! node sweeps out the members of nodes whose key expired, and publishes
//! their leaving once (the node whose `HDEL` removed them does).

use std::collections::HashSet;
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use redis::Value;

use super::{reply, Redis};
use crate::entry::Kind;
use crate::error::Error;
use crate::hub::{Hub, Inner};
use crate::options::HubOptions;

/// How long a presence hash outlives the last node that refreshed it.
pub(super) fn presence_ttl(options: &HubOptions) -> Duration {
    options.node_ttl * 3
}

/// Refreshes this node's key.
pub(super) async fn beat(hub: &Hub) -> Result<(), Error> {
    let Some(redis) = hub.redis_link() else {
        return Ok(());
    };
    let _: Value = redis::cmd("SET")
        .arg(reply::node_key(hub.node()))
        .arg(1)
        .arg("PX")
        .arg(hub.options().node_ttl.as_millis().to_string())
        .query_async(&mut redis.commands())
        .await?;
    Ok(())
}

/// Beats every third of the node TTL, then refreshes this node's presence
/// and sweeps out dead nodes' members, in every topic with members here.
pub(super) async fn run(inner: Weak<Inner>) {
    loop {
        let Some(ttl) = inner.upgrade().map(|inner| inner.options.node_ttl) else {
            return;
        };
        tokio::time::sleep(ttl / 3).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let hub = Hub { inner };
        if let Err(e) = round(&hub).await {
            tracing::warn!(node = %hub.node(), error = %e, "presence heartbeat failed");
        }
    }
}

async fn round(hub: &Hub) -> Result<(), Error> {
    let Some(redis) = hub.redis_link() else {
        return Ok(());
    };
    beat(hub).await?;
    let topics: Vec<(String, Vec<(String, Bytes)>)> = {
        let state = hub.lock();
        state
            .topics
            .iter()
            .map(|(name, topic)| {
                let here = topic
                    .presence
                    .iter()
                    .map(|(id, info)| (format!("{}/{id}", hub.node()), info.clone()))
                    .collect();
                (name.to_string(), here)
            })
            .collect()
    };
    let ttl = presence_ttl(hub.options()).as_millis().to_string();
    for (topic, here) in topics {
        let key = reply::presence_key(&topic);
        if !here.is_empty() {
            // Back after Redis lost them (a restart without persistence).
            let mut pipe = redis::pipe();
            pipe.cmd("HSET").arg(&key);
            for (field, info) in &here {
                pipe.arg(field).arg(&info[..]);
            }
            pipe.cmd("PEXPIRE").arg(&key).arg(&ttl);
            let _: Value = pipe.query_async(&mut redis.commands()).await?;
        }
        sweep(hub, redis, &topic).await?;
    }
    Ok(())
}

/// Removes from `topic`'s presence the members of dead nodes, publishing
/// the leaving of each that this node removed.
async fn sweep(hub: &Hub, redis: &Redis, topic: &str) -> Result<(), Error> {
    let members = members(redis, topic).await?;
    let alive = alive_nodes(redis, hub, members.iter().map(|m| m.node.as_str())).await?;
    for member in members {
        if alive.contains(member.node.as_str()) {
            continue;
        }
        let removed: i64 = redis::cmd("HDEL")
            .arg(reply::presence_key(topic))
            .arg(&member.field)
            .query_async(&mut redis.commands())
            .await?;
        if removed == 1 {
            tracing::info!(node = %hub.node(), topic, member = %member.field, "a dead node's member left the presence");
            hub.publish_except(topic.into(), Kind::Left, member.info, None)
                .await?;
        }
    }
    Ok(())
}

/// A member in a presence hash.
pub(super) struct PresenceMember {
    pub(super) field: String,
    pub(super) node: String,
    pub(super) info: Bytes,
}

/// Everyone in `topic`'s presence hash, dead nodes' members too.
pub(super) async fn members(redis: &Redis, topic: &str) -> Result<Vec<PresenceMember>, Error> {
    let value: Value = redis::cmd("HGETALL")
        .arg(reply::presence_key(topic))
        .query_async(&mut redis.commands())
        .await?;
    let pairs: Vec<(&Value, &Value)> = match &value {
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        other => reply::array(other)?
            .chunks(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((k, v)),
                _ => None,
            })
            .collect(),
    };
    let mut members = Vec::new();
    for (field, info) in pairs {
        let field = reply::text(field)?.to_owned();
        let Some((node, _)) = field.split_once('/') else {
            continue;
        };
        members.push(PresenceMember {
            node: node.to_owned(),
            info: Bytes::copy_from_slice(reply::bytes(info)?),
            field,
        });
    }
    members.sort_by(|a, b| a.field.cmp(&b.field));
    Ok(members)
}

/// Which of `nodes` have their heartbeat key; this node always has.
pub(super) async fn alive_nodes<'a>(
    redis: &Redis,
    hub: &Hub,
    nodes: impl Iterator<Item = &'a str>,
) -> Result<HashSet<String>, Error> {
    let mut alive = HashSet::new();
    alive.insert(hub.node().to_owned());
    let others: HashSet<&str> = nodes.filter(|node| *node != hub.node()).collect();
    for node in others {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(reply::node_key(node))
            .query_async(&mut redis.commands())
            .await?;
        if exists == 1 {
            alive.insert(node.to_owned());
        }
    }
    Ok(alive)
}
