//! One topic as a node holds it: its members here and their queues, who
//! of them is in its presence, and (in-process) its history or (Redis)
//! where this node reads its stream from.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::entry::Entry;
use crate::log::Log;
use crate::position::Offset;
use crate::queue::{Delivery, Offered, Outlet};

/// A member's number on its node.
pub type MemberId = u64;

/// A topic on this node.
#[derive(Default)]
pub(crate) struct Topic {
    pub(crate) members: HashMap<MemberId, Outlet>,
    /// The members here that joined the presence, with what they gave.
    pub(crate) presence: HashMap<MemberId, Bytes>,
    /// The in-process history.
    pub(crate) log: Option<Log>,
    /// Redis: the stream id this node has read up to; `None` until the
    /// first member's subscription learnt it.
    pub(crate) reading: Option<Offset>,
}

impl Topic {
    /// Queues `entry`, framed once as `message`, for every member here
    /// but `except` (its sender, if that is a member here). Members whose
    /// queue is full are removed; returned are those of them who were in
    /// the presence, with what they had given, so that their leaving is
    /// published.
    pub(crate) fn deliver(
        &mut self,
        entry: &Arc<Entry>,
        message: Option<weft_io::Message>,
        except: Option<MemberId>,
    ) -> Vec<(MemberId, Bytes)> {
        let Some(message) = message else {
            return Vec::new();
        };
        let delivery = Delivery {
            entry: entry.clone(),
            message,
        };
        let mut removed = Vec::new();
        for (&id, outlet) in &mut self.members {
            if Some(id) == except {
                continue;
            }
            match outlet.offer(&delivery) {
                Offered::Queued | Offered::Had => {}
                Offered::Full | Offered::Gone => removed.push(id),
            }
        }
        self.remove_members(removed)
    }

    /// Removes `ids` from the members (their queues end); returns those of
    /// them who were in the presence, with what they had given.
    pub(crate) fn remove_members(&mut self, ids: Vec<MemberId>) -> Vec<(MemberId, Bytes)> {
        let mut left = Vec::new();
        for id in ids {
            self.members.remove(&id);
            if let Some(info) = self.presence.remove(&id) {
                left.push((id, info));
            }
        }
        left
    }

    /// Removes every member, marked as having missed entries: the node
    /// could not read some of them before they were dropped.
    pub(crate) fn drop_lagged(&mut self) -> Vec<(MemberId, Bytes)> {
        for outlet in self.members.values() {
            outlet.mark_lagged();
        }
        let ids = self.members.keys().copied().collect();
        self.remove_members(ids)
    }
}
