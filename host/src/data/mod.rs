//! The record and batch data model that sources, the plugin runtime and
//! sinks share: the contract's packed batches (raw records, a raw-values
//! column, typed rows), built, validated, read, picked and joined here.
//!
//! - `batch`: packed batches: building one from records, validating what a
//!   plugin returns, metadata, picking rows, bisection's slices and merges.
//! - `rows`: typed rows: validating, reading cells, picking and joining rows,
//!   Spark's `to_json` and console text.
//!
//! The types themselves are the contract's, generated once in
//! `plugin::bindings`.

pub mod batch;
pub mod rows;

pub use crate::plugin::bindings::{
    Batch, ByteValues, Column, Field, FieldType, Header, RecordMeta, Rows, Span, Values,
};
