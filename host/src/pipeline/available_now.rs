//! `--available-now`: which end offsets the run must reach before it ends,
//! taken for every partition when this consumer is first given it.

use crate::offsets::TopicPartition;
use crate::source::kafka::KafkaSource;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// What `--available-now` waits for: every owned partition read to the end
/// offset it had when this consumer was first given it.
#[derive(Default)]
pub(super) struct Targets {
    pub(super) ends: BTreeMap<TopicPartition, i64>,
    start: BTreeMap<TopicPartition, i64>,
}

impl Targets {
    /// Takes the end offsets (and the group's positions) of owned partitions
    /// not seen before: the first assignment, and any a rebalance adds.
    pub(super) fn cover(
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
    pub(super) fn reached(
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
