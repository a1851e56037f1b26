//! `host generate`: records from a generator plugin to a Kafka topic, at a
//! given rate, as the tutorial's producer does.

use super::load_specs;
use crate::cli::GenerateArgs;
use crate::generation::Generation;
use crate::kafka::ensure_topics;
use crate::kafka::producer::KafkaProducer;
use crate::plugin::{Stage, World};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

/// Loads the generator plugin `source` and checks it is one. A generator that documents a
/// `count` key (as stock_generator does) is offered `count`, so that `--count` alone decides
/// how many records are sent unless `--config NAME.count=…` says otherwise.
pub fn generator(args: &crate::cli::PluginArgs, source: &str, count: u64) -> Result<Stage> {
    let mut specs = args.specs(&[source.to_string()])?;
    specs[0]
        .offered
        .push(("count".to_string(), count.to_string()));
    let (_runtime, plugins) = load_specs(args, &specs)?;
    plugins[0].expect(World::Generator, "`host generate`")?;
    Stage::new(plugins[0].clone())
}

/// Runs `host generate` until `--count` records are sent or SIGINT/SIGTERM.
pub fn run(args: GenerateArgs) -> Result<()> {
    let generator = generator(&args.runtime, &args.plugin, args.count)?;
    let properties = args.kafka.properties()?;
    let producer = KafkaProducer::new(&args.kafka.brokers, &properties)?;
    ensure_topics(
        producer.client(),
        &args.kafka.brokers,
        &properties,
        &[&args.topic],
        args.create_topics,
    )?;
    let stop = super::stop_on_signals()?;
    // A progress bar on a terminal for counts worth watching (hidden when stderr is not a terminal).
    let progress = if args.verbose || args.count < 1000 {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.count).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} records, {per_sec}, eta {eta}")
                .expect("a valid template"),
        )
    };
    Generation {
        generator,
        producer,
        topic: args.topic,
        rate: args.rate,
        count: args.count,
        verbose: args.verbose,
    }
    .run(&stop, &progress)?;
    Ok(())
}
