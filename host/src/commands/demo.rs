//! `host demo`: the tutorial with nothing to install. librdkafka's
//! in-process mock cluster stands in for Redpanda; `stock_generator` feeds
//! it as the tutorial's producer does, and `parse_stock → schema_filter`
//! reads it back to the console as Spark's console sink prints.

use super::{load_plugins, stop_on_signals};
use crate::cli::{DemoArgs, OnError, RunFormat};
use crate::generation::Generation;
use crate::offsets::Tracker;
use crate::pipeline::{Options, Output, Router};
use crate::plugin::{Chain, Stage};
use crate::sink::console::{columns, schema_tree};
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::{KafkaSource, SourceConfig, StartingOffsets, Subscription};
use anyhow::{Context, Result, anyhow};
use indicatif::ProgressBar;
use rdkafka::mocking::MockCluster;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const TOPIC: &str = "stock_json_topic_spark";

/// Runs `host demo` until `--count` records are printed or Ctrl-C.
pub fn run(args: DemoArgs) -> Result<()> {
    let sources = ["stock_generator", "parse_stock", "schema_filter"].map(String::from);
    let (_runtime, plugins) = load_plugins(&args.runtime, &sources)?;
    let generator = Stage::new(plugins[0].clone())?;
    let chain = Chain::new(&plugins[1..])?;
    let fields = columns(chain.schema());
    let declared = chain.schema().is_some();

    let cluster = MockCluster::new(1).context("starting the in-process Kafka cluster")?;
    cluster
        .create_topic(TOPIC, 1, 1)
        .context("creating the demo topic")?;
    let brokers = cluster.bootstrap_servers();
    let stop = stop_on_signals()?;

    let generation = Generation {
        generator,
        producer: KafkaSink::new(&brokers, &[])?,
        topic: TOPIC.to_string(),
        rate: args.rate,
        count: args.count.unwrap_or(u64::MAX),
        verbose: false,
    };
    let generating = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || generation.run(&stop, &ProgressBar::hidden()))?
    };

    let tracker = Arc::new(Tracker::default());
    let source = KafkaSource::connect(
        SourceConfig {
            brokers,
            subscription: Subscription::Topics(vec![TOPIC.to_string()]),
            group: "sluice-demo".into(),
            starting_offsets: StartingOffsets::Earliest,
            max_records: 1000,
            linger: Duration::from_millis(500),
            create_topics: false,
            properties: Vec::new(),
        },
        tracker.clone(),
    )?;
    crate::sink::console::write_stdout(schema_tree(&fields).as_bytes())?;
    let router = Router {
        output: Output::Console {
            format: RunFormat::Table,
            table: args.table.style(),
            fields,
            declared,
            batches: AtomicU64::new(0),
        },
        dlq: None,
        on_error: OnError::Drop,
    };
    let result = crate::pipeline::run(
        source,
        tracker,
        vec![chain],
        Arc::new(router),
        Options {
            limit: args.count,
            available_now: false,
            starting_latest: false,
        },
        stop.clone(),
    );
    stop.store(true, Ordering::Relaxed);
    let generated = generating
        .join()
        .map_err(|_| anyhow!("the generator thread panicked"))?;
    result?;
    generated?;
    drop(cluster);
    Ok(())
}
