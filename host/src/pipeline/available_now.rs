//! `--available-now`: the end offsets the run must reach before it ends,
//! taken for every partition of its topics when this consumer is first
//! given a partition. Like Spark's availableNow, it covers every partition:
//! those this consumer owns are done when acknowledged here, the others when
//! the group has committed them up to their end (whichever member did it).

use crate::offsets::{TopicPartition, Tracker};
use crate::source::kafka::KafkaSource;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What `--available-now` waits for.
pub(super) struct Targets {
    /// Every partition's end offset at the start.
    ends: BTreeMap<TopicPartition, i64>,
    /// Where the group stood on each partition at the start (none: from the beginning).
    start: BTreeMap<TopicPartition, i64>,
    /// When this consumer started waiting.
    started: Instant,
    /// When the group's commits were last read.
    last_look: Option<Instant>,
    /// The group's commits on the partitions still behind, and since when they stand still.
    behind: BTreeMap<TopicPartition, Option<i64>>,
    still_since: Instant,
    /// The partitions this consumer has owned (each looked up once when first given).
    given: BTreeSet<TopicPartition>,
    /// How long to wait for a first assignment, or for the group's commits on
    /// partitions other members hold while they stand still.
    patience: Duration,
}

impl Targets {
    /// Targets taken at the first assignment, waited for with `patience`.
    pub(super) fn new(patience: Duration) -> Self {
        Targets {
            ends: BTreeMap::new(),
            start: BTreeMap::new(),
            started: Instant::now(),
            last_look: None,
            behind: BTreeMap::new(),
            still_since: Instant::now(),
            given: BTreeSet::new(),
            patience,
        }
    }

    /// Whether the run is done: every partition of the topics read up to its
    /// end offset at the start. Errors when no partition is assigned within
    /// the patience, or when partitions other members hold stop moving that long
    /// (naming them: a killed member keeps its partitions until its session
    /// times out; a later run reads them, nothing is lost).
    pub(super) fn drained(
        &mut self,
        source: &KafkaSource,
        tracker: &Tracker,
        starting_latest: bool,
    ) -> Result<bool> {
        let owned = tracker.assigned();
        if self.ends.is_empty() {
            if owned.is_empty() {
                if self.started.elapsed() > self.patience {
                    bail!(
                        "no partition was assigned to this consumer within {:?} (--available-now-timeout-s); is another member of the group holding them all, or is a killed member's session (session.timeout.ms) still open?",
                        self.patience
                    );
                }
                return Ok(false);
            }
            let all = source.partitions()?;
            self.ends = source.end_offsets(&all)?;
            for (tp, committed) in source.committed(&all)? {
                // A new group starting at the end has nothing available now.
                let end = self.ends.get(&tp).copied();
                if let Some(start) = committed.or(end.filter(|_| starting_latest)) {
                    self.start.insert(tp, start);
                }
            }
        }
        // A partition given by a rebalance may have been read further by its former
        // owner: where the group stands on it counts as read.
        let new: Vec<TopicPartition> = owned.difference(&self.given).cloned().collect();
        if !new.is_empty() {
            for (tp, committed) in source.committed(&new)? {
                if let Some(at) = committed {
                    let start = self.start.entry(tp).or_insert(at);
                    *start = (*start).max(at);
                }
            }
            self.given.extend(new);
        }
        let acked = tracker.acked();
        let reached = |tp: &TopicPartition, at: Option<i64>| {
            let end = self.ends[tp];
            end == 0
                || at
                    .max(self.start.get(tp).copied())
                    .is_some_and(|at| at >= end)
        };
        // Owned partitions this consumer is still reading: wait for them.
        let reading = self
            .ends
            .keys()
            .filter(|tp| owned.contains(*tp))
            .any(|tp| acked.contains_key(tp) && !reached(tp, acked.get(tp).copied()));
        if reading {
            return Ok(false);
        }
        // The rest: partitions other members hold (or none does, between a
        // revoke and an assignment), and owned ones with nothing acknowledged
        // since they were (re)assigned: a rebalance that takes a partition
        // away and gives it back forgets what was acknowledged, and there may
        // be nothing more to read on it.
        let others: Vec<TopicPartition> = self
            .ends
            .keys()
            .filter(|tp| !reached(tp, acked.get(tp).copied()))
            .cloned()
            .collect();
        if others.is_empty() {
            return Ok(true);
        }
        // Done when the group has committed them, read at most once a second.
        if self
            .last_look
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return Ok(false);
        }
        self.last_look = Some(Instant::now());
        let committed = source.committed(&others)?;
        let behind: BTreeMap<TopicPartition, Option<i64>> = committed
            .into_iter()
            .filter(|(tp, at)| !reached(tp, *at))
            .collect();
        if behind.is_empty() {
            return Ok(true);
        }
        if behind != self.behind {
            self.behind = behind;
            self.still_since = Instant::now();
        } else if self.still_since.elapsed() > self.patience {
            let names: Vec<String> = self
                .behind
                .iter()
                .map(|(tp, at)| {
                    let at = at.map_or("nothing".to_string(), |o| o.to_string());
                    format!("{tp} (committed {at}, end at start {})", self.ends[tp])
                })
                .collect();
            bail!(
                "--available-now: {} not read up to the end offsets of the start, and the group's commits on them stood still for {:?} (--available-now-timeout-s): another member holds them (a killed member keeps its partitions until its session times out). Nothing was lost: run again to read them",
                names.join(", "),
                self.patience
            );
        }
        Ok(false)
    }
}
