//! `host run`: Kafka topics through a chain of plugins to the console
//! (Spark's console sink) or to a Kafka topic, with a dead-letter topic for
//! rejected records; offsets are committed once outputs are acknowledged.

use super::plan::{on_error, output_topic, workers};
use super::{load_plugins, stop_on_signals};
use crate::cli::{RunArgs, RunFormat};
use crate::kafka::ensure_topics;
use crate::offsets::Tracker;
use crate::pipeline::{Options, Output, Router};
use crate::plugin::{Chain, World};
use crate::sink::console::{columns, schema_tree};
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::{KafkaSource, SourceConfig, StartingOffsets, Subscription};
use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Runs `host run` until SIGINT/SIGTERM, or until the topics are drained with `--available-now`.
pub fn run(args: RunArgs) -> Result<()> {
    let on_error = on_error(&args)?;
    let output_topic = output_topic(&args)?;
    let (_runtime, plugins) = load_plugins(&args.runtime, &args.plugins)?;
    for p in &plugins {
        p.expect(World::Transform, "`host run`")?;
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
                table: args.table.style(),
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
