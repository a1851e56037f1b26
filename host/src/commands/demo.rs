//! `host demo`: the tutorial with nothing to install. librdkafka's
//! in-process mock cluster stands in for Redpanda; `stock_generator` feeds
//! it as the tutorial's producer does, and `parse_stock → schema_filter`
//! reads it back to the console as Spark's console sink prints.

use super::stop_on_signals;
use crate::cli::{DEFAULT_UI, DemoArgs, RunFormat};
use crate::generation::Generation;
use crate::kafka::producer::KafkaProducer;
use crate::observe::ObservePlan;
use crate::pipeline::{Pipeline, Plan, RejectPlan, SinkPlan};
use crate::plugin::{Stage, World};
use crate::source::kafka::{SourceConfig, StartingOffsets, Subscription};
use anyhow::{Context, Result, anyhow};
use indicatif::ProgressBar;
use rdkafka::mocking::MockCluster;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const TOPIC: &str = "stock_json_topic_spark";

/// Runs `host demo` until `--count` records are printed or Ctrl-C.
pub fn run(args: DemoArgs) -> Result<()> {
    let specs = args
        .runtime
        .specs(&["stock_generator", "parse_stock", "schema_filter"].map(String::from))?;
    let cluster = MockCluster::new(1).context("starting the in-process Kafka cluster")?;
    cluster
        .create_topic(TOPIC, 1, 1)
        .context("creating the demo topic")?;
    let brokers = cluster.bootstrap_servers();
    let plan = Plan {
        source: SourceConfig {
            brokers: brokers.clone(),
            subscription: Subscription::Topics(vec![TOPIC.to_string()]),
            group: "sluice-demo".into(),
            starting_offsets: StartingOffsets::Earliest,
            max_records: 1000,
            linger: Duration::from_millis(500),
            create_topics: false,
            properties: Vec::new(),
            statistics: true,
            instance_id: None,
        },
        plugins: specs[1..].to_vec(),
        limits: args.runtime.limits(),
        cache_dir: args.runtime.cache_dir(),
        sink: SinkPlan::Console {
            format: RunFormat::Table,
            table: args.table.style(),
        },
        rejected: RejectPlan::Drop,
        workers: 1,
        limit: args.count,
        available_now: None,
        observe: ObservePlan {
            ui_addr: (!args.no_ui).then(|| args.ui.clone()),
            ui_next_free_port: args.ui == DEFAULT_UI,
            ..ObservePlan::default()
        },
    };
    let pipeline = Pipeline::build(&plan)?;
    let generator = Arc::new(pipeline.runtime().load(&specs[0])?);
    generator.expect(World::Generator, "`host demo`")?;
    let generation = Generation {
        generator: Stage::new(generator)?,
        producer: KafkaProducer::new(&brokers, &[])?,
        topic: TOPIC.to_string(),
        rate: args.rate,
        count: args.count.unwrap_or(u64::MAX),
        verbose: false,
    };
    let stop = stop_on_signals()?;
    let generating = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || generation.run(&stop, &ProgressBar::hidden()))?
    };
    let result = pipeline.run(stop.clone(), None);
    stop.store(true, Ordering::Relaxed);
    let generated = generating
        .join()
        .map_err(|_| anyhow!("the generator thread panicked"))?;
    result?;
    generated?;
    drop(cluster);
    Ok(())
}
