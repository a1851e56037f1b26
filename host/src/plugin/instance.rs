//! A live plugin instance and the rules for when it fails.
//!
//! One `Store` and instance per worker (per input partition for a stateful
//! plugin), reused across batches. A trap
//! (panic, out of memory, deadline, stack overflow) or an output that fails
//! validation kills the instance: the stage makes a new one from the
//! `InstancePre`, retries the batch once, then bisects it so that only the
//! record that traps becomes a record error and the rest go on.

use super::Limits;
use super::bindings::{
    Accepts, Batch, Field, Info, Output, PluginError, Produced, RecordError, Transform,
    generator::Generator,
    stateful::{StatefulTransform, exports::sluice::plugin::state::Watermarks},
};
use super::engine::{Plugin, Pre, World};
use super::state::{OutputTail, State};
use crate::data::{batch, bisect, validate};
use anyhow::{Result, anyhow, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Store, StoreLimitsBuilder, Trap};

/// A plugin call returned more than the host holds of one call's output.
#[derive(Debug, thiserror::Error)]
#[error(
    "plugin {plugin:?} returned {} for {records} record(s), more than the host holds of one call ({}); raise it with --max-output-bytes",
    size(*bytes),
    size(*limit)
)]
pub struct OutputTooLarge {
    /// The plugin.
    pub plugin: Arc<str>,
    /// About how many bytes its output takes in the host.
    pub bytes: usize,
    /// `--max-output-bytes`.
    pub limit: usize,
    /// Input records of the call.
    pub records: u32,
}

/// What a stage has done since it was made (its worker's instance only).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageStats {
    /// Batches given to it.
    pub batches: u64,
    /// Records given to it.
    pub records_in: u64,
    /// Records it returned.
    pub records_out: u64,
    /// Records it rejected (or trapped on).
    pub errors: u64,
    /// Calls that trapped or returned an invalid batch.
    pub traps: u64,
    /// Instances made to replace one that trapped.
    pub restarts: u64,
    /// Time spent in `process`, retries and bisection included.
    pub busy: Duration,
    /// That time for the last batch alone.
    pub last_batch: Duration,
    /// The largest linear memory of any of its instances, in bytes.
    pub memory_high_water: u64,
    /// Input rows a stateful plugin dropped as late.
    pub late_rows: u64,
}

/// The config key through which a generator receives the host's UTC offset.
pub const LOCAL_OFFSET_KEY: &str = "utc_offset";

enum Exports {
    Transform(Transform),
    Stateful(StatefulTransform),
    Generator(Generator),
}

/// The event-time clock of a stateful stage (Spark's watermark rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// The largest event time seen, µs since the Unix epoch.
    pub max_event: Option<i64>,
    /// The watermark the next batch is given: `max_event - delay`, never
    /// moving back (Spark updates it at the end of each batch).
    pub watermark: Option<i64>,
    /// The watermark the last call was given (the next call's watermark for
    /// late rows): a no-data call is due while it is behind `watermark`.
    pub given: Option<i64>,
}

/// What a stateful stage keeps outside its instance: the state as of its
/// last successful call, restored into every new instance, and its clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The plugin's last snapshot; `None` before its first call.
    pub snapshot: Option<Vec<u8>>,
    /// Its event-time clock.
    pub clock: Clock,
}

/// The largest snapshot a stateful plugin may keep: one checkpoint record
/// must fit Kafka's default record size limit (1 MB).
pub const MAX_STATE_BYTES: usize = 900 * 1024;

/// The calls both worlds share (their generated types differ per world).
impl Exports {
    fn init(
        &self,
        store: &mut Store<State>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<(), PluginError>> {
        match self {
            Exports::Transform(t) => t.sluice_plugin_plugin().call_init(store, config),
            Exports::Stateful(t) => t.sluice_plugin_plugin().call_init(store, config),
            Exports::Generator(g) => g.sluice_plugin_plugin().call_init(store, config),
        }
    }

    fn schema(&self, store: &mut Store<State>) -> wasmtime::Result<Option<Vec<Field>>> {
        match self {
            Exports::Transform(t) => t.sluice_plugin_plugin().call_schema(store),
            Exports::Stateful(t) => t.sluice_plugin_plugin().call_schema(store),
            Exports::Generator(g) => g.sluice_plugin_plugin().call_schema(store),
        }
    }

    fn about(&self, store: &mut Store<State>) -> wasmtime::Result<Info> {
        match self {
            Exports::Transform(t) => t.sluice_plugin_plugin().call_about(store),
            Exports::Stateful(t) => t.sluice_plugin_plugin().call_about(store),
            Exports::Generator(g) => g.sluice_plugin_plugin().call_about(store),
        }
    }
}

struct Live {
    store: Store<State>,
    exports: Exports,
}

/// Why a call did not return a usable result.
enum Failure {
    /// The instance is dead (trap) or returned garbage: retry, then bisect.
    Broken(String),
    /// The plugin said it cannot go on.
    Fatal(anyhow::Error),
}

/// One plugin in a chain, with its live instance.
pub struct Stage {
    plugin: Arc<Plugin>,
    live: Option<Live>,
    schema: Option<Vec<Field>>,
    info: Option<Info>,
    stats: StageStats,
    /// A stateful plugin's event-time column and watermark delay (µs).
    event_time: Option<(String, i64)>,
    /// A stateful plugin's state and clock.
    memory: Memory,
}

/// A size in KiB or MiB.
fn size(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// Why a call failed, in words: the trap (deadline, memory limit, panic, …)
/// and what the guest last wrote to stdout/stderr or logged as an error,
/// which is then forgotten.
fn trap_reason(err: &wasmtime::Error, limits: Limits, tail: &OutputTail) -> String {
    let mut reason = match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!(
            "deadline of {} ms exceeded (raise it with --deadline-ms)",
            limits.deadline.as_millis()
        ),
        Some(Trap::StackOverflow) => "stack overflow (deep recursion)".to_string(),
        Some(Trap::UnreachableCodeReached) => "panicked (wasm `unreachable`)".to_string(),
        Some(Trap::MemoryOutOfBounds) => {
            "out-of-bounds memory access (a bad pointer, or a stack overflow in the guest's shadow stack)".to_string()
        }
        Some(trap) => trap.to_string(),
        None => {
            let text = format!("{err:#}");
            if text.contains("forcing trap when growing memory") {
                format!("memory limit of {} exceeded (raise it with --memory-limit)", mib(limits.memory_bytes))
            } else {
                text
            }
        }
    };
    // The standard library's hint about RUST_BACKTRACE means nothing here.
    let output: String = tail
        .text()
        .lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect::<Vec<_>>()
        .join("\n");
    if !output.is_empty() {
        reason.push_str(": ");
        reason.push_str(&output);
    }
    tail.clear();
    reason
}

/// Gives the next call on `store` the per-batch deadline.
fn arm(store: &mut Store<State>, limits: Limits) {
    store.set_epoch_deadline(limits.deadline.as_millis().max(1) as u64);
}

impl Stage {
    /// Instantiates the plugin and calls its `init` with its config.
    pub fn new(plugin: Arc<Plugin>) -> Result<Stage> {
        let mut stage = Stage {
            plugin,
            live: None,
            schema: None,
            info: None,
            stats: StageStats::default(),
            event_time: None,
            memory: Memory::default(),
        };
        let live = stage.instantiate()?;
        stage.live = Some(live);
        Ok(stage)
    }

    /// The plugin this stage runs.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The columns the plugin declared after `init`, if any.
    pub fn schema(&self) -> Option<&[Field]> {
        self.schema.as_deref()
    }

    /// What this stage has done so far.
    pub fn stats(&self) -> StageStats {
        let mut stats = self.stats;
        if let Some(live) = &self.live {
            let memory = live.store.data().limits.memory_high_water as u64;
            stats.memory_high_water = stats.memory_high_water.max(memory);
        }
        stats
    }

    /// What values the plugin reads (from its `about`).
    pub fn accepts(&self) -> Accepts {
        self.info.as_ref().map_or(Accepts::Any, |i| i.accepts)
    }

    /// Whether the plugin's columns are computed by a select list (its
    /// config key `exprs`, as `select` has), so its schema is what it
    /// writes, not columns it expects from the plugin before it.
    pub fn computes_columns(&self) -> bool {
        self.info
            .as_ref()
            .is_some_and(|i| i.config.iter().any(|k| k.name == "exprs"))
    }

    /// Whether the plugin reads the records' key, headers, timestamp,
    /// partition or offset.
    pub fn reads_metadata(&self) -> bool {
        self.info.as_ref().is_none_or(|i| i.reads_metadata)
    }

    fn new_store(&self) -> Store<State> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.plugin.limits.memory_bytes)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            &self.plugin.engine,
            State::new(self.plugin.name.clone(), limits),
        );
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store
    }

    fn instantiate(&mut self) -> Result<Live> {
        let name = self.plugin.name.clone();
        let mut store = self.new_store();
        arm(&mut store, self.plugin.limits);
        let exports = match &self.plugin.pre {
            Pre::Transform(pre) => Exports::Transform(pre.instantiate(&mut store)?),
            Pre::Stateful(pre) => Exports::Stateful(pre.instantiate(&mut store)?),
            Pre::Generator(pre) => Exports::Generator(pre.instantiate(&mut store)?),
        };
        let mut config = self.plugin.config.clone();
        let mut offered = self.plugin.offered.clone();
        if self.plugin.world == World::Generator {
            // Generators that document `utc_offset` get the host's zone, so
            // their timestamps are local time, like Python's datetime.now().
            offered.push((
                LOCAL_OFFSET_KEY.to_string(),
                chrono::Local::now().format("%:z").to_string(),
            ));
        }
        offered.retain(|(key, _)| !config.iter().any(|(k, _)| k == key));
        arm(&mut store, self.plugin.limits);
        let info = exports.about(&mut store).map_err(|err| {
            anyhow!(
                "plugin {name:?} trapped in about: {}",
                trap_reason(&err, self.plugin.limits, &store.data().output)
            )
        })?;
        // Offered values go only to keys the plugin documents (others would be
        // rejected as unknown).
        config.extend(
            offered
                .into_iter()
                .filter(|(key, _)| info.config.iter().any(|k| &k.name == key)),
        );
        self.info = Some(info);
        arm(&mut store, self.plugin.limits);
        match exports.init(&mut store, &config) {
            Ok(Ok(())) => {}
            Ok(Err(PluginError::BadConfig(message))) => {
                bail!(
                    "plugin {name:?} rejected its config: {message} (set it with --config {name}.KEY=VALUE)"
                )
            }
            Ok(Err(PluginError::Fatal(message))) => {
                bail!("plugin {name:?} failed to start: {message}")
            }
            Err(err) => {
                bail!(
                    "plugin {name:?} trapped in init: {}",
                    trap_reason(&err, self.plugin.limits, &store.data().output)
                )
            }
        }
        arm(&mut store, self.plugin.limits);
        let schema = exports.schema(&mut store).map_err(|err| {
            anyhow!(
                "plugin {name:?} trapped in schema: {}",
                trap_reason(&err, self.plugin.limits, &store.data().output)
            )
        })?;
        self.schema = schema;
        if let Exports::Stateful(t) = &exports {
            let trapped = |err: wasmtime::Error, store: &Store<State>, call: &str| {
                anyhow!(
                    "plugin {name:?} trapped in {call}: {}",
                    trap_reason(&err, self.plugin.limits, &store.data().output)
                )
            };
            arm(&mut store, self.plugin.limits);
            let clock = t.sluice_plugin_state().call_uses_event_time(&mut store);
            let clock = clock.map_err(|e| trapped(e, &store, "uses-event-time"))?;
            self.event_time = clock.map(|c| (c.column, c.delay));
            if let Some(snapshot) = &self.memory.snapshot {
                arm(&mut store, self.plugin.limits);
                match t.sluice_plugin_state().call_restore(&mut store, snapshot) {
                    Ok(Ok(())) => {}
                    Ok(Err(PluginError::BadConfig(m) | PluginError::Fatal(m))) => {
                        bail!(
                            "plugin {name:?} could not restore its state ({} bytes): {m}",
                            snapshot.len()
                        )
                    }
                    Err(e) => return Err(trapped(e, &store, "restore")),
                }
            }
        }
        Ok(Live { store, exports })
    }

    /// The plugin's self-description (`host inspect`).
    pub fn about(&mut self) -> Result<Info> {
        let name = self.plugin.name.clone();
        let live = self
            .live
            .as_mut()
            .ok_or_else(|| anyhow!("plugin {name:?} has no live instance"))?;
        arm(&mut live.store, self.plugin.limits);
        live.exports.about(&mut live.store).map_err(|err| {
            let reason = trap_reason(&err, self.plugin.limits, &live.store.data().output);
            anyhow!("plugin {name:?} trapped in about: {reason}")
        })
    }

    /// One call of `process` on a live instance (made if needed).
    fn attempt(&mut self, input: &Batch) -> Result<Output, Failure> {
        if self.live.is_none() {
            let live = self.instantiate().map_err(Failure::Fatal)?;
            self.live = Some(live);
            self.stats.restarts += 1;
        }
        let live = self.live.as_mut().expect("made above");
        arm(&mut live.store, self.plugin.limits);
        let result = match &live.exports {
            Exports::Transform(t) => t
                .sluice_plugin_transformer()
                .call_process(&mut live.store, input),
            Exports::Stateful(t) => t
                .sluice_plugin_state()
                .call_set_watermarks(
                    &mut live.store,
                    Watermarks {
                        eviction: self.memory.clock.watermark,
                        late_events: self.memory.clock.given,
                    },
                )
                .and_then(|()| {
                    t.sluice_plugin_transformer()
                        .call_process(&mut live.store, input)
                }),
            Exports::Generator(_) => {
                return Err(Failure::Fatal(
                    self.plugin
                        .expect(World::Transform, "a chain")
                        .expect_err("a generator's exports"),
                ));
            }
        };
        match result {
            Ok(Ok(output)) => match validate::output(&output, input.len as usize) {
                Ok(()) => self.keep_state().map(|()| output),
                Err(err) => {
                    self.retire();
                    Err(Failure::Broken(format!(
                        "returned an invalid batch: {err:#}"
                    )))
                }
            },
            Ok(Err(PluginError::Fatal(message))) => Err(Failure::Fatal(anyhow!(
                "plugin {:?} stopped: {message}",
                self.plugin.name
            ))),
            Ok(Err(PluginError::BadConfig(message))) => Err(Failure::Fatal(anyhow!(
                "plugin {:?} rejected its config: {message}",
                self.plugin.name
            ))),
            Err(err) => {
                let reason = trap_reason(&err, self.plugin.limits, &live.store.data().output);
                self.retire();
                Err(Failure::Broken(reason))
            }
        }
    }

    /// After a successful call of a stateful plugin: its snapshot becomes
    /// the state a new instance restores.
    fn keep_state(&mut self) -> Result<(), Failure> {
        let name = self.plugin.name.clone();
        let Some(Live {
            store,
            exports: Exports::Stateful(t),
        }) = self.live.as_mut()
        else {
            return Ok(());
        };
        arm(store, self.plugin.limits);
        // What the call dropped as late: reported only (a trap here is caught below).
        if let Ok(late) = t.sluice_plugin_state().call_late_rows(&mut *store) {
            self.stats.late_rows += late;
        }
        arm(store, self.plugin.limits);
        match t.sluice_plugin_state().call_snapshot(&mut *store) {
            Ok(bytes) if bytes.len() > MAX_STATE_BYTES => Err(Failure::Fatal(anyhow!(
                "plugin {name:?} keeps {} of state for one partition, more than a checkpoint holds ({}); bound its state (fewer groups, a shorter window or watermark delay)",
                size(bytes.len()),
                size(MAX_STATE_BYTES)
            ))),
            Ok(bytes) => {
                self.memory.snapshot = Some(bytes);
                Ok(())
            }
            Err(err) => {
                let reason = trap_reason(&err, self.plugin.limits, &store.data().output);
                self.retire();
                Err(Failure::Broken(format!("trapped in snapshot: {reason}")))
            }
        }
    }

    /// Whether the plugin keeps state (see [`Memory`]).
    pub fn stateful(&self) -> bool {
        self.plugin.stateful()
    }

    /// A stateful stage's state and clock.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Gives a stateful stage the state and clock of a checkpoint; its
    /// instance is replaced by one restored from it.
    pub fn set_memory(&mut self, memory: Memory) -> Result<()> {
        self.memory = memory;
        self.live = None;
        let live = self.instantiate()?;
        self.live = Some(live);
        Ok(())
    }

    /// The stage's event-time column, if it has one.
    pub fn event_time(&self) -> Option<&str> {
        self.event_time.as_ref().map(|(c, _)| c.as_str())
    }

    /// Whether a no-data call is due: the watermark moved since the last call.
    pub fn due(&self) -> bool {
        let clock = self.memory.clock;
        clock.watermark.is_some() && clock.watermark != clock.given
    }

    /// Moves the clock after a batch `input` was processed: the largest
    /// event time in it, and the watermark for the next batch.
    fn advance(&mut self, input: &Batch) -> Result<()> {
        let Some((column, delay)) = &self.event_time else {
            return Ok(());
        };
        let clock = &mut self.memory.clock;
        clock.given = clock.watermark;
        if input.len == 0 {
            return Ok(());
        }
        let latest = crate::data::rows::max_timestamp(input.rows.as_ref(), column)
            .map_err(|e| anyhow!("plugin {:?}'s event time: {e}", self.plugin.name))?;
        if let Some(latest) = latest {
            clock.max_event = Some(clock.max_event.map_or(latest, |m| m.max(latest)));
            let next = latest.saturating_sub(*delay);
            clock.watermark = Some(clock.watermark.map_or(next, |w| w.max(next)));
        }
        Ok(())
    }

    /// Drops the live instance after a failed call (the next call makes a
    /// new one), keeping its memory high-water mark.
    fn retire(&mut self) {
        self.stats.traps += 1;
        if let Some(live) = self.live.take() {
            let memory = live.store.data().limits.memory_high_water as u64;
            self.stats.memory_high_water = self.stats.memory_high_water.max(memory);
        }
    }

    /// Runs a batch through the plugin. Per-record failures (including a
    /// record that traps the plugin, or one whose output is more than the host
    /// holds) come back as record errors; [`OutputTooLarge`] means "split the
    /// batch"; any other `Err` means the pipeline must stop.
    pub fn process(&mut self, input: &Batch) -> Result<Output> {
        let started = Instant::now();
        let output = self.run(input);
        if output.is_ok() && self.stateful() {
            self.advance(input)?;
        }
        let took = started.elapsed();
        let stats = &mut self.stats;
        stats.batches += 1;
        stats.records_in += u64::from(input.len);
        stats.busy += took;
        stats.last_batch = took;
        if let Ok(out) = &output {
            stats.records_out += match &out.produced {
                Produced::Selection(rows) => rows.len() as u64,
                Produced::Batch(b) => u64::from(b.len),
            };
            stats.errors += out.errors.len() as u64;
        }
        self.bounded(input, output?)
    }

    /// `output` if the host may hold it (`Limits::output_bytes`); for more
    /// than one input record, [`OutputTooLarge`] (the caller splits the
    /// batch); for one record, that record rejected.
    fn bounded(&self, input: &Batch, output: Output) -> Result<Output> {
        let Produced::Batch(made) = &output.produced else {
            return Ok(output);
        };
        let (bytes, limit) = (batch::footprint(made), self.plugin.limits.output_bytes);
        if bytes <= limit {
            return Ok(output);
        }
        let too_large = OutputTooLarge {
            plugin: self.plugin.name.clone(),
            bytes,
            limit,
            records: input.len,
        };
        if input.len > 1 {
            return Err(too_large.into());
        }
        Ok(Output {
            produced: Produced::Selection(Vec::new()),
            errors: vec![RecordError {
                input: 0,
                message: too_large.to_string(),
            }],
        })
    }

    fn run(&mut self, input: &Batch) -> Result<Output> {
        match self.attempt(input) {
            Ok(output) => Ok(output),
            Err(Failure::Fatal(err)) => Err(err),
            Err(Failure::Broken(reason)) => {
                tracing::warn!(
                    plugin = &*self.plugin.name,
                    records = input.len,
                    "plugin failed on a batch, retrying: {}",
                    reason.replace('\n', "\\n")
                );
                let mut parts = Vec::new();
                self.bisect(input, 0..input.len as usize, &mut parts)?;
                bisect::merge(parts).map_err(|e| anyhow!("plugin {:?}: {e:#}", self.plugin.name))
            }
        }
    }

    fn bisect(
        &mut self,
        input: &Batch,
        range: std::ops::Range<usize>,
        parts: &mut Vec<(u32, Batch, Output)>,
    ) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let part = bisect::slice(input, range.clone());
        match self.attempt(&part) {
            Ok(output) => {
                parts.push((range.start as u32, part, output));
                // Held together, the parts' outputs are bounded as one output is.
                let held: usize = parts
                    .iter()
                    .map(|(_, _, o)| match &o.produced {
                        Produced::Batch(b) => batch::footprint(b),
                        Produced::Selection(_) => 0,
                    })
                    .sum();
                let limit = self.plugin.limits.output_bytes;
                if held > limit && input.len > 1 {
                    return Err(OutputTooLarge {
                        plugin: self.plugin.name.clone(),
                        bytes: held,
                        limit,
                        records: input.len,
                    }
                    .into());
                }
                Ok(())
            }
            Err(Failure::Fatal(err)) => Err(err),
            Err(Failure::Broken(reason)) if range.len() == 1 => {
                let failed = Output {
                    produced: Produced::Selection(Vec::new()),
                    errors: vec![RecordError {
                        input: 0,
                        message: format!("plugin {:?} trapped: {reason}", self.plugin.name),
                    }],
                };
                parts.push((range.start as u32, part, failed));
                Ok(())
            }
            Err(Failure::Broken(_)) => {
                let mid = range.start + range.len() / 2;
                self.bisect(input, range.start..mid, parts)?;
                self.bisect(input, mid..range.end, parts)
            }
        }
    }

    /// Asks a generator for at most `max` records; `None` when exhausted.
    pub fn next_batch(&mut self, max: u32) -> Result<Option<Batch>> {
        self.plugin.expect(World::Generator, "a source")?;
        let name = self.plugin.name.clone();
        let live = self
            .live
            .as_mut()
            .ok_or_else(|| anyhow!("plugin {name:?} has no live instance"))?;
        arm(&mut live.store, self.plugin.limits);
        let Exports::Generator(g) = &live.exports else {
            unreachable!("world checked above")
        };
        match g
            .sluice_plugin_producer()
            .call_next_batch(&mut live.store, max)
        {
            Ok(Ok(Some(batch))) => {
                validate::batch(&batch, None)
                    .map_err(|e| anyhow!("plugin {name:?} returned an invalid batch: {e:#}"))?;
                Ok(Some(batch))
            }
            Ok(Ok(None)) => Ok(None),
            Ok(Err(PluginError::Fatal(m) | PluginError::BadConfig(m))) => {
                bail!("plugin {name:?} stopped: {m}")
            }
            Err(err) => {
                let reason = trap_reason(&err, self.plugin.limits, &live.store.data().output);
                self.live = None;
                bail!("plugin {name:?} trapped: {reason}")
            }
        }
    }
}
