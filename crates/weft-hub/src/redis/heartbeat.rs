//! Node heartbeats and presence: each node refreshes a key that expires
//! after the node TTL, and keeps its members in the presence hashes; every
//! node sweeps out the members of nodes whose key expired, and publishes
//! their leaving once (the node whose `HDEL` removed them does).

use std::collections::{HashMap, HashSet};
use std::sync::Weak;
use std::time::{Duration, Instant};

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

/// Beats every third of the node TTL, then, in every topic with members
/// here: keeps the topic's history from expiring, puts this node's members
/// back in the presence if they went missing, takes out those that left
/// while Redis could not be told, and sweeps out dead nodes' members.
pub(super) async fn run(inner: Weak<Inner>) {
    // Since when every beat succeeded: a node sweeps others only once it
    // has been beating for a whole TTL, so that after an outage longer
    // than the TTL (every heartbeat key expired) the live nodes have beaten
    // again before anyone counts them dead.
    let mut beating_since: Option<Instant> = Some(Instant::now());
    loop {
        let Some(ttl) = inner.upgrade().map(|inner| inner.options.node_ttl) else {
            return;
        };
        tokio::time::sleep(ttl / 3).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let hub = Hub { inner };
        let sweep = beating_since.is_some_and(|since| since.elapsed() >= ttl);
        match round(&hub, sweep).await {
            Ok(()) => {
                beating_since.get_or_insert_with(Instant::now);
            }
            Err(e) => {
                beating_since = None;
                tracing::warn!(node = %hub.node(), error = %e, "presence heartbeat failed");
            }
        }
    }
}

async fn round(hub: &Hub, sweep: bool) -> Result<(), Error> {
    let Some(redis) = hub.redis_link() else {
        return Ok(());
    };
    beat(hub).await?;
    let _presence = redis.presence_lock.lock().await;
    let topics: Vec<(String, HashMap<String, Bytes>)> = {
        let state = hub.lock();
        state
            .topics
            .iter()
            .filter(|(_, topic)| !topic.members.is_empty())
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
    let options = hub.options();
    let ttl = presence_ttl(options).as_millis().to_string();
    let age = options.history_age.as_millis().to_string();
    for (topic, here) in topics {
        let key = reply::presence_key(&topic);
        // A topic with members here keeps its history (and epoch) alive,
        // however long nobody publishes.
        let mut pipe = redis::pipe();
        pipe.cmd("PEXPIRE")
            .arg(reply::stream_key(&topic))
            .arg(&age)
            .ignore();
        pipe.cmd("PEXPIRE")
            .arg(reply::epoch_key(&topic))
            .arg(&age)
            .ignore();
        let fields: Vec<&String> = here.keys().collect();
        for field in &fields {
            pipe.cmd("HSETNX")
                .arg(&key)
                .arg(*field)
                .arg(&here[*field][..]);
        }
        pipe.cmd("PEXPIRE").arg(&key).arg(&ttl).ignore();
        let created: Vec<i64> = pipe.query_async(&mut redis.commands()).await?;
        // Missing (Redis lost them, or a sweep took this node for dead):
        // back, and the others are told again.
        for (field, created) in fields.iter().zip(created) {
            if created == 1 {
                let sender: crate::entry::Sender = field.as_str().into();
                let info = here[*field].clone();
                hub.publish_except(topic.as_str().into(), Kind::Joined, info, Some(sender))
                    .await?;
            }
        }
        tidy(hub, redis, &topic, &here, sweep).await?;
    }
    Ok(())
}

/// In `topic`'s presence: removes this node's members that are no longer
/// here (they left while Redis could not be told) and, if `sweep`, the
/// members of dead nodes, publishing the leaving of each that this node
/// removed.
async fn tidy(
    hub: &Hub,
    redis: &Redis,
    topic: &str,
    here: &HashMap<String, Bytes>,
    sweep: bool,
) -> Result<(), Error> {
    let members = members(redis, topic).await?;
    let alive = if sweep {
        alive_nodes(redis, hub, members.iter().map(|m| m.node.as_str())).await?
    } else {
        HashSet::new()
    };
    for member in members {
        let gone = if member.node == hub.node() {
            !here.contains_key(&member.field)
        } else {
            sweep && !alive.contains(member.node.as_str())
        };
        if !gone {
            continue;
        }
        let removed: i64 = redis::cmd("HDEL")
            .arg(reply::presence_key(topic))
            .arg(&member.field)
            .query_async(&mut redis.commands())
            .await?;
        if removed == 1 {
            tracing::info!(node = %hub.node(), topic, member = %member.field, "a member gone from its node left the presence");
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
