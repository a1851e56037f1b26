//! One module per `host` subcommand; `--check` is dispatched here, so no
//! command module imports another (what two share lives in `plan` or below).

pub mod check;
pub mod demo;
pub mod generate;
pub mod inspect;
pub mod new;
mod plan;
pub mod run;
pub mod test;

use crate::cli::{Command, PluginArgs};
use crate::plugin::{Plugin, PluginSpec, Runtime};
use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Runs a parsed command line.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Test(args) => test::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Run(args) => match args.check {
            Some(mode) => check::run(&args, mode),
            None => run::run(*args),
        },
        Command::Generate(args) => match args.check {
            Some(mode) => check::generate(&args, mode),
            None => generate::run(args),
        },
        Command::Demo(args) => demo::run(args),
        Command::New(args) => new::run(args),
    }
}

/// A flag set by the first SIGINT or SIGTERM (stop reading, drain, commit);
/// a second one ends the process at once.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    Ok(stop)
}

/// Starts a runtime and loads the plugins named by `sources`.
pub fn load_plugins(args: &PluginArgs, sources: &[String]) -> Result<(Runtime, Vec<Arc<Plugin>>)> {
    load_specs(args, &args.specs(sources)?)
}

/// Starts a runtime and loads `specs`.
pub fn load_specs(args: &PluginArgs, specs: &[PluginSpec]) -> Result<(Runtime, Vec<Arc<Plugin>>)> {
    let runtime = Runtime::new(args.limits(), args.cache_dir())?;
    let plugins = runtime.load_all(specs)?;
    Ok((runtime, plugins))
}
