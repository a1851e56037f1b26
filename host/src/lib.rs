//! Sluice: a stream processor whose transforms are sandboxed WebAssembly
//! components (WASI 0.2, the contract in `wit/plugin.wit`).
//!
//! # Layout
//! - `plugin/`: the plugin runtime — engine, sandbox, limits, cache, bundled
//!   plugins, trap recovery, chains of transforms.
//! - `source/`: where records come from; `kafka` is a consumer group.
//! - `sink/`: where records go; `console` prints Spark's console format.
//! - `commands/`: one module per `host` subcommand (`test`, `inspect`, `run`, `generate`).
//! - `cli`: parsing of values shared by the subcommands (config pairs, sizes).

pub mod cli;
pub mod commands;
pub mod plugin;
pub mod sink;
pub mod source;
