//! `host run`'s flags (and pipeline file) resolved into a [`Plan`], once,
//! for `run` and `run --check` alike; every problem in them is named, not
//! only the first.

use crate::cli::{OnError, RunArgs, SinkKind};
use crate::pipeline::{Plan, RejectPlan, SinkPlan};
use crate::source::kafka::{SourceConfig, Subscription};
use anyhow::{Result, anyhow};
use std::time::Duration;

/// Problems found in the flags, each with its fix.
pub struct Problems(pub Vec<String>);

impl Problems {
    /// One error naming every problem.
    pub fn into_error(self) -> anyhow::Error {
        match self.0.as_slice() {
            [one] => anyhow!("{one}"),
            all => anyhow!("{} problems:\n  - {}", all.len(), all.join("\n  - ")),
        }
    }
}

/// The plan `args` describe.
pub fn resolve(args: &RunArgs) -> Result<Plan, Problems> {
    let mut problems = Vec::new();
    let mut note = |e: anyhow::Error| problems.push(format!("{e:#}"));
    let rejected = rejected(args).map_err(&mut note).ok();
    let sink = sink(args).map_err(&mut note).ok();
    let properties = args.kafka.properties().map_err(&mut note).ok();
    let plugins = args.runtime.specs(&args.plugins).map_err(&mut note).ok();
    let (Some(rejected), Some(sink), Some(properties), Some(plugins)) =
        (rejected, sink, properties, plugins)
    else {
        return Err(Problems(problems));
    };
    let workers = args.workers.map_or_else(
        || match sink {
            SinkPlan::Console { .. } => 1,
            SinkPlan::Kafka { .. } => std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        |n| n as usize,
    );
    Ok(Plan {
        source: SourceConfig {
            brokers: args.kafka.brokers.clone(),
            subscription: match &args.topic_pattern {
                Some(p) => Subscription::Pattern(p.clone()),
                None => Subscription::Topics(args.topic.clone()),
            },
            group: args.group(),
            starting_offsets: args.starting_offsets.clone(),
            max_records: args.max_records_per_batch as usize,
            linger: Duration::from_millis(args.batch_linger_ms),
            create_topics: args.create_topics,
            properties,
            statistics: true,
            instance_id: args.instance_id.clone(),
        },
        plugins,
        limits: args.runtime.limits(),
        cache_dir: args.runtime.cache_dir(),
        sink,
        rejected,
        workers,
        limit: None,
        available_now: args
            .available_now
            .then(|| Duration::from_secs(args.available_now_timeout_s)),
        observe: args.observe(),
    })
}

/// The error policy in force: `--on-error`, or dlq when there is a
/// dead-letter topic and fail when there is none.
fn rejected(args: &RunArgs) -> Result<RejectPlan> {
    match (args.on_error, &args.dlq_topic) {
        (Some(OnError::Dlq) | None, Some(dlq)) => Ok(RejectPlan::DeadLetter(dlq.clone())),
        (Some(OnError::Dlq), None) => Err(anyhow!(
            "--on-error dlq needs --dlq-topic TOPIC (where rejected records go)"
        )),
        (Some(policy @ (OnError::Drop | OnError::Fail)), Some(dlq)) => Err(anyhow!(
            "--dlq-topic {dlq:?} is only used with --on-error dlq, not {}",
            if policy == OnError::Drop {
                "drop"
            } else {
                "fail"
            }
        )),
        (Some(OnError::Drop), None) => Ok(RejectPlan::Drop),
        (Some(OnError::Fail) | None, None) => Ok(RejectPlan::Fail),
    }
}

/// Where outputs go: `--sink kafka` needs `--output-topic`, the console none.
fn sink(args: &RunArgs) -> Result<SinkPlan> {
    match (args.sink, &args.output_topic) {
        (SinkKind::Kafka, None) => Err(anyhow!("--sink kafka needs --output-topic TOPIC")),
        (SinkKind::Kafka, Some(topic)) => {
            if let Some(internal) = args.route_topics.iter().find(|t| t.starts_with("__")) {
                return Err(anyhow!(
                    "--route-topics {internal:?}: topics starting with __ are Kafka's own (consumer offsets, transactions); plugins never write to them"
                ));
            }
            Ok(SinkPlan::Kafka {
                topic: topic.clone(),
                routes: args.route_topics.clone(),
                key_by: args.key_by.clone(),
            })
        }
        (SinkKind::Console, Some(t)) => Err(anyhow!(
            "--output-topic {t:?} is for --sink kafka; add --sink kafka, or drop it to print to the console"
        )),
        (SinkKind::Console, None) if !args.route_topics.is_empty() => Err(anyhow!(
            "--route-topics is for --sink kafka (the console prints every record)"
        )),
        (SinkKind::Console, None) if args.key_by.is_some() => Err(anyhow!(
            "--key-by is for --sink kafka (it sets the key of each record produced)"
        )),
        (SinkKind::Console, None) => Ok(SinkPlan::Console {
            format: args.format,
            table: args.table.style(),
        }),
    }
}
