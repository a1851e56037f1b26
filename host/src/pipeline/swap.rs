//! Hot swap: on SIGHUP (or, with `--watch`, when the pipeline file or a
//! plugin file changes) the plan is resolved again, its plugins are loaded,
//! initialised and checked beside the running chain, and at a batch boundary
//! each worker takes its new chain. The source, its offsets and the sink go
//! on untouched, so no record is skipped or processed twice because of the
//! swap. Anything that cannot be swapped leaves the running chain as it is.

use super::{Plan, SinkPlan, Work};
use crate::data::Field;
use crate::observe::Observer;
use crate::plugin::chain::ddl;
use crate::plugin::{Chain, Plugin, Runtime};
use crate::sink::console::columns;
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

/// How a running pipeline is told to reload, and where its new plan comes from.
pub struct Reload {
    /// Set when a reload is wanted (SIGHUP, or a watched file changed).
    pub requested: Arc<AtomicBool>,
    /// Resolves the plan again (the command line, and the pipeline file re-read).
    pub plan: Box<dyn Fn() -> Result<Plan> + Send>,
    /// The plugin files of the running plan (for a watcher to watch).
    pub watched: Arc<Mutex<Vec<PathBuf>>>,
}

/// The plugin files a plan names (bundled plugins have none).
pub fn plugin_files(plan: &Plan) -> Vec<PathBuf> {
    let files = plan.plugins.iter().map(|s| PathBuf::from(&s.source));
    files.filter(|p| p.is_file()).collect()
}

/// Only the plugins (their files, config and grants) change while running.
fn unchanged(old: &Plan, new: &Plan) -> Result<()> {
    let checks = [
        (
            "the source (brokers, topics, group, starting offsets, batching, -X properties)",
            old.source != new.source,
        ),
        (
            "the sink (--sink, --output-topic, --format, --num-rows, --truncate)",
            old.sink != new.sink,
        ),
        ("--on-error or --dlq-topic", old.rejected != new.rejected),
        ("--workers", old.workers != new.workers),
        (
            "--memory-limit, --deadline-ms or the compile cache",
            old.limits != new.limits || old.cache_dir != new.cache_dir,
        ),
        (
            "--progress, --metrics-addr or --ui",
            old.observe != new.observe,
        ),
        ("--available-now", old.available_now != new.available_now),
    ];
    let changed: Vec<&str> = checks.iter().filter(|c| c.1).map(|c| c.0).collect();
    if !changed.is_empty() {
        bail!(
            "{} changed; only plugins and their config change while running: restart the host to apply that",
            changed.join(", ")
        );
    }
    Ok(())
}

/// The new plan's plugins and one chain per worker, loaded, initialised and
/// checked as `--check` checks them; the running chains are not touched.
/// `running` is the running chain's output schema.
pub(super) fn prepare(
    runtime: &Runtime,
    old: &Plan,
    new: &Plan,
    running: Option<&[Field]>,
) -> Result<(Vec<Arc<Plugin>>, Vec<Chain>)> {
    unchanged(old, new)?;
    let (plugins, chains) = super::load_chains(runtime, new)?;
    let problems = chains[0].problems();
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    if let SinkPlan::Console { .. } = new.sink {
        let (before, after) = (ddl(&columns(running)), ddl(&columns(chains[0].schema())));
        if before != after {
            bail!(
                "the console's columns would change from ({before}) to ({after}); restart the host to print the new ones"
            );
        }
    }
    Ok((plugins, chains))
}

/// The running pipeline, as a swap sees and changes it.
pub(super) struct Running<'a> {
    /// Whether the running chain keeps state (it is not swapped: its
    /// state would have to move to the new chain).
    pub(super) stateful: bool,
    pub(super) runtime: &'a Runtime,
    pub(super) plan: &'a mut Plan,
    /// The running chain's output schema.
    pub(super) schema: &'a mut Option<Vec<Field>>,
    pub(super) workers: &'a [SyncSender<Work>],
    pub(super) observer: &'a Observer,
}

impl Running<'_> {
    /// If a reload was asked for: the plan resolved again, its chains
    /// prepared and handed to the workers (each takes its own between two
    /// batches); or one error line saying why not, the running chain going on.
    pub(super) fn reload_if_asked(self, reload: &Reload) {
        if !reload.requested.swap(false, Ordering::Relaxed) {
            return;
        }
        let prepared = (reload.plan)().and_then(|new| {
            let ready = prepare(self.runtime, self.plan, &new, self.schema.as_deref())?;
            Ok((new, ready))
        });
        let prepared = prepared.and_then(|ready| {
            if self.stateful || ready.1.1[0].stateful().is_some() {
                bail!(
                    "the pipeline has a stateful plugin, whose state cannot move to a new chain while running; restart the host to change it (its state is restored from the changelog)"
                );
            }
            Ok(ready)
        });
        let (new, (plugins, chains)) = match prepared {
            Ok(ready) => ready,
            Err(e) => {
                self.observer.reload_refused();
                tracing::error!("reload refused, the running chain goes on: {e:#}");
                return;
            }
        };
        self.observer.swapped(new.describe(&plugins, &chains[0]));
        *self.schema = chains[0].schema().map(<[_]>::to_vec);
        for (worker, chain) in self.workers.iter().zip(chains) {
            // A worker that stopped has nothing left to swap.
            let _ = worker.send(Work::Swap(Box::new(chain)));
        }
        *reload.watched.lock().unwrap_or_else(|e| e.into_inner()) = plugin_files(&new);
        let names: Vec<String> = plugins
            .iter()
            .map(|p| format!("{} ({})", p.name, &p.sha256[..12]))
            .collect();
        eprintln!("Sluice: reloaded; the chain is now {}", names.join(" → "));
        *self.plan = new;
    }
}
