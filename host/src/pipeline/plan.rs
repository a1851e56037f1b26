//! A pipeline resolved once, before anything starts: the source, the
//! plugins, the sink, what a rejected record does, and how many workers.
//! `host run` resolves it from its flags (and pipeline file), `host demo`
//! writes its own, `--check` prints it, and [`super::Pipeline::build`]
//! builds from it.

use crate::observe::{Description, ObservePlan, ProgressTo};
use crate::plugin::{Chain, Limits, Plugin, PluginSpec};
use crate::sink::console::{RunFormat, TableStyle};
use crate::source::kafka::{SourceConfig, Subscription};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the chain's outputs go.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkPlan {
    /// Printed on stdout.
    Console {
        /// Tables or JSON lines.
        format: RunFormat,
        /// How tables are shown.
        table: TableStyle,
    },
    /// Produced to a topic (or the topic a plugin names per record).
    Kafka {
        /// The default topic.
        topic: String,
        /// The other topics a plugin may route a record to.
        routes: Vec<String>,
        /// The output column whose value is each record's key (`--key-by`).
        key_by: Option<String>,
    },
}

/// What a record a plugin rejects does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectPlan {
    /// Stop before it; a restart reads it again.
    Fail,
    /// Log it on stderr and go on.
    Drop,
    /// Send it to this dead-letter topic.
    DeadLetter(String),
}

/// Everything a pipeline is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The Kafka source.
    pub source: SourceConfig,
    /// The transforms, in order.
    pub plugins: Vec<PluginSpec>,
    /// Limits of every plugin instance.
    pub limits: Limits,
    /// Where compiled plugins are cached (`None`: compile every time).
    pub cache_dir: Option<PathBuf>,
    /// Where outputs go.
    pub sink: SinkPlan,
    /// What a rejected record does.
    pub rejected: RejectPlan,
    /// Threads running the chain, each with its own instances.
    pub workers: usize,
    /// Stop once this many input records were read and handled.
    pub limit: Option<u64>,
    /// Stop once the partitions are read up to their end offsets at start,
    /// waiting this long at most for an assignment, or for partitions other
    /// members hold while their commits stand still.
    pub available_now: Option<Duration>,
    /// Progress reports, metrics and the live page.
    pub observe: ObservePlan,
}

impl Plan {
    /// The topics this pipeline writes to.
    pub fn output_topics(&self) -> Vec<&str> {
        let mut topics = Vec::new();
        if let SinkPlan::Kafka { topic, routes, .. } = &self.sink {
            topics.push(topic.as_str());
            topics.extend(routes.iter().map(String::as_str));
        }
        if let RejectPlan::DeadLetter(topic) = &self.rejected {
            topics.push(topic.as_str());
        }
        topics
    }

    /// `source:` as `--check` prints it.
    pub fn source_line(&self) -> String {
        let s = &self.source;
        let topics = match &s.subscription {
            Subscription::Pattern(p) => format!("topics matching {p:?}"),
            Subscription::Topics(t) => format!("topics {}", t.join(", ")),
        };
        let group = match &s.instance_id {
            Some(id) => format!("{:?} (static member {id:?})", s.group),
            None => format!("{:?}", s.group),
        };
        format!(
            "source:    kafka {:?}, {topics}, group {group}, starting offsets {}, batches of up to {} records / {} ms{}",
            s.brokers,
            s.starting_offsets,
            s.max_records,
            s.linger.as_millis(),
            if self.available_now.is_some() {
                ", available now"
            } else {
                ""
            }
        )
    }

    /// `sink:`, `on error:`, `workers:` and what is observed, as `--check` prints them.
    pub fn sink_lines(&self) -> Vec<String> {
        let sink = match &self.sink {
            SinkPlan::Kafka {
                topic,
                routes,
                key_by,
            } => format!(
                "sink:      kafka topic {topic:?} (idempotent producer){}; plugins may route records {}",
                key_by
                    .as_ref()
                    .map_or(String::new(), |c| format!(", keyed by column {c:?}")),
                if routes.is_empty() {
                    "nowhere else (--route-topics)".to_string()
                } else {
                    format!("to {}", routes.join(", "))
                }
            ),
            SinkPlan::Console { format, table } => format!(
                "sink:      console, {:?}, {} rows per batch, truncate {}",
                format!("{format:?}").to_lowercase(),
                table.num_rows,
                table.truncate
            ),
        };
        let rejected = match &self.rejected {
            RejectPlan::DeadLetter(t) => format!("on error:  dead-letter topic {t:?}"),
            RejectPlan::Drop => "on error:  drop (logged on stderr)".to_string(),
            RejectPlan::Fail => "on error:  fail (stop before the bad record)".to_string(),
        };
        let mut lines = vec![sink, rejected, format!("workers:   {}", self.workers)];
        let o = &self.observe;
        if let Some(to) = &o.progress {
            lines.push(match to {
                ProgressTo::Stderr => "progress:  Spark progress reports on stderr".to_string(),
                ProgressTo::File(f) => {
                    format!("progress:  Spark progress reports in {}", f.display())
                }
            });
        }
        if let Some(addr) = &o.metrics_addr {
            lines.push(format!("metrics:   http://{addr}/metrics"));
        }
        if let Some(addr) = &o.ui_addr {
            lines.push(format!(
                "live page: http://{addr}/ (and /metrics, /api/progress)"
            ));
        }
        lines
    }

    /// What the progress reports and the live page say this pipeline is,
    /// once its `plugins` are loaded (`chain` is one of their chains).
    pub fn describe(&self, plugins: &[Arc<Plugin>], chain: &Chain) -> Description {
        let plan = self;
        let source = match &plan.source.subscription {
            Subscription::Topics(t) => format!("KafkaV2[Subscribe[{}]]", t.join(",")),
            Subscription::Pattern(p) => format!("KafkaV2[SubscribePattern[{p}]]"),
        };
        let (sink, sink_kind, sink_topic) = match &plan.sink {
            SinkPlan::Console { format, table } => (
                match format {
                    RunFormat::Table => format!(
                        "Console[table, numRows={}, truncate={}]",
                        table.num_rows, table.truncate
                    ),
                    RunFormat::Json => "Console[json]".to_string(),
                },
                "console",
                String::new(),
            ),
            SinkPlan::Kafka { topic, .. } => {
                (format!("Kafka[topic={topic}]"), "kafka", topic.clone())
            }
        };
        let (on_error, dlq_topic) = match &plan.rejected {
            RejectPlan::Fail => ("failed", None),
            RejectPlan::Drop => ("dropped", None),
            RejectPlan::DeadLetter(t) => ("dlq", Some(t.clone())),
        };
        let event_time = chain.schema().and_then(|fields| {
            let f = fields
                .iter()
                .find(|f| f.parent.is_none() && f.ty == crate::data::FieldType::Timestamp)?;
            Some(f.name.clone())
        });
        Description {
            group: plan.source.group.clone(),
            source,
            sink,
            sink_kind,
            sink_topic,
            on_error,
            dlq_topic,
            plugins: plugins
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": &*p.name, "world": p.world_name(), "origin": p.origin,
                        "sha256": p.sha256, "memoryLimit": p.limits.memory_bytes,
                        "deadlineMs": p.limits.deadline.as_millis() as u64,
                        "grants": p.grants.iter().map(|g| format!("{g:?}").to_lowercase()).collect::<Vec<_>>(),
                        "config": p.config.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                    })
                })
                .collect(),
            event_time,
        }
    }
}
