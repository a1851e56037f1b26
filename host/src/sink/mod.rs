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
    /// the outputs are out. Returns the rows it does not take, and why (a
    /// Kafka sink: records routed to a topic the pipeline does not allow, or
    /// too large to produce); they become rejected records; an error stops the pipeline (a closed
    /// console, [`console::ClosedStdout`], quietly).
    fn write(&self, out: &ChainOutput<'_>, ticket: &Arc<Ticket>) -> Result<Vec<(usize, String)>>;

    /// Waits up to `limit` for every output written so far to be acknowledged.
    fn flush(&self, limit: Duration) -> Result<()>;
}
