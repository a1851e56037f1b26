//! `host run`: Kafka topics through a chain of plugins to the console
//! (Spark's console sink) or to a Kafka topic, with a dead-letter topic for
//! rejected records; offsets are committed once outputs are acknowledged.

use super::{load_plugins, stop_on_signals};
use crate::cli::{OnError, RunArgs, RunFormat, SinkKind};
use crate::kafka::ensure_topics;
use crate::pipeline::{Options, Output, Router};
use crate::plugin::{Chain, World};
use crate::sink::console::{columns, schema_tree};
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::{KafkaSource, SourceConfig, StartingOffsets, Subscription};
use crate::source::offsets::Tracker;
use anyhow::{Result, bail};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The error policy in force: `--on-error`, or dlq when there is a
/// dead-letter topic and fail when there is none.
pub fn on_error(args: &RunArgs) -> Result<OnError> {
    match (args.on_error, &args.dlq_topic) {
        (Some(OnError::Dlq), None) => {
            bail!("--on-error dlq needs --dlq-topic TOPIC (where rejected records go)")
        }
        (Some(policy @ (OnError::Drop | OnError::Fail)), Some(dlq)) => bail!(
            "--dlq-topic {dlq:?} is only used with --on-error dlq, not {}",
            if policy == OnError::Drop {
                "drop"
            } else {
                "fail"
            }
        ),
        (Some(policy), _) => Ok(policy),
        (None, Some(_)) => Ok(OnError::Dlq),
        (None, None) => Ok(OnError::Fail),
    }
}

/// `--workers`, or its default: one per core for Kafka, 1 for the console.
pub fn workers(args: &RunArgs) -> usize {
    args.workers.map_or_else(
        || match args.sink {
            SinkKind::Console => 1,
            SinkKind::Kafka => std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        |n| n as usize,
    )
}

/// The topic `--sink kafka` writes to; `None` for the console.
pub fn output_topic(args: &RunArgs) -> Result<Option<String>> {
    match (args.sink, &args.output_topic) {
        (SinkKind::Kafka, None) => bail!("--sink kafka needs --output-topic TOPIC"),
        (SinkKind::Console, Some(t)) => bail!(
            "--output-topic {t:?} is for --sink kafka; add --sink kafka, or drop it to print to the console"
        ),
        (_, t) => Ok(t.clone()),
    }
}

/// Runs `host run` until SIGINT/SIGTERM, or until the topics are drained with `--available-now`.
pub fn run(args: RunArgs) -> Result<()> {
    if let Some(mode) = args.check {
        return super::check::run(&args, mode);
    }
    let on_error = on_error(&args)?;
    let output_topic = output_topic(&args)?;
    let (_runtime, plugins) = load_plugins(&args.runtime, &args.plugins)?;
    if let Some(p) = plugins.iter().find(|p| p.world == World::Generator) {
        bail!(
            "plugin {:?} is a generator; `host run` takes transforms (use `host generate` for generators)",
            p.name
        );
    }
    let workers = workers(&args);
    let chains = (0..workers)
        .map(|_| Chain::new(&plugins))
        .collect::<Result<Vec<_>>>()?;
    let schema = chains[0].schema().map(<[_]>::to_vec);
    let stop = stop_on_signals()?;
    let properties = args.kafka.properties()?;
    let brokers = &args.kafka.brokers;

    let tracker = Arc::new(Tracker::default());
    let source = KafkaSource::connect(
        SourceConfig {
            brokers: brokers.clone(),
            subscription: match &args.topic_pattern {
                Some(p) => Subscription::Pattern(p.clone()),
                None => Subscription::Topics(args.topic.clone()),
            },
            group: args.group(),
            starting_offsets: args.starting_offsets.clone(),
            max_records: args.max_records_per_batch as usize,
            linger: Duration::from_millis(args.batch_linger_ms),
            create_topics: args.create_topics,
            properties: properties.clone(),
        },
        tracker.clone(),
    )?;

    let producer = match (&output_topic, &args.dlq_topic) {
        (None, None) => None,
        _ => Some(Arc::new(KafkaSink::new(brokers, &properties)?)),
    };
    if let Some(producer) = &producer {
        let topics: Vec<&str> = [&output_topic, &args.dlq_topic]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        ensure_topics(
            producer.client(),
            brokers,
            &properties,
            &topics,
            args.create_topics,
        )?;
    }
    let output = match (&producer, output_topic) {
        (Some(sink), Some(topic)) => Output::Kafka {
            sink: sink.clone(),
            topic,
        },
        _ => {
            let fields = columns(schema.as_deref());
            if args.format == RunFormat::Table {
                crate::sink::console::write_stdout(schema_tree(&fields).as_bytes())?;
            }
            Output::Console {
                format: args.format,
                table: args.table.clone(),
                fields,
                declared: schema.is_some(),
                batches: AtomicU64::new(0),
            }
        }
    };
    let router = Router {
        output,
        dlq: producer.zip(args.dlq_topic.clone()),
        on_error,
    };
    crate::pipeline::run(
        source,
        tracker,
        chains,
        Arc::new(router),
        Options {
            limit: None,
            available_now: args.available_now,
            starting_latest: args.starting_offsets == StartingOffsets::Latest,
        },
        stop,
    )
}
