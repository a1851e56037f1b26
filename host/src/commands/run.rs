//! `host run`: Kafka topics through a chain of plugins to the console
//! (Spark's console sink) or to a Kafka topic, with a dead-letter topic for
//! rejected records; offsets are committed once outputs are acknowledged.
//! SIGHUP (and, with `--watch`, a change to the pipeline file or a plugin
//! file) swaps in the chain the command line and pipeline file now describe.

use super::plan::resolve;
use super::stop_on_signals;
use crate::cli::pipeline_file;
use crate::cli::{Cli, Command, RunArgs};
use crate::pipeline::{Pipeline, Plan, Reload, plugin_files};
use anyhow::{Result, bail};
use clap::Parser;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How often `--watch` looks at the files.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Runs `host run` until SIGINT/SIGTERM, or until the topics are drained with `--available-now`.
pub fn run(args: RunArgs) -> Result<()> {
    let plan = resolve(&args).map_err(|p| p.into_error())?;
    let pipeline = Pipeline::build(&plan)?;
    let stop = stop_on_signals()?;
    let requested = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, requested.clone())?;
    let watched = Arc::new(Mutex::new(plugin_files(&plan)));
    if args.watch {
        let (file, watched, requested, stop) = (
            args.pipeline.clone(),
            watched.clone(),
            requested.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || watch(file, &watched, &requested, &stop))?;
    }
    let reload = Reload {
        requested,
        plan: Box::new(again),
        watched,
    };
    pipeline.run(stop, Some(reload))
}

/// The plan the command line and the pipeline file describe now.
fn again() -> Result<Plan> {
    let argv = pipeline_file::expand(std::env::args_os().collect())?;
    let cli = Cli::try_parse_from(argv)?;
    match cli.command {
        Command::Run(args) => resolve(&args).map_err(|p| p.into_error()),
        _ => bail!("the command line is no longer `host run`"),
    }
}

/// Asks for a reload when the pipeline file or a plugin file changes (once
/// its modification time holds still for one look, so a file being written
/// is read whole).
fn watch(
    pipeline: Option<PathBuf>,
    plugins: &Mutex<Vec<PathBuf>>,
    requested: &AtomicBool,
    stop: &AtomicBool,
) {
    let stamps = || -> Vec<(PathBuf, Option<SystemTime>)> {
        let files = plugins.lock().unwrap_or_else(|e| e.into_inner()).clone();
        pipeline
            .iter()
            .cloned()
            .chain(files)
            .map(|f| {
                let modified = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
                (f, modified)
            })
            .collect()
    };
    let mut seen = stamps();
    let mut changed: Option<Vec<(PathBuf, Option<SystemTime>)>> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(WATCH_EVERY);
        let now = stamps();
        match &changed {
            Some(before) if *before == now => {
                requested.store(true, Ordering::Relaxed);
                seen = now;
                changed = None;
            }
            _ if now != seen => changed = Some(now),
            _ => changed = None,
        }
    }
}
