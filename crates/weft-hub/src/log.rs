//! The in-process backplane's history of one topic: the last messages,
//! bounded by count and age, and what recovery needs to know about what
//! was dropped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::entry::{Entry, Kind, Sender};
use crate::position::{new_epoch, Epoch, Offset, Position};

/// A topic's history in this process.
pub(crate) struct Log {
    pub(crate) epoch: Epoch,
    entries: VecDeque<Arc<Entry>>,
    /// The newest offset given, [`Offset::ZERO`] before the first.
    pub(crate) last: Offset,
    /// The newest offset dropped from the front, if any was.
    dropped: Option<Offset>,
    max_len: usize,
    max_age_ms: u64,
}

impl Log {
    pub(crate) fn new(max_len: usize, max_age: Duration) -> Log {
        Log {
            epoch: new_epoch(),
            entries: VecDeque::new(),
            last: Offset::ZERO,
            dropped: None,
            max_len: max_len.max(1),
            max_age_ms: max_age.as_millis() as u64,
        }
    }

    /// Appends a message stored at `now_ms`, then drops what is too old
    /// or too many.
    pub(crate) fn append(
        &mut self,
        topic: &Arc<str>,
        kind: Kind,
        payload: Bytes,
        except: Option<Sender>,
        now_ms: u64,
    ) -> Arc<Entry> {
        // As Redis does: the clock's millisecond, or the last one's next
        // sequence number if the clock has not moved on (or went back).
        let offset = if now_ms > self.last.ms {
            Offset { ms: now_ms, seq: 0 }
        } else {
            self.last.next()
        };
        self.last = offset;
        let entry = Arc::new(Entry {
            topic: topic.clone(),
            offset,
            epoch: self.epoch.clone(),
            kind,
            payload,
            except,
        });
        self.entries.push_back(entry.clone());
        self.trim(now_ms);
        entry
    }

    /// Drops messages beyond the count or older than the age.
    pub(crate) fn trim(&mut self, now_ms: u64) {
        let oldest = now_ms.saturating_sub(self.max_age_ms);
        while let Some(front) = self.entries.front() {
            if self.entries.len() <= self.max_len && front.offset.ms >= oldest {
                break;
            }
            self.dropped = Some(front.offset);
            self.entries.pop_front();
        }
    }

    /// Whether the log holds no message.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `n` newest messages, oldest first.
    pub(crate) fn recent(&self, n: usize) -> Vec<Arc<Entry>> {
        let skip = self.entries.len().saturating_sub(n);
        self.entries.iter().skip(skip).cloned().collect()
    }

    /// Every message after `from`, if none of them was dropped and `from`
    /// is of this epoch and not in the future; `None` otherwise.
    pub(crate) fn after(&self, from: &Position) -> Option<Vec<Arc<Entry>>> {
        if from.epoch != self.epoch || from.offset > self.last {
            return None;
        }
        if self.dropped.is_some_and(|dropped| dropped > from.offset) {
            return None;
        }
        Some(
            self.entries
                .iter()
                .filter(|entry| entry.offset > from.offset)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(n: u64, max_len: usize) -> (Log, Arc<str>) {
        let topic: Arc<str> = "t".into();
        let mut log = Log::new(max_len, Duration::from_secs(60));
        for i in 0..n {
            log.append(
                &topic,
                Kind::Text,
                Bytes::from(i.to_string()),
                None,
                1_000 + i / 2,
            );
        }
        (log, topic)
    }

    #[test]
    fn offsets_grow_within_a_millisecond_and_when_the_clock_goes_back() {
        let (mut log, topic) = log_of(4, 10);
        let offsets: Vec<String> = log
            .recent(10)
            .iter()
            .map(|e| e.offset.to_string())
            .collect();
        assert_eq!(offsets, ["1000-0", "1000-1", "1001-0", "1001-1"]);
        let back = log.append(&topic, Kind::Text, Bytes::new(), None, 5);
        assert_eq!(back.offset.to_string(), "1001-2");
    }

    #[test]
    fn a_position_recovers_while_nothing_after_it_was_dropped() {
        let (log, _) = log_of(10, 4);
        let entries = log.recent(100);
        assert_eq!(entries.len(), 4);
        let at = |i: usize| entries[i].position();
        // The oldest kept: everything after it is there.
        assert_eq!(log.after(&at(0)).unwrap().len(), 3);
        assert_eq!(log.after(&at(3)).unwrap().len(), 0);
        // The one dropped last: what came after it is all kept.
        let dropped = Position {
            epoch: log.epoch.clone(),
            offset: Offset { ms: 1002, seq: 1 },
        };
        assert_eq!(log.after(&dropped).unwrap().len(), 4);
        // Older: one after it was dropped.
        let older = Position {
            epoch: log.epoch.clone(),
            offset: Offset { ms: 1002, seq: 0 },
        };
        assert!(log.after(&older).is_none());
        // Another epoch, or an offset never given.
        assert!(log
            .after(&Position {
                epoch: "other".into(),
                ..at(3)
            })
            .is_none());
        let future = Position {
            epoch: log.epoch.clone(),
            offset: Offset { ms: 9999, seq: 0 },
        };
        assert!(log.after(&future).is_none());
    }

    #[test]
    fn old_messages_are_dropped_by_age() {
        let topic: Arc<str> = "t".into();
        let mut log = Log::new(100, Duration::from_secs(1));
        let first = log.append(&topic, Kind::Text, Bytes::new(), None, 10_000);
        log.append(&topic, Kind::Text, Bytes::new(), None, 10_500);
        log.trim(11_200);
        assert_eq!(log.recent(10).len(), 1);
        assert!(log.after(&first.position()).is_some());
        log.trim(12_000);
        assert!(log.is_empty());
        assert!(log.after(&first.position()).is_none());
    }

    proptest::proptest! {
        /// Whatever the appends, their times and the bounds: the log keeps
        /// a suffix of what was appended, within its bounds, and a position
        /// recovers exactly when nothing after it was dropped, giving
        /// everything after it.
        #[test]
        fn recovery_is_granted_exactly_when_nothing_after_the_position_was_dropped(
            steps in proptest::collection::vec(0u64..4, 1..60),
            max_len in 1usize..8,
            max_age_ms in 1u64..12,
        ) {
            let topic: Arc<str> = "t".into();
            let mut log = Log::new(max_len, Duration::from_millis(max_age_ms));
            let mut all: Vec<Arc<Entry>> = Vec::new();
            let mut now = 1_000;
            for step in steps {
                now += step;
                all.push(log.append(&topic, Kind::Text, Bytes::new(), None, now));
                let kept = log.recent(usize::MAX);
                proptest::prop_assert!(kept.len() <= max_len);
                proptest::prop_assert!(kept.iter().all(|e| e.offset.ms + max_age_ms >= now));
                // A suffix of everything appended, in order.
                proptest::prop_assert_eq!(&kept[..], &all[all.len() - kept.len()..]);
                let epoch = log.epoch.clone();
                let positions = std::iter::once(Offset::ZERO).chain(all.iter().map(|e| e.offset));
                for offset in positions {
                    let from = Position { epoch: epoch.clone(), offset };
                    let after: Vec<&Arc<Entry>> = all.iter().filter(|e| e.offset > offset).collect();
                    let dropped = after.len() > kept.len();
                    match log.after(&from) {
                        Some(missed) => {
                            proptest::prop_assert!(!dropped);
                            let missed: Vec<&Arc<Entry>> = missed.iter().collect();
                            proptest::prop_assert_eq!(missed, after);
                        }
                        None => proptest::prop_assert!(dropped),
                    }
                }
                let future = Position { epoch: epoch.clone(), offset: log.last.next() };
                proptest::prop_assert!(log.after(&future).is_none());
                let other = Position { epoch: "other".into(), offset: log.last };
                proptest::prop_assert!(log.after(&other).is_none());
            }
        }
    }
}
