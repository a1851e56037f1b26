//! The record and batch data model that sources, the plugin runtime and
//! sinks share: the contract's packed batches (raw records, a raw-values
//! column, typed rows), built, validated, read, picked and joined here.
//!
//! - `batch`: packed batches: building one from records, reading values and
//!   headers, metadata, picking rows.
//! - `rows`: typed rows: reading cells, picking and joining rows, Spark's
//!   `to_json` and console text.
//! - `validate`: checking everything a plugin returns before it is read.
//! - `bisect`: a batch's slices, and their outputs merged (trap bisection).
//! - `processed`: a batch after the chain (rows, provenance, failed records),
//!   what sinks write.
//!
//! The types themselves are the contract's, generated once in
//! `plugin::bindings`.

pub mod batch;
pub mod bisect;
#[cfg(test)]
mod fixtures;
pub mod processed;
pub mod rows;
pub mod validate;

pub use crate::plugin::bindings::{
    Batch, ByteValues, Column, Field, FieldType, Header, RecordMeta, Rows, Span, Values,
};

/// An output row's `inputs` entry when no single record made it (an
/// aggregate): it has no source record, so no source metadata.
pub const NO_INPUT: u32 = u32::MAX;

/// Spark's name of a column type (`printSchema`, DDL).
pub fn type_name(ty: FieldType) -> &'static str {
    sluice_sdk::schema::type_name(match ty {
        FieldType::String => sluice_sdk::FieldType::String,
        FieldType::Double => sluice_sdk::FieldType::Double,
        FieldType::Float => sluice_sdk::FieldType::Float,
        FieldType::Long => sluice_sdk::FieldType::Long,
        FieldType::Integer => sluice_sdk::FieldType::Integer,
        FieldType::Boolean => sluice_sdk::FieldType::Boolean,
        FieldType::Binary => sluice_sdk::FieldType::Binary,
        FieldType::Timestamp => sluice_sdk::FieldType::Timestamp,
        FieldType::Struct => sluice_sdk::FieldType::Struct,
    })
}
