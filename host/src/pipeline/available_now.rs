//! `--available-now`: which end offsets the run must reach before it ends,
//! taken for every partition when this consumer is first given it.

use crate::offsets::{TopicPartition, Tracker};
use crate::source::kafka::KafkaSource;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What `--available-now` waits for: every owned partition read to the end
/// offset it had when this consumer was first given it.
pub(super) struct Targets {
    ends: BTreeMap<TopicPartition, i64>,
    start: BTreeMap<TopicPartition, i64>,
    /// When this consumer started waiting.
    started: Instant,
    /// Since when it has owned no partition.
    unowned_since: Option<Instant>,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            ends: BTreeMap::new(),
            start: BTreeMap::new(),
            started: Instant::now(),
            unowned_since: None,
        }
    }
}

impl Targets {
    /// Whether the run is done: every owned partition acknowledged up to
    /// its target, or (after owning partitions) none owned for 30 s, as when
    /// the other members of the group hold them all. Owning none for 120 s
    /// from the start is an error that says why that may be.
    pub(super) fn drained(
        &mut self,
        source: &KafkaSource,
        tracker: &Tracker,
        starting_latest: bool,
    ) -> Result<bool> {
        let owned = tracker.assigned();
        if owned.is_empty() {
            // Between a revoke and the next assignment nothing is owned for a moment;
            // owning nothing for long means the others hold every partition.
            let idle = *self.unowned_since.get_or_insert_with(Instant::now);
            if !self.ends.is_empty() {
                return Ok(idle.elapsed() > Duration::from_secs(30));
            }
            if self.started.elapsed() > Duration::from_secs(120) {
                bail!(
                    "no partition was assigned to this consumer within 120 s; is another member of the group holding them all, or is a killed member's session (session.timeout.ms) still open?"
                );
            }
            return Ok(false);
        }
        self.unowned_since = None;
        self.cover(source, &owned, starting_latest)?;
        Ok(self.reached(&tracker.acked(), &owned))
    }

    /// Takes the end offsets (and the group's positions) of owned partitions
    /// not seen before: the first assignment, and any a rebalance adds.
    fn cover(
        &mut self,
        source: &KafkaSource,
        owned: &BTreeSet<TopicPartition>,
        starting_latest: bool,
    ) -> Result<()> {
        if owned.iter().all(|tp| self.ends.contains_key(tp)) {
            return Ok(());
        }
        let ends = source.end_offsets()?;
        let committed = source.committed()?;
        for (tp, end) in ends {
            if self.ends.contains_key(&tp) {
                continue;
            }
            let position = committed
                .iter()
                .find(|(c, _)| *c == tp)
                .and_then(|(_, o)| *o);
            // A new group starting at the end has nothing available now.
            if let Some(start) = position.or(starting_latest.then_some(end)) {
                self.start.insert(tp.clone(), start);
            }
            self.ends.insert(tp, end);
        }
        Ok(())
    }

    /// Whether every partition still owned is acknowledged up to its target.
    fn reached(
        &self,
        acked: &BTreeMap<TopicPartition, i64>,
        owned: &BTreeSet<TopicPartition>,
    ) -> bool {
        let mut owned_ends = self.ends.iter().filter(|(tp, _)| owned.contains(*tp));
        owned_ends.all(|(tp, end)| {
            let at = acked.get(tp).max(self.start.get(tp)).copied().unwrap_or(0);
            *end == 0 || at >= *end
        })
    }
}
