//! Where records go.
//!
//! - `console`: Spark's console sink format (tables, `printSchema`) and JSON lines.
//! - `kafka`: an idempotent producer whose delivery reports acknowledge batches.

pub mod console;
pub mod kafka;
