//! The command line: every subcommand's flags, and parsing of the values
//! they share (plugin config pairs, grants, sizes); `pipeline_file` turns a
//! `--pipeline` TOML file into flags.

pub mod pipeline_file;

use crate::observe::{ObservePlan, ProgressTo};
use crate::plugin::capabilities::Grant;
use crate::plugin::{Limits, PluginSpec};
use crate::source::kafka::StartingOffsets;
use anyhow::{Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// `host --version`: the host's version and the plugin contract it speaks.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (plugin contract ",
    env!("SLUICE_WIT_PACKAGE"),
    ")"
);

/// Sluice: stream records through sandboxed WebAssembly plugins.
#[derive(Parser, Debug)]
#[command(name = "host", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run records from a file or stdin (one value per line) through plugins, no broker needed.
    Test(TestArgs),
    /// Show a plugin's world, schema, config keys, capabilities, size and hash.
    Inspect(InspectArgs),
    /// Consume a Kafka topic through plugins to the console (Spark's console sink format).
    Run(Box<RunArgs>),
    /// Produce records from a generator plugin to a Kafka topic.
    Generate(GenerateArgs),
    /// The tutorial end to end with no broker to install: stock_generator into an in-process
    /// Kafka cluster, parse_stock and schema_filter out of it to the console.
    Demo(DemoArgs),
    /// Write a new plugin crate (Rust, on the guest SDK) with a test input, ready to build.
    New(NewArgs),
}

/// What `host new` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// Keeps or drops each record.
    Filter,
    /// One output per record.
    Map,
    /// Zero, one or many outputs per record.
    FlatMap,
    /// A source of records.
    Generator,
}

/// What `host new` writes it in.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginLang {
    /// A crate on the Rust SDK (plugins/sdk), built with cargo.
    Rust,
    /// A module on the Python SDK, built with componentize-py (filters, maps, flat-maps).
    Python,
    /// A module on the JavaScript SDK, built with componentize-js (filters, maps, flat-maps).
    Js,
}

/// `host new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The plugin's name (lowercase, digits, `_`): the crate, `NAME.wasm`, the `--config` prefix.
    pub name: String,
    /// What kind of plugin.
    #[arg(long, value_enum, default_value = "filter")]
    pub kind: PluginKind,
    /// The language it is written in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: PluginLang,
    /// Where to write it [default: ./NAME].
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// The Rust guest SDK (plugins/sdk of a Sluice checkout) [default: the one this host was built from].
    #[arg(long, value_name = "DIR")]
    pub sdk: Option<PathBuf>,
}

pub use crate::pipeline::OnError;
pub use crate::sink::console::RunFormat;

/// How far `--check` goes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMode {
    /// Plugins, config, schemas and options; no broker is contacted.
    Offline,
    /// Also the brokers and that the topics exist.
    Online,
}

/// Where `host run` sends the chain's output.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// Print it (`--format`).
    Console,
    /// Produce it to `--output-topic`.
    Kafka,
}

/// Where `--ui` serves the live page by default: Spark's UI port, on loopback.
pub const DEFAULT_UI: &str = "127.0.0.1:4040";

/// `host run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A transform plugin (path or bundled name); repeat to chain. Without one, records are
    /// copied unchanged (a mirror, or a raw view of a topic on the console).
    #[arg(long = "plugin", short = 'p', value_name = "PLUGIN")]
    pub plugins: Vec<String>,
    /// Check everything and exit instead of running: load and configure every plugin, check
    /// the options, print the resolved pipeline. `--check=online` also asks the brokers.
    #[arg(long, value_enum, value_name = "WHERE", num_args = 0..=1, require_equals = true, default_missing_value = "offline")]
    pub check: Option<CheckMode>,
    /// Settings from a TOML file (the same names as these flags); flags given here override it.
    #[arg(long, value_name = "FILE.toml")]
    pub pipeline: Option<PathBuf>,
    /// Topics to consume (comma-separated).
    #[arg(long, default_value = "stock_json_topic_spark", value_delimiter = ',')]
    pub topic: Vec<String>,
    /// Consume every topic whose name matches this regular expression (Spark's subscribePattern).
    #[arg(long, value_name = "REGEX", conflicts_with = "topic")]
    pub topic_pattern: Option<String>,
    /// Consumer group [default: sluice-<first plugin>].
    #[arg(long)]
    pub group: Option<String>,
    /// This member's static id in the group (Kafka's group.instance.id): restarted with the
    /// same id, it gets its partitions back at once instead of after the broker notices the old
    /// one is gone. Give each member its own (e.g. a StatefulSet's pod name).
    #[arg(long, value_name = "ID", env = "SLUICE_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Where a new group starts: earliest, latest, or Spark's JSON, e.g. {"t":{"0":-2,"1":42}}
    /// (-2 = earliest, -1 = latest). A restart resumes from the group's committed offsets.
    #[arg(long, value_name = "OFFSETS", default_value = "latest", value_parser = parse_starting_offsets)]
    pub starting_offsets: StartingOffsets,
    /// Most records per micro-batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_records_per_batch: u32,
    /// After a micro-batch's first record, how long to wait for more, in milliseconds.
    /// 0 (the default) processes what has arrived at once, as Spark's default trigger does.
    #[arg(long, default_value_t = 0)]
    pub batch_linger_ms: u64,
    /// Process what the topics hold now, commit, and exit (Spark's availableNow trigger).
    #[arg(long)]
    pub available_now: bool,
    /// With --available-now: how long to wait for a first assignment, or for partitions
    /// another member holds while the group's commits on them stand still, before exiting 2
    /// naming them.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 120,
        requires = "available_now"
    )]
    pub available_now_timeout_s: u64,
    /// Threads running the plugin chain, each with its own plugin instances; a partition is
    /// always handled by one of them, in order [default: 1 for the console sink, else one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: Option<u32>,
    /// Where outputs go.
    #[arg(long, value_enum, default_value = "console")]
    pub sink: SinkKind,
    /// The topic `--sink kafka` writes to (a plugin may route a record elsewhere).
    #[arg(long, value_name = "TOPIC")]
    pub output_topic: Option<String>,
    /// Topics a plugin may send a record to besides --output-topic (comma-separated). A record
    /// routed anywhere else, or to a Kafka-internal topic (`__*`), is a rejected record.
    #[arg(long, value_name = "TOPIC", value_delimiter = ',')]
    pub route_topics: Vec<String>,
    /// With --sink kafka: each record's key is this output column's value (Spark's
    /// `CAST(col AS STRING) AS key`), so records with the same value share a partition: the
    /// repartition a stateful stage reading the topic needs (see docs/state.md).
    #[arg(long, value_name = "COLUMN")]
    pub key_by: Option<String>,
    /// Dead-letter topic for records a plugin rejects: the original record plus `sluice.*` headers.
    #[arg(long, value_name = "TOPIC")]
    pub dlq_topic: Option<String>,
    /// What a rejected record does [default: dlq with --dlq-topic, else fail].
    #[arg(long, value_enum)]
    pub on_error: Option<OnError>,
    /// Create missing topics (one partition each) instead of failing.
    #[arg(long)]
    pub create_topics: bool,
    /// Write Spark's progress report (StreamingQueryProgress JSON) of every micro-batch to
    /// FILE, one line each (appended); `-` writes them to stderr.
    #[arg(long, value_name = "FILE")]
    pub progress: Option<String>,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (OpenMetrics text).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Serve the live page (and /metrics, /api/progress) at http://HOST:PORT/; without a
    /// value, at 127.0.0.1:4040 or the next free port, as Spark's UI.
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = DEFAULT_UI)]
    pub ui: Option<String>,
    /// Swap in the new chain when the pipeline file or a plugin file changes (as on SIGHUP):
    /// loaded and checked beside the running one, taken over between two batches.
    #[arg(long)]
    pub watch: bool,
    /// Console output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: RunFormat,
    /// How tables are shown.
    #[command(flatten)]
    pub table: TableArgs,
    /// Broker connection.
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Shared plugin flags.
    #[command(flatten)]
    pub runtime: PluginArgs,
}

impl RunArgs {
    /// `--progress`, `--metrics-addr` and `--ui`.
    pub fn observe(&self) -> ObservePlan {
        ObservePlan {
            progress: self.progress.as_deref().map(|p| match p {
                "-" => ProgressTo::Stderr,
                file => ProgressTo::File(PathBuf::from(file)),
            }),
            metrics_addr: self.metrics_addr.clone(),
            ui_addr: self.ui.clone(),
            ui_next_free_port: self.ui.as_deref() == Some(DEFAULT_UI),
        }
    }

    /// `--group`, or `sluice-<first plugin's name>` (the name `--config` uses), or
    /// `sluice-passthrough` without a plugin.
    pub fn group(&self) -> String {
        self.group.clone().unwrap_or_else(|| {
            let first = self.plugins.first().map_or_else(
                || "passthrough".to_string(),
                |source| {
                    PluginSpec {
                        source: source.clone(),
                        ..Default::default()
                    }
                    .name()
                },
            );
            format!("sluice-{first}")
        })
    }
}

/// `host generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The generator plugin (path or bundled name).
    #[arg(long = "plugin", short = 'p', value_name = "PLUGIN")]
    pub plugin: String,
    /// Topic to produce to.
    #[arg(long, default_value = "stock_json_topic_spark")]
    pub topic: String,
    /// Records per second (the tutorial sends one a second); 0 is as fast as possible.
    #[arg(long, default_value_t = 1.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Records to produce.
    #[arg(long, default_value_t = 20000)]
    pub count: u64,
    /// Print `Data is sent: {…}` for every record, as the tutorial's producer does.
    #[arg(long)]
    pub verbose: bool,
    /// Create the topic (one partition) when it does not exist.
    #[arg(long)]
    pub create_topics: bool,
    /// Check everything and exit instead of running: load and configure every plugin, check
    /// the options, print the resolved pipeline. `--check=online` also asks the brokers.
    #[arg(long, value_enum, value_name = "WHERE", num_args = 0..=1, require_equals = true, default_missing_value = "offline")]
    pub check: Option<CheckMode>,
    /// Broker connection.
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Shared plugin flags.
    #[command(flatten)]
    pub runtime: PluginArgs,
}

/// `host demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Stop after this many records [default: run until Ctrl-C].
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Records generated per second (the tutorial sends one a second); 0 is as fast as possible.
    #[arg(long, default_value_t = 1.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Where the live page is served (Spark's UI port; the next free one when it is busy).
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_UI)]
    pub ui: String,
    /// Do not serve the live page.
    #[arg(long)]
    pub no_ui: bool,
    /// How tables are shown.
    #[command(flatten)]
    pub table: TableArgs,
    /// Shared plugin flags (e.g. --config "schema_filter.where=price > 50").
    #[command(flatten)]
    pub runtime: PluginArgs,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| format!("{text:?} is not a rate; give records per second, e.g. 1 or 2.5, or 0 for as fast as possible"))
}

fn parse_starting_offsets(text: &str) -> Result<StartingOffsets, String> {
    text.parse()
}

/// How Spark-style tables are shown (`host test -f table`, `host run`).
#[derive(Args, Debug, Clone)]
pub struct TableArgs {
    /// Rows shown per table.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub num_rows: usize,
    /// Truncate table cells longer than 20 characters, as Spark does.
    #[arg(long, value_name = "BOOL", default_value = "true", action = clap::ArgAction::Set)]
    pub truncate: bool,
}

impl TableArgs {
    /// The console sink's table settings.
    pub fn style(&self) -> crate::sink::console::TableStyle {
        crate::sink::console::TableStyle {
            num_rows: self.num_rows,
            truncate: self.truncate,
        }
    }
}

/// How to reach Kafka (`host run`, `host generate`).
#[derive(Args, Debug, Clone)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "localhost:19092", env = "SLUICE_BROKERS")]
    pub brokers: String,
    /// A librdkafka property, as KEY=VALUE (SASL, SSL, …); repeatable.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

impl KafkaArgs {
    /// The `-X key=value` entries, parsed.
    pub fn properties(&self) -> Result<Vec<(String, String)>> {
        self.properties
            .iter()
            .map(|e| {
                e.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                    .ok_or_else(|| {
                        anyhow!("-X {e:?}: expected KEY=VALUE, e.g. -X security.protocol=SASL_SSL")
                    })
            })
            .collect()
    }
}

/// Output formats of `host test`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFormat {
    /// One line per output record (the value itself when it is JSON).
    Json,
    /// Spark's console table (`Dataset.show`).
    Table,
    /// Spark's `printSchema` tree of the chain's output.
    Schema,
    /// Spark's console sink, as `host run` prints: the `printSchema` tree,
    /// then a `Batch: N` table per --batch-size records (a stateful chain's
    /// windows depend on where batches end), and a last no-data batch
    /// when the watermark moved.
    Console,
}

/// Flags shared by every command that runs plugins.
#[derive(Args, Debug, Clone)]
pub struct PluginArgs {
    /// Plugin config, as PLUGIN.KEY=VALUE (PLUGIN is the file name without .wasm); repeatable.
    #[arg(long = "config", value_name = "PLUGIN.KEY=VALUE")]
    pub config: Vec<String>,
    /// Give a plugin clocks or randomness, as PLUGIN=clocks[,random]; repeatable.
    #[arg(long = "grant", value_name = "PLUGIN=CAPS")]
    pub grant: Vec<String>,
    /// Memory limit per plugin instance (e.g. 64MiB, 1GiB, 1048576).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub memory_limit: usize,
    /// The most the host holds of one plugin call's output (e.g. 64MiB): a batch whose output
    /// is larger is processed in smaller parts, and one record's larger output is rejected.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_output_bytes: usize,
    /// Time limit for one plugin call (one batch), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub deadline_ms: u64,
    /// Where compiled plugins are cached [default: $SLUICE_CACHE_DIR or ~/.cache/sluice].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile plugins every time instead of using the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// `host test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// A plugin: a path to a .wasm component, or a bundled name (parse_stock, schema_filter, select, window_agg, stock_generator); repeat to chain.
    #[arg(long = "plugin", short = 'p', value_name = "PLUGIN", required = true)]
    pub plugins: Vec<String>,
    /// Input file with one record value per line; `-` is stdin. Not used when the first plugin is a generator.
    #[arg(long, short = 'i', value_name = "FILE", default_value = "-")]
    pub input: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "json")]
    pub format: TestFormat,
    /// Records per plugin call.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
    /// Exit with an error when any record was rejected (a record error or a trap).
    #[arg(long)]
    pub fail_on_error: bool,
    /// How tables are shown.
    #[command(flatten)]
    pub table: TableArgs,
    /// Shared plugin flags.
    #[command(flatten)]
    pub runtime: PluginArgs,
}

/// `host inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A path to a .wasm component, or a bundled plugin name.
    #[arg(value_name = "PLUGIN")]
    pub plugin: String,
    /// Shared plugin flags.
    #[command(flatten)]
    pub runtime: PluginArgs,
}

/// Parses `64MiB`, `1GiB`, `512KiB`, `100MB`, or a number of bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size; write e.g. 64MiB or 1GiB"))?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {text:?}; use KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(scale)
        .filter(|b| *b >= 1 << 20)
        .ok_or_else(|| format!("{text:?}: give at least 1MiB"))
}

impl PluginArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory_limit,
            deadline: Duration::from_millis(self.deadline_ms.max(1)),
            output_bytes: self.max_output_bytes,
        }
    }

    /// The cache directory in force, if any.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(crate::plugin::cache::default_dir)
        }
    }

    /// One spec per `--plugin`, with the `--config` and `--grant` entries
    /// that name it. An entry naming no plugin of the pipeline is an error.
    pub fn specs(&self, sources: &[String]) -> Result<Vec<PluginSpec>> {
        let mut specs: Vec<PluginSpec> = sources
            .iter()
            .map(|s| PluginSpec {
                source: s.clone(),
                ..Default::default()
            })
            .collect();
        let names: Vec<String> = specs.iter().map(PluginSpec::name).collect();
        let owner = |entry: &str, sep: char| -> Result<usize> {
            let found = names.iter().enumerate().filter(|(_, n)| {
                entry
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| rest.starts_with(sep))
            });
            // Prefer the longest name (`a.b` over `a` for `a.b.key=1`).
            found
                .max_by_key(|(_, n)| n.len())
                .map(|(i, _)| i)
                .ok_or_else(|| {
                    let prefix = entry.split(sep).next().unwrap_or(entry);
                    anyhow!(
                        "no plugin named {prefix:?} in this pipeline (plugins: {})",
                        names.join(", ")
                    )
                })
        };
        for entry in &self.config {
            if !entry.contains('=') || !entry.contains('.') {
                bail!("--config {entry:?}: expected PLUGIN.KEY=VALUE, e.g. parse_stock.mode=DLQ");
            }
            let i = owner(entry, '.').map_err(|e| anyhow!("--config {entry:?}: {e}"))?;
            let rest = &entry[names[i].len() + 1..];
            let Some((key, value)) = rest.split_once('=') else {
                bail!("--config {entry:?}: expected PLUGIN.KEY=VALUE, e.g. parse_stock.mode=DLQ");
            };
            if key.is_empty() {
                bail!("--config {entry:?}: the key is empty; expected PLUGIN.KEY=VALUE");
            }
            specs[i].config.push((key.to_string(), value.to_string()));
        }
        for entry in &self.grant {
            let i = owner(entry, '=').map_err(|e| anyhow!("--grant {entry:?}: {e}"))?;
            let caps = &entry[names[i].len() + 1..];
            let grants: BTreeSet<Grant> = caps
                .split(',')
                .map(Grant::parse)
                .collect::<Result<_>>()
                .map_err(|e| anyhow!("--grant {entry:?}: {e}"))?;
            specs[i].grants.extend(grants);
        }
        Ok(specs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2097152"), Ok(2 << 20));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1KiB").is_err());
    }
}
