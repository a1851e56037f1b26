//! Sluice: a stream processor whose transforms are sandboxed WebAssembly
//! components (WASI 0.2, the contract in `wit/plugin.wit`).
//!
//! # Layout
//! Dependencies point one way: `commands` → `pipeline` → {`source`,
//! `plugin`, `sink`} → {`data`, `offsets`}. Nothing below the commands
//! imports `cli` or `commands`; sources and sinks never import each other.
//!
//! - `cli/`: the flags (and a `--pipeline` TOML file turned into flags).
//! - `commands/`: one module per `host` subcommand; `commands/plan.rs`
//!   resolves `host run`'s flags into a [`pipeline::Plan`], once, for `run`
//!   and `--check` alike.
//! - `pipeline/`: a [`pipeline::Pipeline`] built from a plan: read → lanes
//!   (workers) → chain → router → commit (`pipeline/mod.rs`); where each
//!   outcome goes (`router.rs`); `--available-now`'s targets.
//! - `source/`: where records come from; `kafka.rs` is a consumer group,
//!   `starting_offsets.rs` Spark's `startingOffsets`.
//! - `plugin/`: the plugin runtime: engine, sandbox, limits, cache, bundled
//!   plugins, trap recovery, chains of transforms.
//! - `sink/`: the [`sink::Sink`] trait and where records go: `console/`
//!   (Spark's console sink), `kafka.rs` (an idempotent producer),
//!   `dead_letter.rs` (rejected records).
//! - `data/`: the record and batch data model (packed batches, typed rows,
//!   a processed batch) that sources, the runtime and sinks share.
//! - `offsets.rs`: acknowledgement tickets and what may be committed.
//! - `observe/`: progress reports (Spark's), Prometheus metrics, the live page.
//! - `generation.rs`: a generator plugin → Kafka (`generate`, `demo`).
//! - `kafka.rs`: what every Kafka client shares (config, errors, topics).
//!
//! # Where a record goes
//! - read: `source/kafka.rs`, [`source::kafka::KafkaSource::next_batch`];
//! - enters the sandbox: `plugin/instance.rs`, [`plugin::Stage::process`]
//!   (its output is checked in `data/validate.rs` before the host reads it);
//! - printed: `sink/console/mod.rs`, [`sink::console::ConsoleSink`];
//!   produced: `sink/kafka.rs`, [`sink::kafka::KafkaSink`];
//! - acknowledged: `offsets.rs`, when the last clone of its batch's
//!   [`offsets::Ticket`] drops (the console after printing, the producer on
//!   each delivery report);
//! - committed: `source/kafka.rs`, [`source::kafka::KafkaSource::commit`].

mod cli;
mod commands;
pub mod data;
mod generation;
mod kafka;
pub mod observe;
pub mod offsets;
pub mod pipeline;
pub mod plugin;
pub mod sink;
pub mod source;

use clap::Parser;
use std::process::ExitCode;

/// The `host` binary: parse the command line (a `--pipeline` file first
/// becomes flags), run it, and map the outcome to an exit code: 0 on
/// success or a closed stdout, 2 with one `error: …` line otherwise.
pub fn main() -> ExitCode {
    let argv = match cli::pipeline_file::expand(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let cli = cli::Cli::parse_from(argv);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // `host … | head`: the reader has what it wanted.
        Err(err) if err.downcast_ref::<sink::console::ClosedStdout>().is_some() => {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
