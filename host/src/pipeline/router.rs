//! Where each outcome of a processed batch goes: its outputs to the sink,
//! each record a plugin rejected to the dead-letter topic, stderr, or a
//! stop, as `--on-error` says.

use crate::data::Batch;
use crate::data::processed::{ChainError, ChainOutput};
use crate::offsets::{Position, Ticket};
use crate::sink::Sink;
use crate::sink::dead_letter::DeadLetters;
use anyhow::{Result, bail};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// The name rejected records carry when the sink did not take them.
pub const SINK: &str = "the Kafka sink";

/// The name rejected records carry when the source could not read them.
pub const SOURCE: &str = "the Kafka source";

/// What a record a plugin rejects does (`--on-error`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Send the original record to `--dlq-topic` with `sluice.*` headers saying why.
    Dlq,
    /// Skip it, logging one JSON line on stderr.
    Drop,
    /// Stop, committing only the offsets before it.
    Fail,
}

/// What the router does with a rejected record.
pub enum Rejected {
    /// Stop before it.
    Fail,
    /// Log it on stderr and go on.
    Drop,
    /// Send it to the dead-letter topic.
    DeadLetter(DeadLetters),
}

/// Sends each outcome of a batch where it belongs.
pub struct Router {
    /// Where outputs go.
    pub sink: Box<dyn Sink>,
    /// Where rejected records go.
    pub rejected: Rejected,
}

impl Router {
    /// Routes one processed batch; returns the outputs the sink did not take
    /// (rejected as records are), as the topic each was routed to, if any. Returns an error only for what
    /// must stop the pipeline (`--on-error fail`, a producer that fails, a
    /// closed console).
    /// `batch` is the source records `out` came from, read at `positions`.
    pub fn deliver(
        &self,
        batch: &Batch,
        positions: &[Position],
        out: ChainOutput<'_>,
        ticket: &Arc<Ticket>,
    ) -> Result<Vec<Option<String>>> {
        for e in &out.errors {
            self.reject(batch, positions, e, ticket)?;
        }
        let mut topics = Vec::new();
        for (i, message) in self.sink.write(&out, ticket)? {
            let e = ChainError {
                input: out.origin(i) as u32,
                plugin: SINK.into(),
                message,
            };
            self.reject(batch, positions, &e, ticket)?;
            topics.push(out.topic(i).map(String::from));
        }
        Ok(topics)
    }

    /// Rejects the records the source could not read (rows of `batch`, read
    /// at `positions`), as `--on-error` says.
    pub fn reject_unreadable(
        &self,
        batch: &Batch,
        positions: &[Position],
        errors: &[ChainError],
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        errors
            .iter()
            .try_for_each(|e| self.reject(batch, positions, e, ticket))
    }

    /// What `--on-error` says to do with one rejected record.
    fn reject(
        &self,
        batch: &Batch,
        positions: &[Position],
        e: &ChainError,
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        let Some(at) = positions.get(e.input as usize) else {
            // A row no single record made (an aggregate): no original to send.
            bail!(
                "an aggregate row was refused: {}; it comes from no single input record, so it cannot be dead-lettered and the pipeline stops",
                e.message
            );
        };
        match &self.rejected {
            Rejected::Fail => bail!(
                "record {at} failed in plugin {:?}: {}; stopping as --on-error fail says (offsets before it are committed, so a restart reads it again); pass --dlq-topic to keep bad records in a dead-letter topic, or --on-error drop",
                &*e.plugin,
                e.message
            ),
            Rejected::DeadLetter(dlq) => dlq.send(batch, e, at, ticket),
            Rejected::Drop => {
                let line = serde_json::json!({
                    "topic": &*at.topic, "partition": at.partition, "offset": at.offset,
                    "plugin": &*e.plugin, "error": e.message, "dropped": true,
                });
                Ok(writeln!(std::io::stderr().lock(), "{line}")?)
            }
        }
    }

    /// Waits up to `limit` for every output and dead letter to be acknowledged.
    pub fn flush(&self, limit: Duration) -> Result<()> {
        if let Rejected::DeadLetter(dlq) = &self.rejected {
            dlq.flush(limit)?;
        }
        self.sink.flush(limit)
    }
}
