//! Sluice: a stream processor whose transforms are sandboxed WebAssembly
//! components (WASI 0.2, the contract in `wit/plugin.wit`).
//!
//! # Layout
//! - `plugin/`: the plugin runtime — engine, sandbox, limits, cache, bundled
//!   plugins, trap recovery, chains of transforms.
//! - `data/`: the record and batch data model (packed batches, typed rows)
//!   that sources, the plugin runtime and sinks share.
//! - `source/`: where records come from; `kafka` is a consumer group.
//! - `offsets`: the acknowledgement tickets and what may be committed (a source
//!   opens a ticket per batch, a sink acknowledges it).
//! - `sink/`: where records go; `console` prints Spark's console format, `kafka`
//!   produces to topics.
//! - `pipeline/`: source → workers (plugin chains) → router → sinks, for `run` and `demo`.
//! - `generation`: a generator plugin → the Kafka sink, for `generate` and `demo`.
//! - `kafka`: what every Kafka client shares (config, errors, topic checks).
//! - `commands/`: one module per `host` subcommand.
//! - `cli`: the flags, and parsing of values shared by the subcommands;
//!   `pipeline_file` turns a `--pipeline` TOML file into flags.

pub mod cli;
pub mod commands;
pub mod data;
pub mod generation;
pub mod kafka;
pub mod offsets;
pub mod pipeline;
pub mod pipeline_file;
pub mod plugin;
pub mod sink;
pub mod source;
