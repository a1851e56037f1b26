//! `host run`: Kafka topics through a chain of plugins to the console
//! (Spark's console sink) or to a Kafka topic, with a dead-letter topic for
//! rejected records; offsets are committed once outputs are acknowledged.

use super::plan::resolve;
use super::stop_on_signals;
use crate::cli::RunArgs;
use crate::pipeline::Pipeline;
use anyhow::Result;

/// Runs `host run` until SIGINT/SIGTERM, or until the topics are drained with `--available-now`.
pub fn run(args: RunArgs) -> Result<()> {
    let plan = resolve(&args).map_err(|p| p.into_error())?;
    let pipeline = Pipeline::build(&plan)?;
    pipeline.run(stop_on_signals()?)
}
