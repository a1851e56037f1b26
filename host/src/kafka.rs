//! What every Kafka client of the host shares: the client config, quiet
//! logging, the broker-unreachable error, and checking (or creating) topics.

use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::Client;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// How long a metadata or admin request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

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
#[macro_export]
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
    let admin: AdminClient<Quiet> = client_config(brokers, properties)
        .create_with_context(Quiet)
        .context("creating the Kafka admin client")?;
    let new: Vec<NewTopic> = missing
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(1)))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let results = runtime
        .block_on(admin.create_topics(&new, &options))
        .map_err(|e| unreachable(brokers, e))?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!("created topic {topic:?}"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => bail!("creating topic {topic:?} on {brokers:?}: {code}"),
        }
    }
    Ok(())
}
