//! `--starting-offsets` (Spark's `startingOffsets`): parsing it, and
//! seeding a new group's committed offsets with it.

use crate::kafka::{TIMEOUT, unreachable};
use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Where a group with no committed offset starts (Spark's `startingOffsets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingOffsets {
    /// The first record of each partition.
    Earliest,
    /// Only records produced from now on.
    Latest,
    /// Per topic and partition: an offset, `-2` (earliest) or `-1` (latest).
    Specific(BTreeMap<String, BTreeMap<i32, i64>>),
}

const OFFSETS_EXAMPLE: &str = r#"earliest, latest, or JSON such as {"stock_json_topic_spark":{"0":-2,"1":42}} (-2 = earliest, -1 = latest)"#;

impl FromStr for StartingOffsets {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "earliest" => return Ok(StartingOffsets::Earliest),
            "latest" => return Ok(StartingOffsets::Latest),
            _ => {}
        }
        let json: BTreeMap<String, BTreeMap<String, i64>> = serde_json::from_str(text)
            .map_err(|e| format!("{text:?} is not valid: {e}; expected {OFFSETS_EXAMPLE}"))?;
        let mut specific = BTreeMap::new();
        for (topic, partitions) in json {
            let mut offsets = BTreeMap::new();
            for (partition, offset) in partitions {
                let p: i32 = partition
                    .parse()
                    .ok()
                    .filter(|p| *p >= 0)
                    .ok_or_else(|| {
                        format!("topic {topic:?}: partition {partition:?} is not a partition number; expected {OFFSETS_EXAMPLE}")
                    })?;
                if offset < -2 {
                    return Err(format!(
                        "topic {topic:?} partition {p}: offset {offset} is not an offset; expected {OFFSETS_EXAMPLE}"
                    ));
                }
                offsets.insert(p, offset);
            }
            specific.insert(topic, offsets);
        }
        if specific.is_empty() {
            return Err(format!(
                "{text:?} names no topic; expected {OFFSETS_EXAMPLE}"
            ));
        }
        Ok(StartingOffsets::Specific(specific))
    }
}

impl std::fmt::Display for StartingOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartingOffsets::Earliest => f.write_str("earliest"),
            StartingOffsets::Latest => f.write_str("latest"),
            StartingOffsets::Specific(spec) => {
                let json = serde_json::to_string(spec).map_err(|_| std::fmt::Error)?;
                f.write_str(&json)
            }
        }
    }
}

/// For a group that has no committed offset on a partition, commits the
/// `--starting-offsets` position there, so that the first assignment starts
/// at it and any later start resumes from the group's own commits.
pub(super) fn start_new_group_at<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    brokers: &str,
    topics: &[String],
    spec: &BTreeMap<String, BTreeMap<i32, i64>>,
) -> Result<()> {
    if let Some(extra) = spec.keys().find(|t| !topics.contains(t)) {
        bail!(
            "--starting-offsets names topic {extra:?}, which is not consumed (topics: {})",
            topics.join(", ")
        );
    }
    let metadata = consumer
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| unreachable(brokers, e))?;
    let mut wanted = TopicPartitionList::new();
    for t in metadata
        .topics()
        .iter()
        .filter(|t| topics.iter().any(|n| n == t.name()))
    {
        let Some(offsets) = spec.get(t.name()) else {
            bail!(
                "--starting-offsets gives no offsets for topic {:?}; Spark requires every partition of every topic, e.g. {{\"{}\":{{\"0\":-2}}}}",
                t.name(),
                t.name()
            );
        };
        for p in t.partitions() {
            let Some(offset) = offsets.get(&p.id()) else {
                bail!(
                    "--starting-offsets gives no offset for {}[{}]; Spark requires every partition: add \"{}\": -2 (earliest) or -1 (latest)",
                    t.name(),
                    p.id(),
                    p.id()
                );
            };
            wanted.add_partition_offset(t.name(), p.id(), Offset::from_raw(*offset))?;
        }
        if let Some(extra) = offsets.keys().find(|p| **p >= t.partitions().len() as i32) {
            bail!(
                "--starting-offsets names {}[{extra}], which does not exist ({} has {} partitions)",
                t.name(),
                t.name(),
                t.partitions().len()
            );
        }
    }
    let committed = consumer.committed_offsets(wanted.clone(), TIMEOUT)?;
    let mut start = TopicPartitionList::new();
    for e in wanted.elements() {
        let done = committed
            .find_partition(e.topic(), e.partition())
            .and_then(|c| c.offset().to_raw())
            .is_some_and(|o| o >= 0);
        if done {
            continue;
        }
        let (low, high) = consumer.fetch_watermarks(e.topic(), e.partition(), TIMEOUT)?;
        let offset = match e.offset().to_raw().unwrap_or(-2) {
            -2 => low,
            -1 => high,
            n => n,
        };
        start.add_partition_offset(e.topic(), e.partition(), Offset::Offset(offset))?;
    }
    if start.count() > 0 {
        consumer
            .commit(&start, CommitMode::Sync)
            .context("setting the group's starting offsets")?;
    }
    Ok(())
}
