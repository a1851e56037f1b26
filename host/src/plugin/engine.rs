//! The one wasmtime `Engine` of a host process, and loading plugins into it.

use super::bindings::{TransformPre, generator::GeneratorPre, stateful::StatefulTransformPre};
use super::cache::{self, CacheStatus};
use super::capabilities::{self, Grant, Import};
use super::state::State;
use super::{Limits, bundled};
use anyhow::{Context, Result, anyhow, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Which world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// Maps batches to batches.
    Transform,
    /// Produces batches.
    Generator,
}

impl World {
    /// The world's name in the WIT.
    pub fn name(self) -> &'static str {
        match self {
            World::Transform => "transform",
            World::Generator => "generator",
        }
    }
}

/// How a plugin is asked for: a path or a bundled name, its config, grants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginSpec {
    /// What the user typed after `--plugin`.
    pub source: String,
    /// `key=value` pairs for its `init`.
    pub config: Vec<(String, String)>,
    /// Values the host offers for keys the plugin documents and `config` leaves unset
    /// (e.g. `host generate --count` as a generator's `count`).
    pub offered: Vec<(String, String)>,
    /// Capabilities granted beyond the default sandbox.
    pub grants: BTreeSet<Grant>,
}

impl PluginSpec {
    /// The plugin's name: the file stem of its path or bundled name
    /// (`./build/parse_stock.wasm` → `parse_stock`), used in `--config NAME.key`.
    pub fn name(&self) -> String {
        let file = Path::new(&self.source)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let file = file.unwrap_or_else(|| self.source.clone());
        file.strip_suffix(".wasm").unwrap_or(&file).to_string()
    }
}

pub(crate) enum Pre {
    Transform(TransformPre<State>),
    Stateful(StatefulTransformPre<State>),
    Generator(GeneratorPre<State>),
}

/// A plugin compiled, checked and linked: instances are cheap to make from it.
pub struct Plugin {
    /// Its name (see [`PluginSpec::name`]).
    pub name: Arc<str>,
    /// Where it came from: a path, or `bundled`.
    pub origin: String,
    /// Its world.
    pub world: World,
    /// Its component imports.
    pub imports: Vec<Import>,
    /// The capabilities it was given beyond the default sandbox.
    pub grants: BTreeSet<Grant>,
    /// Size of the component in bytes.
    pub size: usize,
    /// Hex SHA-256 of the component.
    pub sha256: String,
    /// Whether the compiled code came from the cache.
    pub cache: CacheStatus,
    /// The config given to `init`.
    pub config: Vec<(String, String)>,
    /// See [`PluginSpec::offered`].
    pub(crate) offered: Vec<(String, String)>,
    pub(crate) pre: Pre,
    pub(crate) engine: Engine,
    pub(crate) limits: Limits,
}

impl Plugin {
    /// Whether it keeps state between batches (the `stateful-transform`
    /// world): the host runs one instance per input partition and
    /// checkpoints its state.
    pub fn stateful(&self) -> bool {
        matches!(self.pre, Pre::Stateful(_))
    }

    /// The name of its world in the WIT (`stateful-transform` for a
    /// stateful transform).
    pub fn world_name(&self) -> &'static str {
        match self.world {
            World::Transform if self.stateful() => "stateful-transform",
            world => world.name(),
        }
    }

    /// The one message for a plugin of the wrong world: an error unless it
    /// is of `world`, naming what `role` (e.g. "`host run`") takes and the fix.
    pub fn expect(&self, world: World, role: &str) -> Result<()> {
        match (self.world, world) {
            (found, wanted) if found == wanted => Ok(()),
            (World::Generator, _) => bail!(
                "plugin {:?} is a generator; {role} takes transforms (use `host generate` or the first `host test --plugin` for generators)",
                self.name
            ),
            (World::Transform, _) => bail!(
                "plugin {:?} is a transform; {role} takes a generator such as stock_generator",
                self.name
            ),
        }
    }
}

/// Increments the engine's epoch every millisecond, so a per-call deadline
/// of N ms interrupts a guest within about N ms.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The plugin runtime of one host process: an engine with the pooling
/// allocator and epoch interruption, the linker with what plugins may import,
/// and the compile cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<State>,
    cache_dir: Option<PathBuf>,
    limits: Limits,
    _ticker: Ticker,
}

impl Runtime {
    /// A runtime whose plugins get `limits`; `cache_dir: None` disables the
    /// compile cache.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> Result<Runtime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // `SLUICE_PROFILE=perfmap` names the plugins' compiled functions for
        // `perf record` (in /tmp/perf-PID.map).
        if std::env::var_os("SLUICE_PROFILE").is_some_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let mut pool = PoolingAllocationConfig::default();
        pool.max_memory_size(limits.memory_bytes)
            .total_component_instances(256)
            .total_core_instances(2048)
            .total_memories(512)
            .total_tables(1024)
            .total_stacks(256);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine =
            Engine::new(&config).map_err(|e| anyhow!("starting the WebAssembly engine: {e:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        super::bindings::Transform::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        let ticker = Ticker::start(engine.clone());
        Ok(Runtime {
            engine,
            linker,
            cache_dir,
            limits,
            _ticker: ticker,
        })
    }

    /// The limits every plugin of this runtime gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Reads a plugin (file or bundled) and compiles it (or loads it from
    /// the cache), checking nothing more than that it is a component.
    fn compile(&self, spec: &PluginSpec) -> Result<Compiled> {
        let (bytes, origin) = read_source(&spec.source)?;
        check_header(&spec.source, &bytes)?;
        check_initial_memory(&spec.source, &bytes, self.limits.memory_bytes)?;
        let sha256 = cache::content_hash(&bytes);
        let (component, cache) =
            cache::load(&self.engine, self.cache_dir.as_deref(), &bytes, &sha256)
                .map_err(|e| anyhow!("plugin {:?} is not a valid component: {e:#}", spec.source))?;
        let imports: Vec<Import> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, item)| Import {
                name: name.to_string(),
                functions: match item.ty {
                    ComponentItem::ComponentInstance(instance) => instance
                        .exports(&self.engine)
                        .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                        .map(|(f, _)| f.to_string())
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect();
        Ok(Compiled {
            component,
            size: bytes.len(),
            origin,
            sha256,
            cache,
            imports,
        })
    }

    /// What a plugin imports, even one that [`Runtime::load`] refuses
    /// (`host inspect` shows them beside the refusal).
    pub fn imports(&self, spec: &PluginSpec) -> Result<Vec<Import>> {
        Ok(self.compile(spec)?.imports)
    }

    /// Loads every plugin of `specs`, in order (the first failure is the error).
    pub fn load_all(&self, specs: &[PluginSpec]) -> Result<Vec<Arc<Plugin>>> {
        specs.iter().map(|s| self.load(s).map(Arc::new)).collect()
    }

    /// Loads a plugin: reads it (file or bundled), compiles it (or loads it
    /// from the cache), checks its world and imports, and links it.
    pub fn load(&self, spec: &PluginSpec) -> Result<Plugin> {
        let name: Arc<str> = spec.name().into();
        let Compiled {
            component,
            size,
            origin,
            sha256,
            cache,
            imports,
        } = self.compile(spec)?;
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        // A plugin built against another version of the contract.
        let ours = super::bindings::CONTRACT
            .split('@')
            .nth(1)
            .unwrap_or_default();
        if let Some(theirs) = exports.iter().find_map(|e| {
            let (iface, version) = e.split_once('@')?;
            (iface.starts_with("sluice:plugin/") && version != ours).then_some(version)
        }) {
            bail!(
                "plugin {:?} was built for sluice:plugin@{theirs}, but this host speaks {}; rebuild it with the {ours} SDK (sluice-sdk from this release)",
                spec.source,
                super::bindings::CONTRACT
            );
        }
        let exported = |iface: &str| exports.iter().any(|e| e.split('@').next() == Some(iface));
        let world = if exported("sluice:plugin/transformer") {
            World::Transform
        } else if exported("sluice:plugin/producer") {
            World::Generator
        } else {
            bail!(
                "plugin {:?} is a component but not a Sluice plugin: it exports {} instead of sluice:plugin/transformer or sluice:plugin/producer; build it on sluice-sdk with export_transform! or export_generator!",
                spec.source,
                if exports.is_empty() {
                    "nothing".to_string()
                } else {
                    exports.join(", ")
                }
            );
        };
        let mut grants = spec.grants.clone();
        if world == World::Generator {
            grants.extend([Grant::Clocks, Grant::Random]);
        }
        capabilities::check(&name, &imports, &grants)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("plugin {:?} cannot be linked: {e:#}", spec.source))?;
        let pre = match world {
            World::Transform if exported("sluice:plugin/state") => {
                Pre::Stateful(StatefulTransformPre::new(pre).map_err(|e| {
                    anyhow!(
                        "plugin {:?} does not match the stateful-transform world of this host: {e:#}",
                        spec.source
                    )
                })?)
            }
            World::Transform => Pre::Transform(TransformPre::new(pre).map_err(|e| {
                anyhow!(
                    "plugin {:?} does not match the transform world of this host: {e:#}",
                    spec.source
                )
            })?),
            World::Generator => Pre::Generator(GeneratorPre::new(pre).map_err(|e| {
                anyhow!(
                    "plugin {:?} does not match the generator world of this host: {e:#}",
                    spec.source
                )
            })?),
        };
        Ok(Plugin {
            name,
            origin,
            world,
            imports,
            grants,
            size,
            sha256,
            cache,
            config: spec.config.clone(),
            offered: spec.offered.clone(),
            pre,
            engine: self.engine.clone(),
            limits: self.limits,
        })
    }
}

/// A compiled component and what is known of it before any check.
struct Compiled {
    component: wasmtime::component::Component,
    size: usize,
    origin: String,
    sha256: String,
    cache: CacheStatus,
    imports: Vec<Import>,
}

fn read_source(source: &str) -> Result<(Vec<u8>, String)> {
    let path = Path::new(source);
    if path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read plugin {source:?}"))?;
        return Ok((bytes, path.display().to_string()));
    }
    if let Some(bytes) = bundled::find(source) {
        return Ok((bytes.to_vec(), "bundled".to_string()));
    }
    if path.exists() {
        bail!("plugin {source:?} is a directory, not a .wasm file");
    }
    bail!(
        "plugin {source:?} not found: no such file, and no bundled plugin of that name (bundled: {}); give the path to a .wasm component",
        bundled::names()
    )
}

fn check_header(source: &str, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        bail!(
            "plugin {source:?} is not a WebAssembly file (it does not start with \\0asm); build the plugin with `cargo build --release --target wasm32-wasip2`"
        );
    }
    if bytes[6..8] == [0, 0] {
        bail!(
            "plugin {source:?} is a core WebAssembly module, not a component; build it with `cargo build --release --target wasm32-wasip2` (not wasm32-unknown-unknown or wasm32-wasip1)"
        );
    }
    Ok(())
}

/// The largest initial linear memory of any module inside a component, in
/// bytes (`None` if it cannot be read: compiling it will say why).
fn initial_memory(bytes: &[u8]) -> Option<u64> {
    let mut most = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::MemorySection(memories) = payload.ok()? {
            for memory in memories {
                let memory = memory.ok()?;
                let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                most = most.max(memory.initial.saturating_mul(page));
            }
        }
    }
    Some(most)
}

/// A plugin whose memory at start exceeds `--memory-limit` (a Python plugin
/// starts with about 13 MiB) is refused before compiling, saying what to set.
fn check_initial_memory(source: &str, bytes: &[u8], limit: usize) -> Result<()> {
    let Some(need) = initial_memory(bytes).filter(|need| *need > limit as u64) else {
        return Ok(());
    };
    // Room to work on a batch beyond what it starts with.
    let suggested = need.div_ceil(1 << 20) + 16;
    let default = super::Limits::default().memory_bytes as u64;
    bail!(
        "plugin {source:?} needs {:.1} MiB of memory at start, more than --memory-limit allows ({} MiB); raise it to --memory-limit {suggested}MiB or more{}",
        need as f64 / f64::from(1 << 20),
        limit >> 20,
        if suggested << 20 <= default {
            " (the default, 64MiB, admits it)"
        } else {
            ""
        }
    )
}
