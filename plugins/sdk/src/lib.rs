//! The Sluice guest SDK: write a plugin as a plain Rust type.
//!
//! A filter implements [`Filter`] and returns a selection of its input rows
//! (nothing is copied); the tutorial's filter is:
//!
//! ```
//! use sluice_sdk::{Config, Error, Filter, Row};
//!
//! struct Expensive;
//! impl Filter for Expensive {
//!     fn init(_: &mut Config) -> Result<Self, Error> { Ok(Expensive) }
//!     fn keep(&self, row: &Row) -> bool { row.f64("price") > Some(50.0) }
//! }
//! sluice_sdk::export_filter!(Expensive);
//! ```
//!
//! Rows are typed views: `row.f64("price")`, `row.str("ticker")`, `None` for
//! a null. They read the cells of typed rows (what `parse_stock` writes)
//! and the fields of raw JSON values alike. A transform implements
//! [`Transform`]: [`Transform::process`] is called per input row and emits
//! typed rows ([`Out::emit_row`]), raw values ([`Out::emit`]) or keeps the
//! row ([`Out::keep`]); [`Transform::process_batch`] may work on whole
//! columns ([`Input::column`], [`Output::typed_row`]). A generator
//! implements [`Generator`]. One macro line exports each.
//!
//! # Layout
//! - `input`: reading an input batch ([`Input`], [`Row`], [`ColumnView`]).
//! - `output`: building outputs ([`Output`], [`Out`], [`RowsBuilder`], [`BatchBuilder`]).
//! - `config`: typed access to `--config plugin.key=value` pairs ([`Config`]).
//! - `schema`: Spark DDL strings (`"ticker string, price double"`) to [`Field`]s.
//! - `json`: a JSON reader with Spark's reader options (`JSONOptions`).
//! - `value`: Spark's JSON-to-column conversion rules and `to_json` writing.
//! - `time`: timestamps as Spark prints them.
//! - `export`: the export macros that bind a type to the WIT contract.

mod config;
mod export;
mod input;
pub mod json;
mod output;
pub mod schema;
pub mod time;
pub mod value;

pub use config::{Config, key};
pub use input::{ColumnView, Input, Row};
pub use output::{BatchBuilder, ColumnBuilder, Emitted, Out, Output, RowsBuilder};
pub use value::Cell;

/// Bindings of the contract's shared types and the host import, generated
/// once here so every plugin uses the same Rust types.
pub mod wit {
    #![allow(missing_docs, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "package sluice:sdk; world sdk { import sluice:plugin/types@0.2.0; import sluice:plugin/host@0.2.0; }",
        world: "sluice:sdk/sdk",
        generate_unused_types: true,
        additional_derives: [PartialEq],
        generate_all,
    });
    pub use sluice::plugin::{host, types};
}

pub use wit::types::{Accepts, Batch, ConfigKey, Error, Field, FieldType, Info, Level};

/// The contract version this SDK builds plugins for.
pub const CONTRACT: &str = "sluice:plugin@0.2.0";

/// A plugin description: `description` and the documented config keys;
/// it reads typed or raw values and the records' metadata. Adjust the
/// returned value's `accepts` and `reads_metadata` to say less.
pub fn info(description: &str, config: Vec<ConfigKey>) -> Info {
    Info {
        description: description.into(),
        config,
        accepts: Accepts::Any,
        reads_metadata: true,
    }
}

/// A field of a schema: a nullable top-level column.
pub fn field(name: &str, ty: FieldType) -> Field {
    Field {
        name: name.into(),
        ty,
        nullable: true,
        parent: None,
    }
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    /// One `process` call of the export macros: `batch` seen as an
    /// [`Input`](crate::Input), `f` writing the [`Output`](crate::Output).
    pub fn process(
        schema: &Option<Vec<crate::Field>>,
        batch: &crate::Batch,
        f: impl FnOnce(&crate::Input<'_>, &mut crate::Output) -> Result<(), crate::Error>,
    ) -> Result<crate::wit::types::Output, crate::Error> {
        let input = crate::Input::new(batch);
        let mut output = crate::Output::new(schema.clone(), input.len());
        f(&input, &mut output)?;
        output.finish()
    }
}

include!(concat!(env!("OUT_DIR"), "/generate_macro.rs"));

/// Why one record could not be processed, or why the plugin must stop.
#[derive(Debug, Clone, PartialEq)]
pub enum Fail {
    /// This record is bad: the host routes it (dead-letter topic, drop, stop)
    /// and goes on with the rest of the batch.
    Record(String),
    /// The plugin cannot go on: the host stops the pipeline with this message.
    Fatal(String),
}

impl From<String> for Fail {
    fn from(message: String) -> Self {
        Fail::Record(message)
    }
}

impl From<&str> for Fail {
    fn from(message: &str) -> Self {
        Fail::Record(message.to_string())
    }
}

impl From<serde_json::Error> for Fail {
    fn from(err: serde_json::Error) -> Self {
        Fail::Record(format!("value is not valid JSON: {err}"))
    }
}

/// A transform plugin: maps each input row to zero, one or many outputs.
pub trait Transform: Sized + 'static {
    /// Describes the plugin, its config keys and what it reads, for the
    /// host and `host inspect`.
    fn about() -> Info {
        info("", Vec::new())
    }

    /// Builds the plugin from its configuration. Keys left unread are
    /// reported as unknown by the SDK, so a typo never passes silently.
    fn init(config: &mut Config) -> Result<Self, Error>;

    /// The columns of the output rows, if they are rows (required for
    /// typed outputs).
    fn schema(&self) -> Option<Vec<Field>> {
        None
    }

    /// Processes one row, emitting its outputs through `out`.
    fn process(&mut self, row: &Row<'_, '_>, out: &mut Out<'_, '_, '_>) -> Result<(), Fail>;

    /// Processes a whole batch. The default calls [`Transform::process`] per
    /// row; override it to work column by column.
    fn process_batch(&mut self, input: &Input<'_>, output: &mut Output) -> Result<(), Error> {
        for row in input.rows() {
            let mut out = output.out_for(row);
            match self.process(&row, &mut out) {
                Ok(()) => {}
                Err(Fail::Record(message)) => output.reject(row.index(), message),
                Err(Fail::Fatal(message)) => return Err(Error::Fatal(message)),
            }
        }
        Ok(())
    }
}

/// A filter: keeps the rows for which [`Filter::keep`] is true, returning
/// their indices to the host (no record is copied). Export it with
/// [`export_filter!`].
pub trait Filter: Sized + 'static {
    /// Describes the plugin and its config keys for `host inspect`.
    fn about() -> Info {
        info("", Vec::new())
    }

    /// Builds the filter from its configuration.
    fn init(config: &mut Config) -> Result<Self, Error>;

    /// Whether `row` passes.
    fn keep(&self, row: &Row<'_, '_>) -> bool;
}

/// A [`Filter`] seen as a [`Transform`] (what [`export_filter!`] exports).
#[doc(hidden)]
pub struct FilterTransform<F>(pub F);

impl<F: Filter> Transform for FilterTransform<F> {
    fn about() -> Info {
        F::about()
    }
    fn init(config: &mut Config) -> Result<Self, Error> {
        F::init(config).map(FilterTransform)
    }
    fn process(&mut self, row: &Row<'_, '_>, out: &mut Out<'_, '_, '_>) -> Result<(), Fail> {
        if self.0.keep(row) {
            out.keep();
        }
        Ok(())
    }
    fn process_batch(&mut self, input: &Input<'_>, output: &mut Output) -> Result<(), Error> {
        for row in input.rows() {
            if self.0.keep(&row) {
                output.keep_index(row.index());
            }
        }
        Ok(())
    }
}

/// A transform that keeps state between batches (an aggregation, a
/// deduplication): the host checkpoints what [`Stateful::snapshot`] returns
/// together with the input offsets it reflects, and gives it back to
/// [`Stateful::restore`] in every new instance, after a restart, a
/// rebalance or a trap. Each instance sees one input partition, in order.
/// Export it with [`export_stateful!`].
pub trait Stateful: Sized + 'static {
    /// Describes the plugin and its config keys for `host inspect`.
    fn about() -> Info {
        info("", Vec::new())
    }

    /// Builds the plugin from its configuration, with empty state.
    fn init(config: &mut Config) -> Result<Self, Error>;

    /// The columns of the output rows.
    fn schema(&self) -> Option<Vec<Field>> {
        None
    }

    /// The input's event-time column (a `timestamp`) and the watermark
    /// delay in microseconds, if the plugin uses event time: the host then
    /// keeps the watermark, `max(event time) - delay` (Spark's rule).
    fn event_time(&self) -> Option<(String, i64)> {
        None
    }

    /// Processes one batch of one partition. `watermarks` are the batch's
    /// (µs; see [`Watermarks`]); `input` is empty in a no-data call, made
    /// after the watermark moved. Rows made of many inputs (an
    /// aggregate) are written with [`Output::typed_row`]`(`[`NO_INPUT`]`)`.
    fn process_batch(
        &mut self,
        input: &Input<'_>,
        watermarks: Watermarks,
        output: &mut Output,
    ) -> Result<(), Error>;

    /// How many input rows the last [`Stateful::process_batch`] dropped as
    /// late (Spark's `numRowsDroppedByWatermark`), for the host's reports.
    fn late_rows(&self) -> u64 {
        0
    }

    /// The whole state as bytes.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the state with bytes [`Stateful::snapshot`] returned.
    fn restore(&mut self, state: &[u8]) -> Result<(), Error>;
}

/// The two watermarks a batch of a [`Stateful`] plugin runs with (µs since
/// the Unix epoch; `None` until an event time was seen), as Spark keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermarks {
    /// State older than this is final: the watermark as it stood at the end
    /// of the previous batch (Spark's `eventTimeWatermarkForEviction`).
    pub eviction: Option<i64>,
    /// Rows older than this are late: the watermark the previous batch ran
    /// with (Spark's `eventTimeWatermarkForLateEvents`).
    pub late_events: Option<i64>,
}

/// The `inputs` entry of an output row that no single input made.
pub const NO_INPUT: u32 = u32::MAX;

/// A generator plugin: a source of records (test data, synthetic load).
pub trait Generator: Sized + 'static {
    /// Describes the plugin and its config keys for `host inspect`.
    fn about() -> Info {
        info("", Vec::new())
    }

    /// Builds the generator from its configuration.
    fn init(config: &mut Config) -> Result<Self, Error>;

    /// The columns of the generated records, if they are rows.
    fn schema(&self) -> Option<Vec<Field>> {
        None
    }

    /// Adds at most `max` records to `out`; returns `false` once exhausted
    /// (records added in that same call are still delivered).
    fn next_batch(&mut self, max: u32, out: &mut BatchBuilder) -> Result<bool, Error>;
}

/// Writes a line to the host's log, tagged with this plugin's name.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    wit::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{level:?}: {message}");
}
