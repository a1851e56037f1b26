//! Where records go.
//!
//! - `console`: Spark's console sink format (tables, `printSchema`) and JSON lines.

pub mod console;
