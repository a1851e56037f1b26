//! Where records go. A [`Sink`] takes each processed batch with its
//! [`Ticket`] and acknowledges it by dropping the last clone it holds once
//! the outputs are out (printed, or confirmed by the brokers); a sink that
//! cannot deliver fails the ticket, so the batch's offsets are never committed.
//!
//! - `console`: Spark's console sink (`Batch: N` tables) or JSON lines on stdout;
//!   `console/show`: Spark's `show`/`printSchema` text.
//! - `kafka`: the idempotent producer, and the sink producing to a topic.
//! - `dead_letter`: where records a plugin rejected go, with why.

pub mod console;
pub mod dead_letter;
pub mod kafka;

use crate::data::processed::ChainOutput;
use crate::offsets::Ticket;
use anyhow::Result;
use std::sync::Arc;
use std::time::Duration;

/// Where a pipeline's outputs go.
pub trait Sink: Send + Sync {
    /// Writes one processed batch. The sink keeps a clone of `ticket` until
    /// the outputs are out. Returns the rows it could not take, and why (they
    /// become rejected records); an error stops the pipeline (a closed
    /// console, [`console::ClosedStdout`], quietly).
    fn write(&self, out: &ChainOutput<'_>, ticket: &Arc<Ticket>) -> Result<Vec<(usize, String)>>;

    /// The rows of `out` this sink will not take, and why (a Kafka sink:
    /// records a plugin routed to a topic the pipeline does not allow).
    fn refused(&self, _out: &ChainOutput<'_>) -> Vec<(usize, String)> {
        Vec::new()
    }

    /// Waits up to `limit` for every output written so far to be acknowledged.
    fn flush(&self, limit: Duration) -> Result<()>;
}
