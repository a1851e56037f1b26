//! The idempotent producer the host shares: the Kafka sink, the dead-letter
//! topic, the changelog checkpoints, the generator and the demo all write
//! through it. Each record carries its batch's [`Ticket`] until its delivery
//! report comes back (this is where a Kafka output is acknowledged); a failed
//! delivery fails the ticket, so its offsets are never committed.

use super::producer_config;
use crate::offsets::Ticket;
use anyhow::{Context, Result, anyhow};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
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
pub struct DeliveryContext;

crate::kafka::quiet_client_context!(DeliveryContext);

impl ProducerContext for DeliveryContext {
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
    producer: ThreadedProducer<DeliveryContext>,
}

impl KafkaProducer {
    /// Creates the producer (`enable.idempotence=true`; `-X` properties on top).
    pub fn new(brokers: &str, properties: &[(String, String)]) -> Result<KafkaProducer> {
        let producer = producer_config(brokers, properties)
            .create_with_context(DeliveryContext)
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
    pub fn client(&self) -> &rdkafka::client::Client<DeliveryContext> {
        self.producer.client()
    }

    /// Waits up to `limit` for every queued record's delivery report.
    pub fn flush(&self, limit: Duration) -> Result<()> {
        self.producer
            .flush(limit)
            .context("waiting for the output records to be acknowledged")
    }
}
