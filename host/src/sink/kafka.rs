//! The Kafka sink: a chain's outputs to the output topic or the topics
//! plugins route records to, through the producer every worker shares
//! ([`crate::kafka::producer`], where an output is acknowledged).

use super::Sink;
use crate::data::processed::ChainOutput;
use crate::kafka::producer::{KafkaProducer, TooLarge};
use crate::offsets::Ticket;
use anyhow::Result;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

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
