//! One topic as a node holds it: its members here and their queues, who
//! of them is in its presence, and (in-process) its history or (Redis)
//! where this node reads its stream from.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::entry::Entry;
use crate::log::Log;
use crate::position::{Epoch, Offset};
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
    /// Redis: the epoch of the last entry read.
    pub(crate) epoch: Option<Epoch>,
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
        for (&id, outlet) in &self.members {
            if Some(id) == except {
                continue;
            }
            match outlet.offer(&delivery) {
                Offered::Queued => {}
                Offered::Full | Offered::Gone => removed.push(id),
            }
        }
        let mut left = Vec::new();
        for id in removed {
            self.members.remove(&id);
            if let Some(info) = self.presence.remove(&id) {
                left.push((id, info));
            }
        }
        left
    }
}
