//! The Kafka source: a consumer in a consumer group, read in batches of at
//! most N records or T milliseconds, spread over lanes (one per worker) by
//! partition. This is where records are read ([`KafkaSource::next_batch`])
//! and where offsets are committed ([`KafkaSource::commit`]): from the
//! [`Tracker`], only what every output was acknowledged for, and again
//! before partitions are revoked.

pub use super::starting_offsets::StartingOffsets;
use super::starting_offsets::start_new_group_at;
use crate::data::Batch;
use crate::data::batch::{BatchBuilder, InputRecord};
use crate::kafka::{Quiet, TIMEOUT, client_config, ensure_topics, unreachable};
use crate::offsets::{Position, TopicPartition, Tracker};
use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a revoke waits for in-flight batches before giving the partitions up.
const REVOKE_DRAIN: Duration = Duration::from_secs(30);

/// What to consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// These topics.
    Topics(Vec<String>),
    /// Every topic whose whole name matches this regular expression (Spark's `subscribePattern`).
    Pattern(String),
}

/// What the source needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// What to consume.
    pub subscription: Subscription,
    /// Consumer group id.
    pub group: String,
    /// Where a group with no committed offset starts.
    pub starting_offsets: StartingOffsets,
    /// Most records in one read (over all lanes).
    pub max_records: usize,
    /// After a batch's first record, how long to wait for more (zero: take only what
    /// has already arrived, so a record is never held back waiting for others).
    pub linger: Duration,
    /// Create missing topics instead of failing.
    pub create_topics: bool,
    /// Extra librdkafka properties (`-X key=value`).
    pub properties: Vec<(String, String)>,
    /// Static group membership (`group.instance.id`): a restarted member
    /// with the same id gets its partitions back at once, without a rebalance.
    pub instance_id: Option<String>,
    /// Ask librdkafka for statistics every second (the partitions' high
    /// watermarks, for lag; see [`KafkaSource::latest`]).
    pub statistics: bool,
}

/// A batch and where each of its records came from.
pub struct SourceBatch {
    /// The packed records.
    pub batch: Batch,
    /// Where each record was read, in batch order.
    pub positions: Vec<Position>,
    /// Records that cannot be read as they are (row, why): rejected records,
    /// never given to the plugins. Their key and value are in `batch`.
    pub unreadable: Vec<(usize, String)>,
}

/// Why a record whose headers rdkafka cannot read is rejected.
const UNREADABLE_HEADERS: &str = "a header name of this record is not UTF-8 (Kafka header names are strings), so its headers cannot be read; the record is rejected with its key and value, without its headers";

thread_local! {
    /// Set while a panic is expected and caught (see [`quietly`]).
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into `None`, without the panic's
/// message on stderr. rdkafka 0.39 panics (an `unwrap`) on a header name
/// that is not UTF-8, and offers no other way to read header names.
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(std::cell::Cell::get) {
                default(info);
            }
        }));
    });
    CATCHING.with(|c| c.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    result.ok()
}

/// A record's headers: (name, value) pairs.
type HeaderList<'m> = Vec<(&'m [u8], Option<&'m [u8]>)>;

/// A message's headers, or `None` when they cannot be read.
fn headers<'m>(message: &'m BorrowedMessage<'_>) -> Option<HeaderList<'m>> {
    let Some(headers) = message.headers() else {
        return Some(Vec::new());
    };
    quietly(|| {
        headers
            .iter()
            .map(|h| (h.key.as_bytes(), h.value))
            .collect()
    })
}

/// The consumer's context: commits what is acknowledged before partitions
/// are revoked, tells the tracker what this consumer owns, and keeps the
/// partitions' high watermarks from librdkafka's statistics.
pub struct SourceContext {
    tracker: Arc<Tracker>,
    latest: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    /// Where an assigned partition the group has no offset for starts
    /// (`auto.offset.reset` as a logical offset; `None`: left to librdkafka).
    start_uncommitted: Option<Offset>,
}

impl SourceContext {
    /// Gives each newly assigned partition that the group has no committed
    /// offset for its logical start (the beginning or the end) before it is
    /// assigned. librdkafka would find out by itself, but its offset reset
    /// for "no committed offset" waits 100 ms before asking the broker
    /// (`rd_kafka_offset_reset` backs off on `__NO_OFFSET`): half of a new
    /// group's time to its first record. Partitions with a committed offset
    /// are left to librdkafka; if the group's offsets cannot be read now,
    /// all are.
    fn start_uncommitted_partitions(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &TopicPartitionList,
    ) {
        let Some(start) = self.start_uncommitted else {
            return;
        };
        let Ok(committed) = consumer.committed_offsets(tpl.clone(), COMMITTED_TIMEOUT) else {
            return;
        };
        // `elements` hands out writable entries of the list librdkafka is about to assign.
        for mut entry in tpl.elements() {
            let has_offset = committed
                .find_partition(entry.topic(), entry.partition())
                .and_then(|c| c.offset().to_raw())
                .is_some_and(|o| o >= 0);
            if entry.offset() == Offset::Invalid && !has_offset {
                let _ = entry.set_offset(start);
            }
        }
    }
}

/// How long a rebalance waits for the group's committed offsets (see
/// [`SourceContext::start_uncommitted_partitions`]).
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(2);

/// `auto.offset.reset` as the logical offset it starts from (`None` for
/// `error` or a value librdkafka would refuse anyway).
fn logical_start(reset: &str) -> Option<Offset> {
    match reset {
        "earliest" | "smallest" | "beginning" => Some(Offset::Beginning),
        "latest" | "largest" | "end" => Some(Offset::End),
        _ => None,
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition {
            topic: Arc::from(e.topic()),
            partition: e.partition(),
        })
        .collect()
}

fn names(tps: &[TopicPartition]) -> String {
    let list: Vec<String> = tps.iter().map(ToString::to_string).collect();
    list.join(", ")
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        Quiet.log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        Quiet.error(error, reason);
    }

    /// The high watermark of every partition being fetched, as the last
    /// fetch response gave it (not a ListOffsets request, whose end offsets
    /// some brokers get wrong).
    fn stats(&self, statistics: Statistics) {
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        for (name, topic) in &statistics.topics {
            for (id, p) in &topic.partitions {
                if *id >= 0 && p.hi_offset >= 0 {
                    let tp = TopicPartition {
                        topic: Arc::from(name.as_str()),
                        partition: *id,
                    };
                    latest.insert(tp, p.hi_offset);
                }
            }
        }
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            self.start_uncommitted_partitions(consumer, tpl);
        }
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked = partitions(tpl);
            if !self.tracker.wait_idle(REVOKE_DRAIN) {
                tracing::warn!(
                    "partitions {} revoked with batches still in flight after {REVOKE_DRAIN:?}; they will be read again by the new owner",
                    names(&revoked)
                );
            }
            if let Err(e) = commit(consumer, &self.tracker, CommitMode::Sync) {
                tracing::warn!("committing before the revoke: {e:#}");
            }
            self.tracker.revoke(revoked.iter().cloned());
            tracing::info!("revoked partitions: {}", names(&revoked));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let assigned = partitions(tpl);
                tracing::info!("assigned partitions: {}", names(&assigned));
                self.tracker.assign(assigned);
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!("rebalance failed: {e}"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(
                "committing offsets of {} failed: {e}; they are committed again with the next batch",
                names(&partitions(offsets))
            );
        }
    }
}

/// Commits what the tracker says is acknowledged; returns it.
fn commit(
    consumer: &BaseConsumer<SourceContext>,
    tracker: &Tracker,
    mode: CommitMode,
) -> Result<Vec<(TopicPartition, i64)>> {
    let commits = tracker.take_commits();
    if commits.is_empty() {
        return Ok(commits);
    }
    let mut tpl = TopicPartitionList::new();
    for (tp, offset) in &commits {
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))?;
    }
    consumer
        .commit(&tpl, mode)
        .with_context(|| format!("committing offsets of {}", names(&partitions(&tpl))))?;
    Ok(commits)
}

/// The consumer's config: defaults, the user's `-X` properties on top, and
/// last what at-least-once depends on (offsets are committed by the host only).
fn consumer_config(config: &SourceConfig, reset: &str) -> rdkafka::ClientConfig {
    let mut client = client_config(&config.brokers, &[]);
    client
        .set("auto.offset.reset", reset)
        .set("enable.partition.eof", "false")
        // Read ahead at most 16 MiB of records per partition (librdkafka's default is
        // 64 MiB) or queued.min.messages (100,000), whichever comes first, so a slow sink
        // keeps memory bounded. Each record queued also costs ~170 bytes of librdkafka's
        // bookkeeping, which the 16 MiB do not count. -X changes either.
        .set("queued.max.messages.kbytes", "16384")
        // Kafka and Redpanda answer a fetch as soon as records arrive, so this only sets
        // how often an idle consumer asks again (10/s instead of librdkafka's 2/s); a
        // broker that held a fetch for the whole wait would delay every record by it.
        // -X fetch.wait.max.ms=… changes it.
        .set("fetch.wait.max.ms", "100");
    if config.statistics {
        client.set("statistics.interval.ms", "1000");
    }
    for (k, v) in &config.properties {
        client.set(k, v);
    }
    client
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    if let Some(id) = &config.instance_id {
        client.set("group.instance.id", id);
    }
    client
}

/// How long [`KafkaSource::next_batch`] waits for a first record before it
/// returns nothing (so the caller sees a stop signal or the end of the input).
pub const IDLE_WAIT: Duration = Duration::from_millis(100);

/// How often the source asks the brokers whether the topics it was given by
/// name still exist (a topic deleted while it is read stops the host, as
/// Spark's `failOnDataLoss` stops a query; librdkafka alone may not notice
/// for minutes).
const TOPIC_CHECK: Duration = Duration::from_secs(5);

/// How long that question may hold up reading; with no answer it is asked
/// again later (an unreachable broker is reported elsewhere).
const TOPIC_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A consumer-group source.
pub struct KafkaSource {
    consumer: BaseConsumer<SourceContext>,
    config: SourceConfig,
    tracker: Arc<Tracker>,
    topics: Vec<Arc<str>>,
    /// The topics consumed (a pattern's matches at the start).
    consumed: Vec<String>,
    /// When the named topics were last found to exist.
    checked: Instant,
}

impl KafkaSource {
    /// Creates the consumer, applies `--starting-offsets` for a new group and
    /// subscribes; fails with the fix when the brokers cannot be reached or
    /// a topic does not exist.
    pub fn connect(config: SourceConfig, tracker: Arc<Tracker>) -> Result<KafkaSource> {
        let reset = match config.starting_offsets {
            StartingOffsets::Latest => "latest",
            _ => "earliest",
        };
        let effective_reset = config
            .properties
            .iter()
            .rfind(|(k, _)| k == "auto.offset.reset")
            .map_or(reset, |(_, v)| v.as_str());
        let consumer: BaseConsumer<SourceContext> = consumer_config(&config, reset)
            .create_with_context(SourceContext {
                tracker: tracker.clone(),
                latest: Arc::default(),
                start_uncommitted: logical_start(effective_reset),
            })
            .context("creating the Kafka consumer")?;
        let topics: Vec<String> = match &config.subscription {
            Subscription::Topics(topics) => {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                ensure_topics(
                    consumer.client(),
                    &config.brokers,
                    &config.properties,
                    &names,
                    config.create_topics,
                )?;
                topics.clone()
            }
            Subscription::Pattern(pattern) => {
                let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| anyhow!("--topic-pattern {pattern:?}: {e}"))?;
                let metadata = consumer
                    .fetch_metadata(None, TIMEOUT)
                    .map_err(|e| unreachable(&config.brokers, e))?;
                let all: Vec<String> = metadata
                    .topics()
                    .iter()
                    .map(|t| t.name().to_string())
                    .collect();
                let matching: Vec<String> =
                    all.iter().filter(|t| regex.is_match(t)).cloned().collect();
                if matching.is_empty() {
                    bail!(
                        "--topic-pattern {pattern:?} matches no topic on {:?} (topics: {})",
                        config.brokers,
                        all.join(", ")
                    );
                }
                matching
            }
        };
        if let StartingOffsets::Specific(spec) = &config.starting_offsets {
            start_new_group_at(&consumer, &config.brokers, &topics, spec)?;
        }
        let subscribe: Vec<String> = match &config.subscription {
            Subscription::Topics(t) => t.clone(),
            // librdkafka's own regex syntax: groups, but no `(?:`.
            Subscription::Pattern(p) => vec![format!("^({p})$")],
        };
        let refs: Vec<&str> = subscribe.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .with_context(|| format!("subscribing to {refs:?}"))?;
        Ok(KafkaSource {
            consumer,
            config,
            tracker,
            topics: Vec::new(),
            consumed: topics,
            checked: Instant::now(),
        })
    }

    /// Fails, naming the topic and the fix, when a topic given by name
    /// (`--topic`) no longer exists. Topics matched by a pattern may come and
    /// go. Asked every [`TOPIC_CHECK`]; a question the brokers do not answer
    /// is asked again later.
    fn check_topics_exist(&mut self) -> Result<()> {
        let Subscription::Topics(named) = &self.config.subscription else {
            return Ok(());
        };
        if self.checked.elapsed() < TOPIC_CHECK {
            return Ok(());
        }
        self.checked = Instant::now();
        for topic in named {
            let Ok(metadata) = self
                .consumer
                .fetch_metadata(Some(topic), TOPIC_CHECK_TIMEOUT)
            else {
                return Ok(());
            };
            // Absent from the answer, or "unknown": gone. Other errors may pass.
            let gone = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic)
                .is_none_or(|t| {
                    t.error().map(RDKafkaErrorCode::from)
                        == Some(RDKafkaErrorCode::UnknownTopicOrPartition)
                });
            if gone {
                bail!(
                    "topic {topic:?} was deleted from {:?} while it was being read; the host stopped after the records it had read (those it had not were deleted with the topic). Recreate the topic, or leave it out of --topic",
                    self.config.brokers
                );
            }
        }
        Ok(())
    }

    /// Every partition of the consumed topics (as they were at the start).
    pub fn partitions(&self) -> Result<Vec<TopicPartition>> {
        let metadata = self
            .consumer
            .fetch_metadata(None, TIMEOUT)
            .map_err(|e| unreachable(&self.config.brokers, e))?;
        let mut all = Vec::new();
        for t in metadata.topics() {
            if self.consumed.iter().any(|c| c == t.name()) {
                let topic: Arc<str> = Arc::from(t.name());
                all.extend(t.partitions().iter().map(|p| TopicPartition {
                    topic: topic.clone(),
                    partition: p.id(),
                }));
            }
        }
        Ok(all)
    }

    /// The end offset of each of `partitions` now: ListOffsets' answer for the
    /// consumer's isolation level (librdkafka's default, read_committed, gives
    /// the last stable offset, so an open transaction is not waited for).
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let mut ends = BTreeMap::new();
        for tp in partitions {
            let (_, high) = self
                .consumer
                .fetch_watermarks(&tp.topic, tp.partition, TIMEOUT)
                .map_err(|e| unreachable(&self.config.brokers, e))?;
            ends.insert(tp.clone(), high);
        }
        Ok(ends)
    }

    /// The group's committed offsets of `partitions`, whichever member
    /// committed them (`None`: no commit yet).
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let committed = self.consumer.committed_offsets(tpl, TIMEOUT)?;
        Ok(partitions
            .iter()
            .map(|tp| {
                let offset = committed
                    .find_partition(&tp.topic, tp.partition)
                    .and_then(|e| e.offset().to_raw())
                    .filter(|o| *o >= 0);
                (tp.clone(), offset)
            })
            .collect())
    }

    /// Waits up to [`IDLE_WAIT`] for a first record, then takes what has
    /// arrived (and, with a linger, what arrives within it) up to the batch
    /// size, and returns it in `lanes` batches: all records of one partition
    /// go to the same lane, in order. Empty batches when nothing came.
    pub fn next_batch(&mut self, lanes: usize) -> Result<Vec<SourceBatch>> {
        self.check_topics_exist()?;
        let mut deadline: Option<Instant> = None;
        let mut builders: Vec<(BatchBuilder, SourceBatch)> = (0..lanes)
            .map(|_| {
                let lane = SourceBatch {
                    batch: crate::data::batch::empty_batch(),
                    positions: Vec::new(),
                    unreadable: Vec::new(),
                };
                (BatchBuilder::with_capacity(64, 0), lane)
            })
            .collect();
        let mut count = 0;
        while count < self.config.max_records {
            let wait = deadline.map_or(IDLE_WAIT, |d| d.saturating_duration_since(Instant::now()));
            let Some(message) = self.consumer.poll(wait) else {
                break;
            };
            let message = match message {
                Ok(m) => m,
                Err(e @ KafkaError::MessageConsumptionFatal(_)) => {
                    return Err(e).context("reading from Kafka");
                }
                // Transient (brokers down, a partition's leader moving, …): librdkafka
                // retries by itself; the records are fetched again from where it stood.
                Err(e) => {
                    crate::kafka::warn_at_most_every_interval(&format!("reading from Kafka: {e}"));
                    continue;
                }
            };
            let topic = intern(&mut self.topics, message.topic());
            let lane = lane(&topic, message.partition(), lanes);
            let read = headers(&message);
            let (builder, out) = &mut builders[lane];
            if read.is_none() {
                let row = out.positions.len();
                out.unreadable.push((row, UNREADABLE_HEADERS.to_string()));
            }
            let headers = read.unwrap_or_default();
            builder.push(&InputRecord {
                key: message.key(),
                value: message.payload(),
                headers,
                timestamp: message.timestamp().to_millis(),
                partition: message.partition(),
                offset: message.offset(),
            });
            out.positions.push(Position {
                topic,
                partition: message.partition(),
                offset: message.offset(),
            });
            count += 1;
            deadline.get_or_insert_with(|| Instant::now() + self.config.linger);
        }
        Ok(builders
            .into_iter()
            .map(|(builder, lane)| SourceBatch {
                batch: builder.finish(),
                ..lane
            })
            .collect())
    }

    /// Commits what has been acknowledged since the last commit; returns
    /// what was committed (partition, next offset to read).
    pub fn commit(&self, mode: CommitMode) -> Result<Vec<(TopicPartition, i64)>> {
        commit(&self.consumer, &self.tracker, mode)
    }

    /// The high watermark of each partition fetched so far, from the last
    /// statistics (empty unless [`SourceConfig::statistics`]).
    pub fn latest(&self) -> BTreeMap<TopicPartition, i64> {
        let latest = self.consumer.context().latest.lock();
        latest.unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Leaves the group: the revoke commits what is acknowledged.
    pub fn close(self) -> Result<()> {
        self.commit(CommitMode::Sync)?;
        self.consumer.unsubscribe();
        // Serve the revoke callback the unsubscribe triggers.
        let _ = self.consumer.poll(Duration::from_millis(100));
        Ok(())
    }
}

/// The shared name of `topic` (one allocation per topic, not per record).
fn intern(topics: &mut Vec<Arc<str>>, name: &str) -> Arc<str> {
    if let Some(t) = topics.iter().find(|t| &***t == name) {
        return t.clone();
    }
    let t: Arc<str> = Arc::from(name);
    topics.push(t.clone());
    t
}

/// Which lane (worker) reads a partition.
pub fn lane(topic: &str, partition: i32, lanes: usize) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (topic, partition).hash(&mut hasher);
    (hasher.finish() % lanes.max(1) as u64) as usize
}
