//! What every Kafka client of the host shares: the client config, quiet
//! logging, the broker-unreachable error, and checking (or creating) topics.

pub mod producer;

use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::Client;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a metadata or admin request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps librdkafka's own logging out of the user's terminal: connection
/// failures at start are reported by the host, once, with the fix; once a
/// pipeline runs ([`warn_of_outages`]), a broker outage is a warning at most
/// every [`OUTAGE_WARNING_INTERVAL`] while librdkafka reconnects by itself.
pub struct Quiet;

/// The least time between two warnings of a broker outage.
pub const OUTAGE_WARNING_INTERVAL: Duration = Duration::from_secs(30);

static WARN_OF_OUTAGES: AtomicBool = AtomicBool::new(false);
static LAST_OUTAGE_WARNING: Mutex<Option<Instant>> = Mutex::new(None);

/// From now on, broker outages are logged as warnings (rate-limited).
pub fn warn_of_outages() {
    WARN_OF_OUTAGES.store(true, Ordering::Relaxed);
}

impl ClientContext for Quiet {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(target: "librdkafka", ?level, fac, "{message}");
    }
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(target: "librdkafka", %error, "{reason}");
        let outage = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown)
        );
        if outage && WARN_OF_OUTAGES.load(Ordering::Relaxed) {
            warn_at_most_every_interval(&format!(
                "cannot reach the Kafka brokers ({reason}); reconnecting, nothing is committed meanwhile"
            ));
        }
    }
}

/// Logs a warning about Kafka unless one was logged in the last
/// [`OUTAGE_WARNING_INTERVAL`] (an outage repeats its errors many times a second).
pub fn warn_at_most_every_interval(message: &str) {
    let mut last = LAST_OUTAGE_WARNING
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if last.is_none_or(|t| t.elapsed() >= OUTAGE_WARNING_INTERVAL) {
        *last = Some(Instant::now());
        tracing::warn!(
            "{message} (said at most every {}s)",
            OUTAGE_WARNING_INTERVAL.as_secs()
        );
    }
}

impl rdkafka::consumer::ConsumerContext for Quiet {}

/// The error for brokers that do not answer, with the usual fix.
pub fn unreachable(brokers: &str, err: KafkaError) -> anyhow::Error {
    anyhow!(
        "cannot reach broker {brokers:?} ({err}); start one, or point --brokers at it (inside docker-compose use \"redpanda:9092\", from the host \"localhost:19092\")"
    )
}

/// A client config for `brokers` with the user's `-X` properties on top.
pub fn client_config(brokers: &str, properties: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (k, v) in properties {
        config.set(k, v);
    }
    config
}

/// An idempotent producer's config for `brokers`, with the user's `-X`
/// properties on top (they may change anything, idempotence included).
pub fn producer_config(brokers: &str, properties: &[(String, String)]) -> ClientConfig {
    let mut config = client_config(brokers, &[]);
    config
        .set("enable.idempotence", "true")
        .set("linger.ms", "5");
    for (k, v) in properties {
        config.set(k, v);
    }
    config
}

/// Declares a client context that logs like [`Quiet`].
macro_rules! quiet_client_context {
    ($context:ty) => {
        impl rdkafka::ClientContext for $context {
            fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
                rdkafka::ClientContext::log(&$crate::kafka::Quiet, level, fac, message);
            }
            fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
                rdkafka::ClientContext::error(&$crate::kafka::Quiet, error, reason);
            }
        }
    };
}
pub(crate) use quiet_client_context;

/// Checks that every topic exists on `brokers`. Missing ones are created
/// (one partition) when `create` is set; otherwise the error says how.
pub fn ensure_topics<C: ClientContext>(
    client: &Client<C>,
    brokers: &str,
    properties: &[(String, String)],
    topics: &[&str],
    create: bool,
) -> Result<()> {
    let metadata = client
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| unreachable(brokers, e))?;
    let missing: Vec<&str> = topics
        .iter()
        .copied()
        .filter(|topic| {
            !metadata
                .topics()
                .iter()
                .any(|t| t.name() == *topic && t.error().is_none())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !create {
        bail!(
            "topic {:?} does not exist on {brokers:?}; create it (e.g. `rpk topic create {}`), or pass --create-topics",
            missing[0],
            missing[0]
        );
    }
    let new: Vec<NewTopic> = missing
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(-1)))
        .collect();
    create_topics(brokers, properties, &new, "topic")
}

/// Creates `topics` (those that exist already are left as they are), each
/// replicated as the cluster's `default.replication.factor` says when its
/// `NewTopic` asks for `-1` (KIP-464), and waits until each has its leaders.
/// `what` names them in messages ("topic", "state changelog topic").
pub fn create_topics(
    brokers: &str,
    properties: &[(String, String)],
    topics: &[NewTopic<'_>],
    what: &str,
) -> Result<()> {
    let admin: AdminClient<Quiet> = client_config(brokers, properties)
        .create_with_context(Quiet)
        .context("creating the Kafka admin client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let results = runtime
        .block_on(admin.create_topics(topics, &options))
        .map_err(|e| unreachable(brokers, e))?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!("created the {what} {topic:?}"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => bail!("creating the {what} {topic:?} on {brokers:?}: {code}"),
        }
    }
    let names: Vec<&str> = topics.iter().map(|t| t.name).collect();
    await_leaders(admin.inner(), brokers, &names)
}

/// Waits until every one of `topics` has a leader for each partition in the
/// metadata the brokers answer: Kafka creates a topic on its controller and
/// tells the brokers after, so a client reading or writing it at once would
/// be told "unknown partition".
fn await_leaders<C: ClientContext>(
    client: &Client<C>,
    brokers: &str,
    topics: &[&str],
) -> Result<()> {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let metadata = client
            .fetch_metadata(None, TIMEOUT)
            .map_err(|e| unreachable(brokers, e))?;
        let waiting = topics.iter().find(|topic| {
            !metadata.topics().iter().any(|t| {
                t.name() == **topic
                    && t.error().is_none()
                    && !t.partitions().is_empty()
                    && t.partitions().iter().all(|p| p.leader() >= 0)
            })
        });
        let Some(topic) = waiting else {
            return Ok(());
        };
        if std::time::Instant::now() > deadline {
            bail!("topic {topic:?} was created on {brokers:?} but has no leader after {TIMEOUT:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
