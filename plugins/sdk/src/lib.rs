//! The Sluice guest SDK: write a plugin as a plain Rust type.
//!
//! A transform implements [`Transform`]; the SDK calls
//! [`Transform::process`] once per input record and packs what it emits into
//! the contract's batch layout. A generator implements [`Generator`]. Then one
//! macro line exports it:
//!
//! ```
//! use sluice_sdk::{Config, Error, Fail, Out, Record, Transform};
//!
//! struct MinPrice(f64);
//! impl Transform for MinPrice {
//!     fn init(config: &mut Config) -> Result<Self, Error> {
//!         Ok(MinPrice(config.parse_or("min", 50.0)?))
//!     }
//!     fn process(&mut self, record: &Record, out: &mut Out) -> Result<(), Fail> {
//!         if record.json_f64("price")?.is_some_and(|p| p >= self.0) { out.keep(record) }
//!         Ok(())
//!     }
//! }
//! sluice_sdk::export_transform!(MinPrice);
//! ```
//!
//! # Layout
//! - `batch`: reading an input batch ([`Record`]) and building outputs ([`Out`], [`BatchBuilder`]).
//! - `config`: typed access to `--config plugin.key=value` pairs ([`Config`]).
//! - `schema`: Spark DDL strings (`"ticker string, price double"`) to [`Field`]s.
//! - `value`: Spark's JSON-to-column conversion rules, shared by the stock plugins.
//! - `export`: the export macros that bind a type to the WIT contract.

mod batch;
mod config;
mod export;
pub mod schema;
pub mod value;

pub use batch::{BatchBuilder, Out, Output, Record};
pub use config::{Config, key};

/// Bindings of the contract's shared types and the host import, generated
/// once here so every plugin uses the same Rust types.
pub mod wit {
    #![allow(missing_docs, clippy::all)]
    wit_bindgen::generate!({
        path: "../../wit",
        inline: "package sluice:sdk; world sdk { import sluice:plugin/types@0.1.0; import sluice:plugin/host@0.1.0; }",
        world: "sluice:sdk/sdk",
        generate_unused_types: true,
        generate_all,
    });
    pub use sluice::plugin::{host, types};
}

pub use wit::types::{Batch, ConfigKey, Error, Field, FieldType, Info, Level};

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
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

/// A transform plugin: maps each input record to zero, one or many outputs.
pub trait Transform: Sized + 'static {
    /// Describes the plugin and its config keys for `host inspect`.
    fn about() -> Info {
        Info {
            description: String::new(),
            config: Vec::new(),
        }
    }

    /// Builds the plugin from its configuration. Keys left unread are
    /// reported as unknown by the SDK, so a typo never passes silently.
    fn init(config: &mut Config) -> Result<Self, Error>;

    /// The columns of the output records, if they are rows.
    fn schema(&self) -> Option<Vec<Field>> {
        None
    }

    /// Processes one record, emitting its outputs through `out`.
    fn process(&mut self, record: &Record<'_>, out: &mut Out<'_>) -> Result<(), Fail>;

    /// Processes a whole batch. The default calls [`Transform::process`] per
    /// record; override it only to amortise work across a batch.
    fn process_batch(&mut self, input: &Batch, output: &mut Output) -> Result<(), Error> {
        for record in Record::all(input) {
            let mut out = output.out_for(record.index());
            match self.process(&record, &mut out) {
                Ok(()) => {}
                Err(Fail::Record(message)) => output.reject(record.index(), message),
                Err(Fail::Fatal(message)) => return Err(Error::Fatal(message)),
            }
        }
        Ok(())
    }
}

/// A generator plugin: a source of records (test data, synthetic load).
pub trait Generator: Sized + 'static {
    /// Describes the plugin and its config keys for `host inspect`.
    fn about() -> Info {
        Info {
            description: String::new(),
            config: Vec::new(),
        }
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
