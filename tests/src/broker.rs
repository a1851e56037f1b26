//! A handle on a Kafka for one test: the run's shared broker, or a cluster
//! of the test's own (to stop, kill and restart), with the few client
//! operations the tests need (create topics, produce, read, offsets).

use crate::kafka::Cluster;
use crate::within;
use rdkafka::Message;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A Kafka record as the tests produce and read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Partition: where to produce (`None`: the partitioner decides), where it was read.
    pub partition: Option<i32>,
    /// Offset it was read at.
    pub offset: i64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<i64>,
}

impl Record {
    /// A record with this key and value.
    pub fn new(key: &str, value: &[u8]) -> Record {
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.to_vec()),
            ..Default::default()
        }
    }

    /// The value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The key, as text.
    pub fn key_str(&self) -> String {
        String::from_utf8_lossy(self.key.as_deref().unwrap_or_default()).into_owned()
    }
}

/// The broker every test of this run shares (one Kafka node, started on first use).
static SHARED: OnceLock<Cluster> = OnceLock::new();

/// Whether `addr` is the run's shared broker (whose groups the tests must not share).
pub(crate) fn is_shared(addr: &str) -> bool {
    SHARED.get().is_some_and(|c| c.bootstrap == addr)
}

/// A Kafka for a test: `addr` is what `--brokers` takes. Tests that share the
/// run's broker give their topics and groups names no other test uses
/// ([`Broker::create_topic`] fails on a name taken before).
pub struct Broker {
    own: Option<Cluster>,
    /// `127.0.0.1:PORT[,…]`, for `--brokers`.
    pub addr: String,
}

impl Broker {
    /// The run's shared Kafka 4.4 broker (started by the first test that asks).
    pub fn start() -> Broker {
        let shared = SHARED.get_or_init(|| Cluster::start(1));
        Broker::attach(&shared.bootstrap)
    }

    /// A Kafka of this test's own with `nodes` nodes (1 to 3), for tests that
    /// stop, kill or restart brokers; stopped and removed when dropped.
    pub fn start_own(nodes: usize) -> Broker {
        let cluster = Cluster::start(nodes);
        Broker {
            addr: cluster.bootstrap.clone(),
            own: Some(cluster),
        }
    }

    /// A handle on a broker that another handle owns (not stopped when dropped).
    pub fn attach(addr: &str) -> Broker {
        Broker {
            own: None,
            addr: addr.to_string(),
        }
    }

    /// This test's own cluster, to kill and restart its nodes.
    pub fn cluster(&mut self) -> &mut Cluster {
        self.own
            .as_mut()
            .expect("only a Broker::start_own cluster can be stopped; the shared broker cannot")
    }

    /// Stops this test's own (single-node) broker with SIGKILL, as a crash would.
    pub fn stop(&mut self) {
        self.cluster().kill(0);
    }

    /// Starts this test's own broker again, same address and data.
    pub fn restart(&mut self) {
        self.cluster().restart(0);
    }

    fn admin(&self) -> (AdminClient<DefaultClientContext>, AdminOptions) {
        let admin = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .create()
            .expect("an admin client");
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        (admin, options)
    }

    /// Creates a topic with `partitions` partitions (replicated as the
    /// cluster's default says) and waits until each partition has a leader.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.create_topic_with(name, partitions, &[]);
    }

    /// [`Broker::create_topic`] with topic configs (`max.message.bytes`, …).
    pub fn create_topic_with(&self, name: &str, partitions: u32, config: &[(&str, &str)]) {
        let (admin, options) = self.admin();
        let mut topic = NewTopic::new(name, partitions as i32, TopicReplication::Fixed(-1));
        for (key, value) in config {
            topic = topic.set(key, value);
        }
        let results = block_on(admin.create_topics(&[topic], &options)).expect("creating a topic");
        for result in results {
            if let Err((topic, code)) = result {
                panic!(
                    "creating topic {topic:?}: {code}{}",
                    if code == RDKafkaErrorCode::TopicAlreadyExists {
                        " (the tests share one broker: give each test topic names of its own)"
                    } else {
                        ""
                    }
                );
            }
        }
        self.await_leaders(name, partitions as usize);
    }

    /// Waits until `topic` has `partitions` partitions, each with a leader.
    fn await_leaders(&self, topic: &str, partitions: usize) {
        let consumer = self.client();
        let led = || {
            consumer
                .fetch_metadata(Some(topic), Duration::from_secs(5))
                .is_ok_and(|m| {
                    m.topics().first().is_some_and(|t| {
                        t.error().is_none()
                            && t.partitions().len() == partitions
                            && t.partitions().iter().all(|p| p.leader() >= 0)
                    })
                })
        };
        assert!(
            within(Duration::from_secs(30), Duration::from_millis(50), led),
            "topic {topic:?} had no leader for each of its {partitions} partitions within 30 s"
        );
    }

    /// Deletes a topic, as an operator would with `kafka-topics --delete`.
    pub fn delete_topic(&self, name: &str) {
        let (admin, options) = self.admin();
        let results = block_on(admin.delete_topics(&[name], &options)).expect("deleting a topic");
        for result in results {
            if let Err((topic, code)) = result {
                panic!("deleting topic {topic:?}: {code}");
            }
        }
    }

    /// The broker id leading `topic`'s `partition` (from metadata).
    pub fn leader(&self, topic: &str, partition: i32) -> i32 {
        let m = self
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        m.topics()[0]
            .partitions()
            .iter()
            .find(|p| p.id() == partition)
            .map(|p| p.leader())
            .unwrap_or(-1)
    }

    /// Waits until every partition of each of `topics` has its full set of
    /// replicas in sync (after a broker came back, before the next is stopped).
    pub fn await_in_sync(&self, topics: &[&str], limit: Duration) {
        let consumer = self.client();
        let in_sync = || {
            topics.iter().all(|topic| {
                consumer
                    .fetch_metadata(Some(topic), Duration::from_secs(5))
                    .is_ok_and(|m| {
                        m.topics()[0]
                            .partitions()
                            .iter()
                            .all(|p| p.leader() >= 0 && p.isr().len() == p.replicas().len())
                    })
            })
        };
        assert!(
            within(limit, Duration::from_millis(100), in_sync),
            "the replicas of {topics:?} were not all in sync within {limit:?}"
        );
    }

    fn client(&self) -> BaseConsumer {
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .create()
            .expect("a client")
    }

    /// Produces `records` to `topic` and waits until all are acknowledged
    /// (idempotent, so each partition keeps the order given).
    pub fn produce(&self, topic: &str, records: &[Record]) {
        self.produce_with(topic, records, &[]);
    }

    /// [`Broker::produce`] for records up to 32 MiB (into a topic whose
    /// `max.message.bytes` allows them: Kafka's default is 1 MiB).
    pub fn produce_large(&self, topic: &str, records: &[Record]) {
        self.produce_with(topic, records, &[("message.max.bytes", "33554432")]);
    }

    fn produce_with(&self, topic: &str, records: &[Record], config: &[(&str, &str)]) {
        self.producer_with(config).send(topic, records);
    }

    /// An idempotent producer to send records with, again and again.
    pub fn producer(&self) -> TestProducer {
        self.producer_with(&[])
    }

    fn producer_with(&self, config: &[(&str, &str)]) -> TestProducer {
        let mut client = rdkafka::ClientConfig::new();
        client
            .set("bootstrap.servers", &self.addr)
            .set("linger.ms", "5")
            .set("enable.idempotence", "true");
        for (k, v) in config {
            client.set(*k, *v);
        }
        TestProducer(client.create().expect("a producer"))
    }

    /// A consumer (no group commits) assigned every partition of `topic` from
    /// the beginning, which says when it reaches a partition's end.
    pub fn reader(&self, topic: &str) -> BaseConsumer {
        self.reader_of(topic).0
    }

    fn reader_of(&self, topic: &str) -> (BaseConsumer, usize) {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("group.id", "sluice-test-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .expect("a consumer");
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let partitions = metadata.topics()[0].partitions();
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning)
                .expect("a partition");
        }
        consumer.assign(&tpl).expect("assigning");
        (consumer, partitions.len())
    }

    /// Every record of `topic` (all partitions, from the beginning): reads
    /// until every partition's end was reached, at least `expect` came, and
    /// then one second passed with no more; or until `limit`.
    pub fn read(&self, topic: &str, expect: usize, limit: Duration) -> Vec<Record> {
        self.read_until(topic, limit, |out, quiet| {
            out >= expect && quiet > Duration::from_secs(1)
        })
    }

    /// Every record of `topic` up to the end of each partition as the
    /// broker has it now: what has reached it so far.
    pub fn read_to_end(&self, topic: &str) -> Vec<Record> {
        self.read_until(topic, Duration::from_secs(120), |_, _| true)
    }

    /// Reads `topic` until each partition's end was reached and `done(records
    /// read, time since the last one)`, or until `limit`; sorted by position.
    fn read_until(
        &self,
        topic: &str,
        limit: Duration,
        done: impl Fn(usize, Duration) -> bool,
    ) -> Vec<Record> {
        let (consumer, partitions) = self.reader_of(topic);
        let mut at_end = std::collections::BTreeSet::new();
        let deadline = Instant::now() + limit;
        let mut quiet_since = Instant::now();
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    at_end.insert(p);
                }
                Some(m) => {
                    let m = m.expect("reading");
                    out.push(Record {
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers: m
                            .headers()
                            .map(|h| {
                                h.iter()
                                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        partition: Some(m.partition()),
                        offset: m.offset(),
                        timestamp: m.timestamp().to_millis(),
                    });
                    quiet_since = Instant::now();
                }
                None => {}
            }
            if at_end.len() == partitions && done(out.len(), quiet_since.elapsed()) {
                break;
            }
        }
        out.sort_by_key(|r| (r.partition, r.offset));
        out
    }

    /// The distinct keys of what [`Broker::read`] reads: whether every record
    /// reached a topic, whatever was repeated.
    pub fn read_keys(
        &self,
        topic: &str,
        expect: usize,
        limit: Duration,
    ) -> std::collections::BTreeSet<String> {
        self.read(topic, expect, limit)
            .iter()
            .map(Record::key_str)
            .collect()
    }

    /// Sets the dynamic config of topic `name` to `config` (Kafka's
    /// AlterConfigs: what is not named returns to the default).
    pub fn alter_topic(&self, name: &str, config: &[(&str, &str)]) {
        let (admin, options) = self.admin();
        let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
        for (k, v) in config {
            alter = alter.set(k, v);
        }
        let results = block_on(admin.alter_configs(&[alter], &options)).expect("altering");
        for r in results {
            r.unwrap_or_else(|(_, e)| panic!("altering topic {name:?}: {e}"));
        }
    }

    /// How many partitions `topic` has.
    pub fn partitions(&self, topic: &str) -> i32 {
        let metadata = retrying("metadata", topic, || {
            self.client()
                .fetch_metadata(Some(topic), Duration::from_secs(10))
        });
        metadata.topics()[0].partitions().len() as i32
    }

    /// The end offsets of `topic`'s partitions, added up (how many records it
    /// holds, as every partition starts at offset 0).
    pub fn end_total(&self, topic: &str) -> i64 {
        let partitions = self.partitions(topic);
        retrying("end offsets", topic, || {
            let client = self.client();
            (0..partitions)
                .map(|p| {
                    let watermarks = client.fetch_watermarks(topic, p, Duration::from_secs(10));
                    watermarks.map(|(_, high)| high)
                })
                .sum::<Result<i64, KafkaError>>()
        })
    }

    /// The committed offsets of `group` on `topic`'s partitions, added up
    /// (the records consumed when every partition starts at offset 0).
    pub fn committed_total(&self, group: &str, topic: &str, partitions: i32) -> i64 {
        retrying("committed offsets", topic, || {
            self.try_committed(group, topic, partitions)
        })
        .iter()
        .map(|c| c.unwrap_or(0))
        .sum()
    }

    /// (committed offset of `group`, end offset) for each partition of `topic`.
    pub fn offsets(&self, group: &str, topic: &str, partitions: i32) -> Vec<(Option<i64>, i64)> {
        retrying("offsets", topic, || {
            self.try_offsets(group, topic, partitions)
        })
    }

    /// [`Broker::offsets`], asked once: an error while a partition has no
    /// leader (a broker being killed or restarted).
    pub fn try_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: i32,
    ) -> Result<Vec<(Option<i64>, i64)>, KafkaError> {
        let committed = self.try_committed(group, topic, partitions)?;
        let consumer = self.client();
        (0..partitions)
            .zip(committed)
            .map(|(p, c)| {
                let (_, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
                Ok((c, high))
            })
            .collect()
    }

    fn try_committed(
        &self,
        group: &str,
        topic: &str,
        partitions: i32,
    ) -> Result<Vec<Option<i64>>, KafkaError> {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("group.id", group)
            .create()
            .expect("a consumer");
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10))?;
        Ok((0..partitions)
            .map(|p| {
                committed
                    .find_partition(topic, p)
                    .and_then(|e| e.offset().to_raw())
                    .filter(|o| *o >= 0)
            })
            .collect())
    }
}

/// A producer of the tests' records (idempotent: each partition keeps the order given).
pub struct TestProducer(BaseProducer);

impl TestProducer {
    /// Sends `records` to `topic` and waits until all are acknowledged.
    pub fn send(&self, topic: &str, records: &[Record]) {
        let producer = &self.0;
        for r in records {
            let mut headers = OwnedHeaders::new();
            for (key, value) in &r.headers {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            let mut record = BaseRecord::<[u8], [u8]>::to(topic).headers(headers);
            if let Some(key) = &r.key {
                record = record.key(key);
            }
            if let Some(value) = &r.value {
                record = record.payload(value);
            }
            if let Some(p) = r.partition {
                record = record.partition(p);
            }
            if let Some(ts) = r.timestamp {
                record = record.timestamp(ts);
            }
            // A full queue waits for deliveries, as a producing application would.
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        producer.poll(Duration::from_millis(10));
                    }
                    Err((e, _)) => panic!("producing to {topic:?}: {e}"),
                }
            }
            producer.poll(Duration::ZERO);
        }
        producer
            .flush(Duration::from_secs(120))
            .expect("records acknowledged");
    }
}

/// `ask` until it answers, for up to two minutes: a broker being killed or
/// restarted (the cluster tests) answers nothing for a while.
fn retrying<T>(what: &str, topic: &str, ask: impl Fn() -> Result<T, KafkaError>) -> T {
    let (mut answer, mut error) = (None, None);
    let answered = within(Duration::from_secs(120), Duration::from_millis(100), || {
        match ask() {
            Ok(a) => answer = Some(a),
            Err(e) => error = Some(e),
        }
        answer.is_some()
    });
    assert!(answered, "{what} of {topic:?}: {}", error.unwrap());
    answer.unwrap()
}

/// `n` stock ticks as the tutorial's producer writes them, keyed `{prefix}{i}`,
/// priced `price(i)` (JSON number text).
pub fn priced_ticks(prefix: &str, n: usize, price: impl Fn(usize) -> String) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let value = format!(
                r#"{{"event_time":"2026-11-29T06:00:00","ticker":"T","price":{}}}"#,
                price(i)
            );
            Record::new(&format!("{prefix}{i}"), value.as_bytes())
        })
        .collect()
}

/// Runs a future of the admin API to its end (rdkafka's own thread drives it).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}
