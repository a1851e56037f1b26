//! The Kafka sink: an idempotent producer shared by every worker, for the
//! output topic, the topics plugins route records to, and the dead-letter
//! topic. Each record carries its batch's [`Ticket`] until its delivery
//! report comes back (this is where a Kafka output is acknowledged); a
//! failed delivery fails the ticket, so its offsets are never committed.

use super::Sink;
use crate::data::processed::ChainOutput;
use crate::kafka::producer_config;
use crate::offsets::Ticket;
use anyhow::{Context, Result, anyhow};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A record larger than the producer may send (`message.max.bytes`).
#[derive(Debug, thiserror::Error)]
#[error(
    "the record ({bytes} bytes of key and value) is larger than the producer may send to topic {topic:?} (librdkafka's message.max.bytes; raise it with -X message.max.bytes=N, up to what the broker accepts)"
)]
pub struct TooLarge {
    /// The topic.
    pub topic: String,
    /// Its key and value bytes.
    pub bytes: usize,
}

/// Reports deliveries to the tickets.
pub struct SinkContext;

crate::kafka::quiet_client_context!(SinkContext);

impl ProducerContext for SinkContext {
    type DeliveryOpaque = Arc<Ticket>;
    fn delivery(&self, result: &DeliveryResult<'_>, ticket: Arc<Ticket>) {
        if let Err((err, message)) = result {
            use rdkafka::message::Message;
            ticket.fail(format!(
                "delivering a record to topic {:?} failed: {err}",
                message.topic()
            ));
        }
    }
}

/// An idempotent producer.
pub struct KafkaProducer {
    producer: ThreadedProducer<SinkContext>,
}

impl KafkaProducer {
    /// Creates the producer (`enable.idempotence=true`; `-X` properties on top).
    pub fn new(brokers: &str, properties: &[(String, String)]) -> Result<KafkaProducer> {
        let producer = producer_config(brokers, properties)
            .create_with_context(SinkContext)
            .context("creating the Kafka producer")?;
        Ok(KafkaProducer { producer })
    }

    /// Queues a record for `topic` (`None` key: a null key; `None` value: a
    /// tombstone; `None` timestamp: the producer stamps it); `ticket` is held
    /// until its delivery report. Waits while the producer's queue is full
    /// (backpressure).
    pub fn send<'a>(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        timestamp: Option<i64>,
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        self.send_to((topic, None), key, value, headers, timestamp, ticket)
    }

    /// [`KafkaProducer::send`] to `(topic, partition)`: `None` leaves the
    /// partition to the partitioner (by key).
    pub fn send_to<'a>(
        &self,
        (topic, partition): (&str, Option<i32>),
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        timestamp: Option<i64>,
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            let key = std::str::from_utf8(name).map_err(|_| {
                anyhow!(
                    "a header name of a record for topic {topic:?} is not UTF-8; Kafka clients expect UTF-8 header names"
                )
            })?;
            owned = owned.insert(Header { key, value });
        }
        let mut base = BaseRecord::with_opaque_to(topic, ticket.clone()).headers(owned);
        if let Some(key) = key {
            base = base.key(key);
        }
        if let Some(value) = value {
            base = base.payload(value);
        }
        if let Some(ts) = timestamp {
            base = base.timestamp(ts);
        }
        if let Some(p) = partition {
            base = base.partition(p);
        }
        loop {
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    base = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    return Err(TooLarge {
                        topic: topic.to_string(),
                        bytes: key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len),
                    }
                    .into());
                }
                Err((e, _)) => {
                    return Err(anyhow!("producing a record to topic {topic:?}: {e}"));
                }
            }
        }
    }

    /// The underlying client (metadata, topic checks).
    pub fn client(&self) -> &rdkafka::client::Client<SinkContext> {
        self.producer.client()
    }

    /// Waits up to `limit` for every queued record's delivery report.
    pub fn flush(&self, limit: Duration) -> Result<()> {
        self.producer
            .flush(limit)
            .context("waiting for the output records to be acknowledged")
    }
}

/// Produces a chain's outputs to a topic, or to the topic a plugin names
/// for a record; each record keeps the metadata the chain gives it.
pub struct KafkaSink {
    /// The producer (shared with the dead-letter route).
    pub producer: Arc<KafkaProducer>,
    /// The default topic.
    pub topic: String,
    /// The other topics a plugin may route a record to.
    pub routes: BTreeSet<String>,
    /// The output column whose value is each record's key (`--key-by`).
    pub key_by: Option<String>,
}

impl KafkaSink {
    /// Why a plugin may not route a record to `topic` (another than the
    /// sink's own), if it may not.
    fn unroutable(&self, topic: &str) -> Option<String> {
        if topic.starts_with("__") {
            Some(format!(
                "the record was routed to topic {topic:?}, which is Kafka's own (__*): plugins never write there"
            ))
        } else if !self.routes.contains(topic) {
            Some(format!(
                "the record was routed to topic {topic:?}, which this pipeline does not allow; add it with --route-topics {topic}"
            ))
        } else {
            None
        }
    }
}

impl Sink for KafkaSink {
    fn write(&self, out: &ChainOutput<'_>, ticket: &Arc<Ticket>) -> Result<Vec<(usize, String)>> {
        let mut values = out.values();
        let mut refused = Vec::new();
        // `--key-by`: the column's value as Spark casts it to a string.
        let typed = out.batch().rows.as_ref();
        let key_column = self.key_by.as_ref().and_then(|name| {
            let rows = typed?;
            let c = rows
                .fields
                .iter()
                .position(|f| f.parent.is_none() && &f.name == name)?;
            Some((rows, c))
        });
        for i in 0..out.len() {
            let shown = key_column.and_then(|(rows, c)| crate::data::rows::show(rows, c, i));
            let key = match key_column {
                Some(_) => shown.as_deref().map(str::as_bytes),
                None => out.key(i),
            };
            let topic = match out.topic(i) {
                Some(t) if t != self.topic => match self.unroutable(t) {
                    Some(why) => {
                        refused.push((i, why));
                        continue;
                    }
                    None => t,
                },
                _ => &self.topic,
            };
            let sent = self.producer.send(
                topic,
                key,
                values.get(i),
                out.headers(i),
                out.timestamp(i),
                ticket,
            );
            match sent {
                Err(e) if e.downcast_ref::<TooLarge>().is_some() => {
                    refused.push((i, e.to_string()))
                }
                other => other?,
            }
        }
        Ok(refused)
    }

    fn flush(&self, limit: Duration) -> Result<()> {
        self.producer.flush(limit)
    }
}
