//! Seeing a running pipeline: Spark's progress reports (`--progress`),
//! Prometheus metrics (`--metrics-addr`) and a live page (`--ui`).
//!
//! The pipeline tells the [`Observer`] what happens at its seams: the reader
//! opens a [`Trigger`] per micro-batch (what was read, from which offsets),
//! each worker reports its lane (outputs, rejected records, what each plugin
//! did), the reader reports commits. When the last lane of a trigger is done
//! the observer writes the trigger's `StreamingQueryProgress`.
//!
//! - `trigger`: a micro-batch from its read to its last lane.
//! - `report`: progress reports, built and written.
//! - `progress`: Spark's `StreamingQueryProgress` JSON.
//! - `metrics`: the Prometheus metrics.
//! - `server`: the HTTP endpoints (`/metrics`, `/api/progress`, the page).

mod metrics;
mod progress;
mod report;
mod server;
mod trigger;

pub use server::Servers;
pub use trigger::{ChainWatch, LaneReport, Trigger};

use crate::offsets::TopicPartition;
use crate::plugin::StageStats;
use metrics::{Metrics, PartitionLabels, ReloadLabels};
use progress::{PluginProgress, iso8601};
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a pipeline with no data goes between two progress reports (Spark's
/// `spark.sql.streaming.noDataProgressEventInterval`).
const IDLE_REPORT_EVERY: Duration = Duration::from_secs(10);

/// How many progress reports `/api/progress` keeps (Spark's UI keeps 100).
const RECENT: usize = 120;

/// Where progress reports go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressTo {
    /// One JSON line per report on stderr (`--progress -`).
    Stderr,
    /// Appended to a file, one JSON line per report.
    File(PathBuf),
}

/// What to show of a running pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservePlan {
    /// Progress reports, one JSON line per micro-batch.
    pub progress: Option<ProgressTo>,
    /// Where `/metrics` is served.
    pub metrics_addr: Option<String>,
    /// Where the live page (and `/metrics`, `/api/progress`) is served.
    pub ui_addr: Option<String>,
    /// When the UI address is busy, try the next ports as Spark's UI does (4040, 4041, …).
    pub ui_next_free_port: bool,
}

/// What a pipeline is, as the progress reports and the page name it.
pub struct Description {
    /// The consumer group (the query's stable id derives from it).
    pub group: String,
    /// Spark's source description, e.g. `KafkaV2[Subscribe[topic]]`.
    pub source: String,
    /// The sink's description.
    pub sink: String,
    /// `console` or `kafka`.
    pub sink_kind: &'static str,
    /// The sink's topic (empty for the console).
    pub sink_topic: String,
    /// Where rejected records go (`fail`, `drop`, `dlq`).
    pub on_error: &'static str,
    /// The dead-letter topic, if any.
    pub dlq_topic: Option<String>,
    /// The plugins, for the page: name, world, origin, sha256, limits, grants, config.
    pub plugins: Vec<serde_json::Value>,
    /// The chain's event-time column: its first top-level timestamp column.
    pub event_time: Option<String>,
}

#[derive(Default)]
struct State {
    next_batch_id: u64,
    last_trigger: Option<Instant>,
    last_report: Option<Instant>,
    /// The next offset to read, per partition read so far.
    positions: BTreeMap<TopicPartition, i64>,
    /// The last high watermarks seen.
    latest: BTreeMap<TopicPartition, i64>,
    committed: BTreeMap<TopicPartition, i64>,
    last_commit: Duration,
    recent: VecDeque<Arc<serde_json::Value>>,
    /// Per plugin since the start.
    plugins: BTreeMap<Arc<str>, StageStats>,
    records_in: u64,
    records_out: u64,
    errors: BTreeMap<&'static str, u64>,
}

/// Collects what the pipeline does and shows it.
pub struct Observer {
    id: String,
    run_id: String,
    started: String,
    description: Mutex<Arc<Description>>,
    metrics: Metrics,
    registry: Registry,
    state: Mutex<State>,
    progress: Option<Mutex<Box<dyn Write + Send>>>,
    /// Whether `/api/progress` is served (with `--ui` or `--metrics-addr`).
    served: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process's resident memory, from /proc (0 where there is none).
fn resident_bytes() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok());
    pages.unwrap_or(0) * 4096
}

impl Observer {
    /// An observer of the pipeline `description` describes; opens the
    /// progress file. (The endpoints are started by [`Servers::start`].)
    pub fn new(description: Description, plan: &ObservePlan) -> anyhow::Result<Observer> {
        let progress: Option<Box<dyn Write + Send>> = match &plan.progress {
            None => None,
            Some(ProgressTo::Stderr) => Some(Box::new(std::io::stderr())),
            Some(ProgressTo::File(path)) => Some(Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "--progress {}: {e}; give a file in a writable directory, or - for stderr",
                            path.display()
                        )
                    })?,
            )),
        };
        let (metrics, registry) = Metrics::new();
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("sluice:group:{}", description.group).as_bytes(),
        );
        Ok(Observer {
            id: id.to_string(),
            run_id: uuid::Uuid::new_v4().to_string(),
            started: iso8601(chrono::Utc::now()),
            description: Mutex::new(Arc::new(description)),
            metrics,
            registry,
            state: Mutex::default(),
            progress: progress.map(Mutex::new),
            served: plan.ui_addr.is_some() || plan.metrics_addr.is_some(),
        })
    }

    /// Offsets were committed in `took`.
    pub fn committed(&self, offsets: &[(TopicPartition, i64)], took: Duration) {
        let mut state = lock(&self.state);
        state.last_commit = took;
        for (tp, o) in offsets {
            state.committed.insert(tp.clone(), *o);
            self.metrics
                .committed
                .get_or_create(&PartitionLabels {
                    topic: tp.topic.to_string(),
                    partition: tp.partition,
                })
                .set(*o);
        }
    }

    /// Whether progress reports are written, served or logged (else only
    /// the metrics are kept).
    pub(super) fn wants_reports(&self) -> bool {
        self.progress.is_some() || self.served || tracing::enabled!(tracing::Level::INFO)
    }

    /// What the pipeline is now.
    fn description(&self) -> Arc<Description> {
        lock(&self.description).clone()
    }

    /// The chain was swapped: the pipeline is now as `description` says.
    pub fn swapped(&self, description: Description) {
        *lock(&self.description) = Arc::new(description);
        let ok = ReloadLabels {
            result: "swapped".into(),
        };
        self.metrics.reloads.get_or_create(&ok).inc();
    }

    /// A reload was refused; the running chain goes on.
    pub fn reload_refused(&self) {
        let refused = ReloadLabels {
            result: "refused".into(),
        };
        self.metrics.reloads.get_or_create(&refused).inc();
    }

    /// `/metrics`: the OpenMetrics text.
    pub fn metrics_text(&self) -> String {
        self.metrics.rss.set(resident_bytes());
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!("encoding the metrics: {e}");
        }
        text
    }

    /// `/api/progress`: the query, its pipeline, totals, and the recent reports.
    pub fn api(&self) -> serde_json::Value {
        let state = lock(&self.state);
        let d = self.description();
        let plugins: Vec<PluginProgress> = state
            .plugins
            .iter()
            .map(|(name, s)| PluginProgress::new(name, s))
            .collect();
        let lag: Vec<serde_json::Value> = state
            .positions
            .iter()
            .map(|(tp, at)| {
                let latest = state.latest.get(tp).copied().unwrap_or(*at).max(*at);
                serde_json::json!({
                    "topic": &*tp.topic, "partition": tp.partition, "position": at,
                    "latest": latest, "lag": latest - at,
                    "committed": state.committed.get(tp),
                })
            })
            .collect();
        serde_json::json!({
            "id": self.id,
            "runId": self.run_id,
            "started": self.started,
            "pipeline": {
                "source": d.source,
                "group": d.group,
                "plugins": d.plugins,
                "sink": d.sink,
                "onError": d.on_error,
                "dlqTopic": d.dlq_topic,
            },
            "totals": {
                "batches": state.next_batch_id,
                "inputRows": state.records_in,
                "outputRows": state.records_out,
                "errors": state.errors,
                "residentBytes": resident_bytes(),
            },
            "plugins": plugins,
            "partitions": lag,
            "progress": state.recent.iter().map(|p| (**p).clone()).collect::<Vec<_>>(),
        })
    }
}
