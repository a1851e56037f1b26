//! The dead-letter route: a record a plugin rejected goes, as it was read
//! (key, value, headers, timestamp), to the dead-letter topic with
//! `sluice.*` headers saying which plugin rejected it, why, and where it
//! was read.

use crate::data::Batch;
use crate::data::batch::{bytes, headers, value};
use crate::data::processed::ChainError;
use crate::kafka::producer::{KafkaProducer, TooLarge};
use crate::offsets::{Position, Ticket};
use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;

/// A dead-letter topic.
pub struct DeadLetters {
    /// The producer (shared with the Kafka sink).
    pub producer: Arc<KafkaProducer>,
    /// The dead-letter topic.
    pub topic: String,
}

impl DeadLetters {
    /// Sends the source record `error` names (from `batch`, read at `at`);
    /// `ticket` is held until the brokers acknowledge it.
    pub fn send(
        &self,
        batch: &Batch,
        error: &ChainError,
        at: &Position,
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        let i = error.input as usize;
        let meta = &batch.records[i];
        let (partition, offset) = (at.partition.to_string(), at.offset.to_string());
        let send = |message: &str, value: Option<&[u8]>| {
            let sluice = [
                (&b"sluice.error"[..], Some(message.as_bytes())),
                (b"sluice.plugin", Some(error.plugin.as_bytes())),
                (b"sluice.source.topic", Some(at.topic.as_bytes())),
                (b"sluice.source.partition", Some(partition.as_bytes())),
                (b"sluice.source.offset", Some(offset.as_bytes())),
            ];
            self.producer.send(
                &self.topic,
                meta.key.map(|k| bytes(batch, k)),
                value,
                headers(batch, i).chain(sluice),
                meta.timestamp,
                ticket,
            )
        };
        match send(&error.message, value(batch, i)) {
            // Too large for the dead-letter topic too: the headers say where the original is.
            Err(e) if e.downcast_ref::<TooLarge>().is_some() => send(
                &format!(
                    "{} (its value is left out here, as it is too large to send; the original is at {at})",
                    error.message
                ),
                None,
            ),
            other => other,
        }
    }

    /// Waits up to `limit` for every dead letter's delivery report.
    pub fn flush(&self, limit: Duration) -> Result<()> {
        self.producer.flush(limit)
    }
}
