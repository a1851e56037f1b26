//! One module per `host` subcommand.

pub mod generate;
pub mod inspect;
pub mod run;
pub mod test;

use crate::cli::{Command, PluginArgs};
use crate::plugin::{Plugin, Runtime};
use anyhow::Result;
use std::sync::Arc;

/// Runs a parsed command line.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Test(args) => test::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Run(args) => run::run(args),
        Command::Generate(args) => generate::run(args),
    }
}

/// Starts a runtime and loads the plugins named by `sources`.
pub fn load_plugins(args: &PluginArgs, sources: &[String]) -> Result<(Runtime, Vec<Arc<Plugin>>)> {
    let specs = args.specs(sources)?;
    let runtime = Runtime::new(args.limits(), args.cache_dir())?;
    let plugins = specs
        .iter()
        .map(|s| runtime.load(s).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    Ok((runtime, plugins))
}
