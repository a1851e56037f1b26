//! `host run --check` and `host generate --check`: load, link and configure
//! every plugin, check that each plugin's declared columns fit the previous
//! one's, check the options, print the resolved pipeline, and name every
//! problem at once. `--check=online` also asks the brokers about the topics.

use super::plan::{on_error, output_topic, workers};
use crate::cli::{CheckMode, GenerateArgs, KafkaArgs, OnError, PluginArgs, RunArgs, SinkKind};
use crate::kafka::{Quiet, TIMEOUT, client_config, unreachable};
use crate::plugin::bindings::Field;
use crate::plugin::{Runtime, Stage, World};
use crate::sink::console::type_name;
use anyhow::{Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::fmt::Write as _;
use std::sync::Arc;

/// What a check found: the resolved pipeline, and the problems.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    problems: Vec<String>,
}

impl Report {
    fn problem(&mut self, e: impl std::fmt::Display) {
        self.problems.push(e.to_string());
    }

    /// Prints the pipeline; fails naming every problem.
    fn finish(self) -> Result<()> {
        let mut out = String::new();
        for line in &self.lines {
            let _ = writeln!(out, "{line}");
        }
        crate::sink::console::write_stdout(out.as_bytes())?;
        match self.problems.len() {
            0 => Ok(()),
            1 => bail!("{}", self.problems[0]),
            n => bail!("{n} problems:\n  - {}", self.problems.join("\n  - ")),
        }
    }

    /// Loads and initialises each plugin, one by one, so every failing one is named.
    fn plugins(&mut self, args: &PluginArgs, sources: &[String]) -> Vec<Stage> {
        let specs = match args.specs(sources) {
            Ok(specs) => specs,
            Err(e) => {
                self.problem(e);
                return Vec::new();
            }
        };
        let runtime = match Runtime::new(args.limits(), args.cache_dir()) {
            Ok(r) => r,
            Err(e) => {
                self.problem(e);
                return Vec::new();
            }
        };
        let mut stages = Vec::new();
        for spec in &specs {
            match runtime.load(spec).and_then(|p| Stage::new(Arc::new(p))) {
                Ok(stage) => stages.push(stage),
                Err(e) => self.problem(format!("{e:#}")),
            }
        }
        stages
    }

    fn describe(&mut self, index: usize, stage: &Stage) {
        let p = stage.plugin();
        let world = match p.world {
            World::Transform => "transform",
            World::Generator => "generator",
        };
        let config: Vec<String> = p.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let schema = stage.schema().map_or("undeclared".to_string(), ddl);
        self.lines.push(format!(
            "plugin {index}:  {} ({}), {world}; config: {}; columns: {schema}",
            p.name,
            p.origin,
            if config.is_empty() {
                "none".to_string()
            } else {
                config.join(", ")
            }
        ));
    }

    /// Asks the brokers whether `topics` exist.
    fn online(&mut self, kafka: &KafkaArgs, topics: &[&str], create: bool) {
        let properties = match kafka.properties() {
            Ok(p) => p,
            Err(e) => return self.problem(e),
        };
        let consumer: BaseConsumer<Quiet> =
            match client_config(&kafka.brokers, &properties).create_with_context(Quiet) {
                Ok(c) => c,
                Err(e) => return self.problem(format!("creating a Kafka client: {e}")),
            };
        let metadata = match consumer.fetch_metadata(None, TIMEOUT) {
            Ok(m) => m,
            Err(e) => return self.problem(unreachable(&kafka.brokers, e)),
        };
        for topic in topics {
            let exists = metadata
                .topics()
                .iter()
                .any(|t| t.name() == *topic && t.error().is_none());
            match (exists, create) {
                (true, _) => {}
                (false, true) => self.lines.push(format!("topic {topic:?} will be created")),
                (false, false) => self.problem(format!(
                    "topic {topic:?} does not exist on {:?}; create it, or pass --create-topics",
                    kafka.brokers
                )),
            }
        }
        self.lines
            .push(format!("brokers {:?} answered", kafka.brokers));
    }
}

/// A schema as Spark DDL.
fn ddl(fields: &[Field]) -> String {
    let cols: Vec<String> = fields
        .iter()
        .map(|f| {
            let not_null = if f.nullable { "" } else { " NOT NULL" };
            format!("{} {}{not_null}", f.name, type_name(f.ty))
        })
        .collect();
    cols.join(", ")
}

/// Problems where `next` declares a column that `previous` declares with
/// another type, or requires (NOT NULL) a column `previous` never produces.
fn fit(previous: &Stage, next: &Stage) -> Vec<String> {
    let (Some(before), Some(after)) = (previous.schema(), next.schema()) else {
        return Vec::new();
    };
    let (a, b) = (&previous.plugin().name, &next.plugin().name);
    after
        .iter()
        .filter_map(|f| match before.iter().find(|g| g.name == f.name) {
            Some(g) if type_name(g.ty) != type_name(f.ty) => Some(format!(
                "plugin {b:?} expects column {:?} as {}, but {a:?} produces it as {}",
                f.name,
                type_name(f.ty),
                type_name(g.ty)
            )),
            None if !f.nullable => Some(format!(
                "plugin {b:?} requires column {:?} (NOT NULL), which {a:?} does not produce (its columns: {})",
                f.name,
                ddl(before)
            )),
            _ => None,
        })
        .collect()
}

/// `host run --check`.
pub fn run(args: &RunArgs, mode: CheckMode) -> Result<()> {
    let mut report = Report::default();
    let on_error = on_error(args).map_err(|e| report.problem(e)).ok();
    let output = output_topic(args)
        .map_err(|e| report.problem(e))
        .ok()
        .flatten();
    let source = match &args.topic_pattern {
        Some(p) => format!("topics matching {p:?}"),
        None => format!("topics {}", args.topic.join(", ")),
    };
    let group = args.group();
    report.lines.push(format!(
        "source:    kafka {:?}, {source}, group {group:?}, starting offsets {}, batches of up to {} records / {} ms{}",
        args.kafka.brokers,
        args.starting_offsets,
        args.max_records_per_batch,
        args.batch_linger_ms,
        if args.available_now { ", available now" } else { "" }
    ));
    let stages = report.plugins(&args.runtime, &args.plugins);
    for (i, stage) in stages.iter().enumerate() {
        report.describe(i + 1, stage);
        if let Err(e) = stage.plugin().expect(World::Transform, "`host run`") {
            report.problem(e.to_string());
        }
    }
    if let Some(first) = stages.first()
        && first.plugin().world == World::Transform
        && first.accepts() == crate::plugin::bindings::Accepts::Rows
    {
        report.problem(format!(
            "plugin {:?} reads typed rows, but the source gives raw values; put a parser such as parse_stock before it",
            first.plugin().name
        ));
    }
    for pair in stages.windows(2) {
        for p in fit(&pair[0], &pair[1]) {
            report.problem(p);
        }
    }
    report.lines.push(match (&output, args.sink) {
        (Some(topic), _) => format!("sink:      kafka topic {topic:?} (idempotent producer)"),
        (None, SinkKind::Console) => format!(
            "sink:      console, {:?}, {} rows per batch, truncate {}",
            format!("{:?}", args.format).to_lowercase(),
            args.table.num_rows,
            args.table.truncate
        ),
        (None, SinkKind::Kafka) => "sink:      kafka (no topic)".to_string(),
    });
    if let Some(policy) = on_error {
        report.lines.push(match (policy, &args.dlq_topic) {
            (OnError::Dlq, Some(t)) => format!("on error:  dead-letter topic {t:?}"),
            (OnError::Drop, _) => "on error:  drop (logged on stderr)".to_string(),
            _ => "on error:  fail (stop before the bad record)".to_string(),
        });
    }
    report.lines.push(format!("workers:   {}", workers(args)));
    if mode == CheckMode::Online {
        let mut topics: Vec<&str> = Vec::new();
        if args.topic_pattern.is_none() {
            topics.extend(args.topic.iter().map(String::as_str));
        }
        topics.extend(output.as_deref());
        topics.extend(args.dlq_topic.as_deref());
        report.online(&args.kafka, &topics, args.create_topics);
    }
    report.finish()
}

/// `host generate --check`.
pub fn generate(args: &GenerateArgs, mode: CheckMode) -> Result<()> {
    let mut report = Report::default();
    let stages = report.plugins(&args.runtime, std::slice::from_ref(&args.plugin));
    for stage in &stages {
        report.describe(1, stage);
        if let Err(e) = stage.plugin().expect(World::Generator, "`host generate`") {
            report.problem(e.to_string());
        }
    }
    report.lines.push(format!(
        "sink:      kafka {:?}, topic {:?}, {} records at {} records/s",
        args.kafka.brokers,
        args.topic,
        args.count,
        if args.rate > 0.0 {
            args.rate.to_string()
        } else {
            "full speed".to_string()
        }
    ));
    if mode == CheckMode::Online {
        report.online(&args.kafka, &[&args.topic], args.create_topics);
    }
    report.finish()
}
