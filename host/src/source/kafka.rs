//! The Kafka source: a consumer in a consumer group, read in batches of at
//! most N records or T milliseconds, with offsets committed only after the
//! batch's outputs are delivered (the caller says when).

use crate::plugin::batch::{BatchBuilder, InputRecord};
use crate::plugin::bindings::Batch;
use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What the source needs to know.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Topics to subscribe to.
    pub topics: Vec<String>,
    /// Consumer group id.
    pub group: String,
    /// Where a group with no committed offset starts: `earliest` or `latest`.
    pub starting_offsets: String,
    /// Most records in one batch.
    pub max_records: usize,
    /// Longest wait to fill a batch.
    pub linger: Duration,
    /// Extra librdkafka properties (`-X key=value`).
    pub properties: Vec<(String, String)>,
}

/// A batch and where each of its records came from.
pub struct SourceBatch {
    /// The packed records.
    pub batch: Batch,
    /// (topic, partition, offset) of each record, in batch order.
    pub positions: Vec<(String, i32, i64)>,
}

/// Keeps librdkafka's own logging out of the user's terminal: connection
/// failures are reported by the host, once, with the fix.
pub struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(target: "librdkafka", ?level, fac, "{message}");
    }
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(target: "librdkafka", %error, "{reason}");
    }
}

impl ConsumerContext for Quiet {}

/// The error for brokers that do not answer, with the usual fix.
pub fn unreachable(brokers: &str, err: KafkaError) -> anyhow::Error {
    anyhow!(
        "cannot reach broker {brokers:?} ({err}); start one, or point --brokers at it (inside docker-compose use \"redpanda:9092\", from the host \"localhost:19092\")"
    )
}

/// A consumer-group source.
pub struct KafkaSource {
    consumer: BaseConsumer<Quiet>,
    config: SourceConfig,
}

impl KafkaSource {
    /// Creates the consumer and subscribes; fails with the fix when the
    /// brokers cannot be reached or a topic does not exist.
    pub fn connect(config: SourceConfig) -> Result<KafkaSource> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("group.id", &config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &config.starting_offsets)
            .set("enable.partition.eof", "false");
        for (k, v) in &config.properties {
            client.set(k, v);
        }
        let consumer: BaseConsumer<Quiet> = client
            .create_with_context(Quiet)
            .context("creating the Kafka consumer")?;
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| unreachable(&config.brokers, e))?;
        for topic in &config.topics {
            let found = metadata
                .topics()
                .iter()
                .any(|t| t.name() == topic && t.error().is_none());
            if !found {
                bail!(
                    "topic {topic:?} does not exist on {:?}; create it first",
                    config.brokers
                );
            }
        }
        let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .with_context(|| format!("subscribing to {topics:?}"))?;
        Ok(KafkaSource { consumer, config })
    }

    /// The partitions assigned to this consumer now.
    pub fn assignment(&self) -> Result<Vec<(String, i32)>> {
        let tpl = self.consumer.assignment()?;
        Ok(tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect())
    }

    /// The high watermark (end offset) of each partition of the subscribed topics.
    pub fn end_offsets(&self) -> Result<BTreeMap<(String, i32), i64>> {
        let mut ends = BTreeMap::new();
        for topic in &self.config.topics {
            let metadata = self
                .consumer
                .fetch_metadata(Some(topic), Duration::from_secs(10))?;
            for t in metadata.topics() {
                for p in t.partitions() {
                    let (_, high) =
                        self.consumer
                            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
                    ends.insert((topic.clone(), p.id()), high);
                }
            }
        }
        Ok(ends)
    }

    /// Waits up to the linger time for records; returns what came (possibly none).
    pub fn next_batch(&mut self) -> Result<SourceBatch> {
        let deadline = Instant::now() + self.config.linger;
        let mut builder = BatchBuilder::with_capacity(self.config.max_records.min(4096), 0);
        let mut positions = Vec::new();
        while positions.len() < self.config.max_records {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(message) = self.consumer.poll(left) else {
                break;
            };
            let message = message.context("reading from Kafka")?;
            let headers: Vec<(&[u8], Option<&[u8]>)> = message
                .headers()
                .map(|h| h.iter().map(|h| (h.key.as_bytes(), h.value)).collect())
                .unwrap_or_default();
            builder.push(&InputRecord {
                key: message.key(),
                value: message.payload(),
                headers,
                timestamp: message.timestamp().to_millis(),
                partition: message.partition(),
                offset: message.offset(),
            });
            positions.push((
                message.topic().to_string(),
                message.partition(),
                message.offset(),
            ));
            if Instant::now() >= deadline {
                break;
            }
        }
        Ok(SourceBatch {
            batch: builder.finish(),
            positions,
        })
    }

    /// Commits, per partition, the offset after the last record of `positions`.
    pub fn commit(&self, positions: &[(String, i32, i64)]) -> Result<()> {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for (topic, partition, offset) in positions {
            let entry = next.entry((topic.as_str(), *partition)).or_insert(0);
            *entry = (*entry).max(offset + 1);
        }
        if next.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .context("committing offsets")?;
        Ok(())
    }

    /// The committed offsets of the group for its assigned partitions.
    pub fn committed(&self) -> Result<Vec<(String, i32, Option<i64>)>> {
        let tpl = self.consumer.committed(Duration::from_secs(10))?;
        Ok(tpl
            .elements()
            .iter()
            .map(|e| {
                (
                    e.topic().to_string(),
                    e.partition(),
                    e.offset().to_raw().filter(|o| *o >= 0),
                )
            })
            .collect())
    }
}
