//! At-least-once bookkeeping: which input offsets may be committed.
//!
//! Every batch handed to the plugins gets a [`Ticket`]. Whoever still owes
//! the batch something (the worker until it has printed or sent every output,
//! the producer until each delivery report comes back) holds a clone of it.
//! When the last clone drops, the batch is done. Per partition the tracker
//! keeps the batches in the order they were read and commits the end of the
//! longest prefix of done batches: the highest contiguous acknowledged offset.
//! A batch whose output failed is never done, so nothing after it in its
//! partitions is committed and a restart resumes there.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A topic and partition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic (shared: one allocation per topic).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.topic, self.partition)
    }
}

/// Where a record was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// The topic (shared: one allocation per topic).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]@{}", self.topic, self.partition, self.offset)
    }
}

/// A batch not yet committable on one partition.
#[derive(Clone, Copy)]
struct Pending {
    /// Its ticket.
    ticket: u64,
    /// The offset after its last record on this partition.
    end: i64,
    /// Whether every output of it has been acknowledged.
    done: bool,
}

#[derive(Default)]
struct Partition {
    /// Batches in read order.
    pending: VecDeque<Pending>,
    /// Everything below this is acknowledged.
    acked: Option<i64>,
    /// What was last handed out for committing.
    committed: Option<i64>,
    /// Which assignment this is: a partition revoked and assigned again
    /// gets a new one (state kept for the old one is stale).
    epoch: u64,
}

#[derive(Default)]
struct Inner {
    partitions: BTreeMap<TopicPartition, Partition>,
    next_id: u64,
    next_epoch: u64,
    in_flight: usize,
    failure: Option<String>,
}

/// The offsets of the partitions this consumer owns, and the batches in flight.
#[derive(Default)]
pub struct Tracker {
    inner: Mutex<Inner>,
    changed: Condvar,
}

/// A batch in flight; the batch is acknowledged when the last clone drops,
/// unless [`Ticket::fail`] was called.
pub struct Ticket {
    id: u64,
    ends: Vec<(TopicPartition, i64)>,
    failed: AtomicBool,
    tracker: Arc<Tracker>,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The partitions were assigned to this consumer.
    pub fn assign(&self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let mut inner = self.lock();
        for tp in partitions {
            inner.next_epoch += 1;
            let epoch = inner.next_epoch;
            inner.partitions.entry(tp).or_insert_with(|| Partition {
                epoch,
                ..Partition::default()
            });
        }
    }

    /// Which assignment of `tp` this consumer holds (`None`: it does not own it).
    pub fn epoch(&self, tp: &TopicPartition) -> Option<u64> {
        self.lock().partitions.get(tp).map(|p| p.epoch)
    }

    /// The partitions were taken away: forget them; batches still in flight
    /// for them are no longer committed by this consumer.
    pub fn revoke(&self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let mut inner = self.lock();
        for tp in partitions {
            inner.partitions.remove(&tp);
        }
    }

    /// The partitions this consumer owns.
    pub fn assigned(&self) -> BTreeSet<TopicPartition> {
        self.lock().partitions.keys().cloned().collect()
    }

    /// Opens a ticket for a batch of records read at `positions`, in read order. Records of partitions
    /// this consumer does not own (read just before a revoke) are processed
    /// but never committed here.
    pub fn open(self: &Arc<Self>, positions: &[Position]) -> Arc<Ticket> {
        let mut ends: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for p in positions {
            let tp = TopicPartition {
                topic: p.topic.clone(),
                partition: p.partition,
            };
            let end = ends.entry(tp).or_insert(0);
            *end = (*end).max(p.offset + 1);
        }
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.in_flight += 1;
        let mut owned = Vec::with_capacity(ends.len());
        for (tp, end) in ends {
            if let Some(p) = inner.partitions.get_mut(&tp) {
                p.pending.push_back(Pending {
                    ticket: id,
                    end,
                    done: false,
                });
                owned.push((tp, end));
            }
        }
        Arc::new(Ticket {
            id,
            ends: owned,
            failed: AtomicBool::new(false),
            tracker: self.clone(),
        })
    }

    /// Offsets acknowledged since the last call: (partition, next offset to read).
    pub fn take_commits(&self) -> Vec<(TopicPartition, i64)> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        for (tp, p) in &mut inner.partitions {
            if p.acked.is_some() && p.acked != p.committed {
                p.committed = p.acked;
                out.push((tp.clone(), p.acked.unwrap_or_default()));
            }
        }
        out
    }

    /// Everything acknowledged per owned partition (committed or not).
    pub fn acked(&self) -> BTreeMap<TopicPartition, i64> {
        self.lock()
            .partitions
            .iter()
            .filter_map(|(tp, p)| p.acked.map(|a| (tp.clone(), a)))
            .collect()
    }

    /// Batches opened and not yet done or failed.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Records a failure that must stop the pipeline (the first one wins).
    pub fn fail(&self, reason: impl Into<String>) {
        self.lock().failure.get_or_insert(reason.into());
        self.changed.notify_all();
    }

    /// The first failure reported by any ticket.
    pub fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    /// Waits until no batch is in flight, a failure is reported, or `limit`
    /// passes; true when nothing is left in flight.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut inner = self.lock();
        while inner.in_flight > 0 && inner.failure.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            inner = self
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        inner.in_flight == 0
    }

    /// A ticket is done: `delivered` acknowledges its offsets; otherwise
    /// they stay pending (never committed), and `failure`, if any, stops
    /// the pipeline.
    fn finish(&self, ticket: &Ticket, delivered: bool, failure: Option<String>) {
        let mut inner = self.lock();
        inner.in_flight -= 1;
        if let Some(f) = failure {
            inner.failure.get_or_insert(f);
        }
        if delivered {
            for (tp, _) in &ticket.ends {
                let Some(p) = inner.partitions.get_mut(tp) else {
                    continue;
                };
                if let Some(entry) = p.pending.iter_mut().find(|e| e.ticket == ticket.id) {
                    entry.done = true;
                }
                while let Some(&Pending {
                    end, done: true, ..
                }) = p.pending.front()
                {
                    p.acked = Some(p.acked.map_or(end, |a| a.max(end)));
                    p.pending.pop_front();
                }
            }
        }
        drop(inner);
        self.changed.notify_all();
    }
}

impl Ticket {
    /// Marks the batch as failed: it is never acknowledged, and the reason
    /// becomes the tracker's failure (the first one wins).
    pub fn fail(&self, reason: impl Into<String>) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            self.tracker.fail(reason);
        }
    }
}

impl Ticket {
    /// Gives the batch up without a failure of its own (the pipeline is
    /// stopping, for another failure or because its output went away): it
    /// is never acknowledged, so its offsets are read again after a restart.
    pub fn abandon(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // A ticket dropped while its holder panics was not delivered.
        let panicked =
            std::thread::panicking().then(|| "a worker panicked while holding a batch".to_string());
        let undelivered = self.failed.load(Ordering::SeqCst) || panicked.is_some();
        self.tracker.finish(self, !undelivered, panicked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition {
            topic: "t".into(),
            partition,
        }
    }

    fn at(partition: i32, offsets: std::ops::Range<i64>) -> Vec<Position> {
        let topic: Arc<str> = "t".into();
        offsets
            .map(|offset| Position {
                topic: topic.clone(),
                partition,
                offset,
            })
            .collect()
    }

    #[test]
    fn commits_only_the_contiguous_prefix_of_done_batches() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0), tp(1)]);
        let first = tracker.open(&at(0, 0..10));
        let second = tracker.open(&[at(0, 10..20), at(1, 0..5)].concat());
        let third = tracker.open(&at(0, 20..30));
        drop(second);
        // Partition 0 waits for the first batch; partition 1 only had the second.
        assert_eq!(tracker.take_commits(), vec![(tp(1), 5)]);
        let held = third.clone();
        drop(third);
        assert!(tracker.take_commits().is_empty());
        drop(first);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 20)]);
        drop(held);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 30)]);
        assert!(
            tracker.take_commits().is_empty(),
            "each offset handed out once"
        );
        assert_eq!(tracker.in_flight(), 0);
    }

    #[test]
    fn a_failed_batch_blocks_its_partitions_forever() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0), tp(1)]);
        let bad = tracker.open(&[at(0, 0..3), at(1, 0..3)].concat());
        let later = tracker.open(&at(0, 3..6));
        let other = tracker.open(&at(1, 3..6));
        bad.fail("delivery to \"out\" failed");
        drop(bad);
        drop(later);
        drop(other);
        assert!(tracker.take_commits().is_empty());
        assert_eq!(
            tracker.failure().as_deref(),
            Some("delivery to \"out\" failed")
        );
        assert!(tracker.wait_idle(Duration::ZERO));
    }

    #[test]
    fn revoked_partitions_are_not_committed() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0), tp(1)]);
        let batch = tracker.open(&[at(0, 0..3), at(1, 0..3)].concat());
        tracker.revoke([tp(1)]);
        let stale = tracker.open(&at(1, 3..6));
        drop(batch);
        drop(stale);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 3)]);
        assert_eq!(tracker.assigned(), BTreeSet::from([tp(0)]));
    }

    #[test]
    fn a_refetched_range_after_a_done_one_keeps_the_highest_offset() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0)]);
        let a = tracker.open(&at(0, 0..10));
        let b = tracker.open(&at(0, 5..8));
        drop(a);
        drop(b);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 10)]);
    }

    #[test]
    fn a_ticket_dropped_by_a_panicking_thread_is_not_acknowledged() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0)]);
        let ticket = tracker.open(&at(0, 0..3));
        let panicked = std::thread::spawn(move || {
            let _held = ticket;
            panic!("a bug in a worker");
        })
        .join();
        assert!(panicked.is_err());
        assert!(tracker.take_commits().is_empty());
        assert!(tracker.failure().is_some());
    }

    #[test]
    fn an_abandoned_ticket_blocks_later_commits_without_failing_the_pipeline() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0)]);
        let first = tracker.open(&at(0, 0..3));
        let abandoned = tracker.open(&at(0, 3..6));
        let later = tracker.open(&at(0, 6..9));
        drop(first);
        abandoned.abandon();
        drop(abandoned);
        drop(later);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 3)]);
        assert!(tracker.failure().is_none());
        assert!(tracker.wait_idle(Duration::from_millis(10)));
    }

    #[test]
    fn wait_idle_returns_when_the_last_batch_is_done() {
        let tracker = Arc::new(Tracker::default());
        tracker.assign([tp(0)]);
        let ticket = tracker.open(&at(0, 0..1));
        let waiter = {
            let tracker = tracker.clone();
            std::thread::spawn(move || tracker.wait_idle(Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(20));
        drop(ticket);
        assert!(waiter.join().unwrap());
    }
}
