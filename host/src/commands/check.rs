//! `host run --check` and `host generate --check`: load, link and configure
//! every plugin, check that each plugin's declared columns fit the previous
//! one's, check the options, print the resolved pipeline, and name every
//! problem at once. `--check=online` also asks the brokers about the topics.

use super::plan::{Problems, resolve};
use crate::cli::{CheckMode, GenerateArgs, RunArgs};
use crate::kafka::{Quiet, TIMEOUT, client_config, unreachable};
use crate::plugin::chain::{self, ddl};
use crate::plugin::{Limits, PluginSpec, Runtime, Stage, World};
use crate::source::kafka::Subscription;
use anyhow::Result;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::fmt::Write as _;
use std::path::PathBuf;
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
        match self.problems.is_empty() {
            true => Ok(()),
            false => Err(Problems(self.problems).into_error()),
        }
    }

    /// Loads and initialises each plugin, one by one, so every failing one is named.
    fn plugins(
        &mut self,
        specs: &[PluginSpec],
        limits: Limits,
        cache: Option<PathBuf>,
    ) -> Vec<Stage> {
        let runtime = match Runtime::new(limits, cache) {
            Ok(r) => r,
            Err(e) => {
                self.problem(e);
                return Vec::new();
            }
        };
        let mut stages = Vec::new();
        for spec in specs {
            match runtime.load(spec).and_then(|p| Stage::new(Arc::new(p))) {
                Ok(stage) => stages.push(stage),
                Err(e) => self.problem(format!("{e:#}")),
            }
        }
        stages
    }

    /// Describes a chain of transforms and names what does not fit.
    fn chain(&mut self, stages: &[Stage]) {
        for (i, stage) in stages.iter().enumerate() {
            self.describe(i + 1, stage);
            if let Err(e) = stage.plugin().expect(World::Transform, "`host run`") {
                self.problem(e);
            }
        }
        self.problems.extend(chain::problems(stages));
    }

    fn describe(&mut self, index: usize, stage: &Stage) {
        let p = stage.plugin();
        let world = p.world_name();
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
    fn online(
        &mut self,
        brokers: &str,
        properties: &[(String, String)],
        topics: &[&str],
        create: bool,
    ) {
        let consumer: BaseConsumer<Quiet> =
            match client_config(brokers, properties).create_with_context(Quiet) {
                Ok(c) => c,
                Err(e) => return self.problem(format!("creating a Kafka client: {e}")),
            };
        let metadata = match consumer.fetch_metadata(None, TIMEOUT) {
            Ok(m) => m,
            Err(e) => return self.problem(unreachable(brokers, e)),
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
                    "topic {topic:?} does not exist on {brokers:?}; create it, or pass --create-topics"
                )),
            }
        }
        self.lines.push(format!("brokers {brokers:?} answered"));
    }
}

/// `host run --check`.
pub fn run(args: &RunArgs, mode: CheckMode) -> Result<()> {
    let mut report = Report::default();
    let plan = match resolve(args) {
        Ok(plan) => plan,
        Err(problems) => {
            // Still name what is wrong with the plugins.
            report.problems = problems.0;
            if let Ok(specs) = args.runtime.specs(&args.plugins) {
                let stages =
                    report.plugins(&specs, args.runtime.limits(), args.runtime.cache_dir());
                report.chain(&stages);
            }
            return report.finish();
        }
    };
    report.lines.push(plan.source_line());
    let stages = report.plugins(&plan.plugins, plan.limits, plan.cache_dir.clone());
    report.chain(&stages);
    if let Some(stage) = stages.iter().find(|s| s.stateful()) {
        let name = &stage.plugin().name;
        let topic = crate::pipeline::changelog_topic(&plan.source.group, name);
        let event_time = stage.event_time().map_or("no event time".to_string(), |c| {
            format!("event time {c:?}, watermark kept per partition")
        });
        report.lines.push(format!(
            "state:     {name:?} keeps state per input partition, checkpointed to the compacted topic {topic:?} (created if missing); {event_time}"
        ));
    }
    report.lines.extend(plan.sink_lines());
    if mode == CheckMode::Online {
        let mut topics: Vec<&str> = Vec::new();
        if let Subscription::Topics(t) = &plan.source.subscription {
            topics.extend(t.iter().map(String::as_str));
        }
        topics.extend(plan.output_topics());
        let s = &plan.source;
        report.online(&s.brokers, &s.properties, &topics, s.create_topics);
    }
    report.finish()
}

/// `host generate --check`.
pub fn generate(args: &GenerateArgs, mode: CheckMode) -> Result<()> {
    let mut report = Report::default();
    let stages = match args.runtime.specs(std::slice::from_ref(&args.plugin)) {
        Ok(specs) => report.plugins(&specs, args.runtime.limits(), args.runtime.cache_dir()),
        Err(e) => {
            report.problem(e);
            Vec::new()
        }
    };
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
        match args.kafka.properties() {
            Ok(properties) => {
                let (brokers, topics) = (&args.kafka.brokers, [args.topic.as_str()]);
                report.online(brokers, &properties, &topics, args.create_topics);
            }
            Err(e) => report.problem(e),
        }
    }
    report.finish()
}
