//! Checkpoints of a stateful plugin's state, in a Kafka changelog topic.
//!
//! After a batch of input partition `p` is processed and every one of its
//! outputs acknowledged, the worker writes one record to the changelog's
//! partition `p`: the plugin's snapshot as the value, and in headers the
//! input offset it reflects (the next one to read) and the event-time
//! clock. The batch's input offsets are committed only once that record is
//! acknowledged too. So the newest checkpoint of a partition is never
//! behind its committed offset, and everything below the checkpoint's
//! offset was delivered. A new owner of `p` (after a restart, a crash or a
//! rebalance) restores the newest checkpoint and skips the records below its
//! offset that it reads again: the state it goes on with is that of a
//! crash-free run over exactly those records. A crash costs at most a
//! repeat of outputs (at-least-once), never a double count in the state.
//!
//! One record per checkpoint keeps it atomic without transactions; written
//! inside a Kafka transaction with the outputs and the offsets
//! (`send_offsets_to_transaction`), the same record gives exactly-once.
//! The topic is compacted (key: input topic and partition), so Kafka keeps
//! the newest checkpoint of each partition.

use crate::kafka::producer::KafkaProducer;
use crate::kafka::{Quiet, TIMEOUT, client_config, unreachable};
use crate::offsets::{Ticket, TopicPartition};
use crate::plugin::{Clock, Memory};
use anyhow::{Context, Result, anyhow, bail};
use rdkafka::admin::{NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long restoring one partition's state may take.
const RESTORE_LIMIT: Duration = Duration::from_secs(60);

/// A plugin's state as of an input offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The next input offset: the state reflects every record below it.
    pub offset: i64,
    /// The plugin's snapshot and event-time clock.
    pub memory: Memory,
}

/// The changelog topic of one stateful plugin of a pipeline.
pub struct Checkpoints {
    producer: Arc<KafkaProducer>,
    /// The changelog topic.
    pub topic: String,
    brokers: String,
    properties: Vec<(String, String)>,
    partitions: i32,
}

const OFFSET: &str = "sluice.offset";
const MAX_EVENT: &str = "sluice.max-event-time";
const WATERMARK: &str = "sluice.watermark";
const GIVEN: &str = "sluice.watermark-given";

/// The changelog topic's name, as Kafka Streams names its own:
/// `<group>-<plugin>-changelog`.
pub fn changelog_topic(group: &str, plugin: &str) -> String {
    format!("{group}-{plugin}-changelog")
}

fn key(tp: &TopicPartition) -> String {
    format!("{}/{}", tp.topic, tp.partition)
}

impl Checkpoints {
    /// Opens (creating it if needed: compacted, one partition per input
    /// partition) the changelog topic `topic` for inputs with `partitions`
    /// partitions.
    pub fn open(
        producer: Arc<KafkaProducer>,
        brokers: &str,
        properties: &[(String, String)],
        topic: String,
        partitions: i32,
    ) -> Result<Checkpoints> {
        // Every topic's metadata, not this one's: a producer asking for one topic asks the
        // broker to create it, and Kafka (auto.create.topics.enable, its default) would, with
        // num.partitions (1) instead of one per input partition.
        let metadata = producer
            .client()
            .fetch_metadata(None, TIMEOUT)
            .map_err(|e| unreachable(brokers, e))?;
        let existing = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().len() as i32)
            .filter(|n| *n > 0);
        let partitions = match existing {
            Some(n) => n,
            None => {
                create(brokers, properties, &topic, partitions.max(1))?;
                partitions.max(1)
            }
        };
        Ok(Checkpoints {
            producer,
            topic,
            brokers: brokers.to_string(),
            properties: properties.to_vec(),
            partitions,
        })
    }

    fn partition_of(&self, tp: &TopicPartition) -> i32 {
        tp.partition.rem_euclid(self.partitions)
    }

    /// Queues the checkpoint of `tp`; `ticket` is held until it is acknowledged.
    pub fn write(&self, tp: &TopicPartition, at: &Checkpoint, ticket: &Arc<Ticket>) -> Result<()> {
        let clock = at.memory.clock;
        let text = |v: Option<i64>| v.map(|v| v.to_string());
        let (offset, max_event, watermark, given) = (
            at.offset.to_string(),
            text(clock.max_event),
            text(clock.watermark),
            text(clock.given),
        );
        let headers = [
            (OFFSET.as_bytes(), Some(offset.as_bytes())),
            (
                MAX_EVENT.as_bytes(),
                max_event.as_deref().map(str::as_bytes),
            ),
            (
                WATERMARK.as_bytes(),
                watermark.as_deref().map(str::as_bytes),
            ),
            (GIVEN.as_bytes(), given.as_deref().map(str::as_bytes)),
        ];
        let value = at.memory.snapshot.as_deref().unwrap_or_default();
        self.producer
            .send_to(
                (&self.topic, Some(self.partition_of(tp))),
                Some(key(tp).as_bytes()),
                Some(value),
                headers,
                None,
                ticket,
            )
            .with_context(|| format!("writing the state checkpoint of {tp} to {:?}", self.topic))
    }

    /// The newest checkpoint of `tp`, read from the changelog's beginning
    /// to its end (the end as fetch responses give it, never ListOffsets).
    pub fn restore(&self, tp: &TopicPartition) -> Result<Option<Checkpoint>> {
        let partition = self.partition_of(tp);
        let consumer: BaseConsumer<Quiet> = client_config(&self.brokers, &self.properties)
            .set("group.id", format!("{}-restore", self.topic))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", "10")
            // From offset 0, or the first one kept when compaction removed it:
            // asking for the beginning would cost a ListOffsets round first.
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .create_with_context(Quiet)
            .context("creating the state-restoring consumer")?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, partition, Offset::Offset(0))?;
        consumer.assign(&tpl)?;
        let wanted = key(tp);
        let started = Instant::now();
        let mut newest = None;
        loop {
            if started.elapsed() > RESTORE_LIMIT {
                bail!(
                    "restoring the state of {tp} from {:?} took more than {RESTORE_LIMIT:?}; is the broker up?",
                    self.topic
                );
            }
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = match message {
                Err(KafkaError::PartitionEOF(_)) => break,
                // A leader moving, a partition not yet known to every broker: librdkafka
                // tries again by itself, up to RESTORE_LIMIT.
                Err(e) => {
                    crate::kafka::warn_at_most_every_interval(&format!(
                        "restoring the state of {tp} from {:?}: {e}",
                        self.topic
                    ));
                    continue;
                }
                Ok(m) => m,
            };
            if message.key() != Some(wanted.as_bytes()) {
                continue;
            }
            newest = Some(decode(&message).with_context(|| {
                format!(
                    "the checkpoint at {:?}[{partition}]@{} is not one Sluice wrote",
                    self.topic,
                    message.offset()
                )
            })?);
        }
        Ok(newest)
    }
}

fn decode(message: &rdkafka::message::BorrowedMessage<'_>) -> Result<Checkpoint> {
    let header = |name: &str| -> Result<Option<i64>> {
        let Some(headers) = message.headers() else {
            return Ok(None);
        };
        match headers.iter().find(|h| h.key == name) {
            Some(h) => match h.value {
                Some(v) => Ok(Some(std::str::from_utf8(v)?.parse()?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    };
    let offset = header(OFFSET)?.ok_or_else(|| anyhow!("it has no {OFFSET} header"))?;
    Ok(Checkpoint {
        offset,
        memory: Memory {
            snapshot: Some(message.payload().unwrap_or_default().to_vec()),
            clock: Clock {
                max_event: header(MAX_EVENT)?,
                watermark: header(WATERMARK)?,
                given: header(GIVEN)?,
            },
        },
    })
}

/// Creates the compacted changelog topic.
fn create(
    brokers: &str,
    properties: &[(String, String)],
    topic: &str,
    partitions: i32,
) -> Result<()> {
    // Replicated as the cluster's default says, as its input and output topics are.
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))
        .set("cleanup.policy", "compact");
    crate::kafka::create_topics(brokers, properties, &[new], "state changelog topic")
}
