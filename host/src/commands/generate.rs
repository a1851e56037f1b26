//! `host generate`: records from a generator plugin to a Kafka topic, at a
//! given rate, as the tutorial's producer does.

use super::load_specs;
use crate::cli::GenerateArgs;
use crate::kafka::ensure_topics;
use crate::plugin::batch::RowValues;
use crate::plugin::{Stage, World};
use crate::sink::kafka::KafkaSink;
use crate::source::offsets::Tracker;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A generator feeding a topic.
pub struct Generation {
    /// The generator's instance.
    pub generator: Stage,
    /// The producer (idempotent), the same as `host run`'s Kafka sink.
    pub producer: KafkaSink,
    /// The topic.
    pub topic: String,
    /// Records per second; 0 is as fast as possible.
    pub rate: f64,
    /// Records to send.
    pub count: u64,
    /// Print `Data is sent: {…}` per record.
    pub verbose: bool,
}

impl Generation {
    /// Sends records until `count` are sent, the generator ends, or `stop`
    /// is set; then waits for every delivery. Returns how many were sent.
    pub fn run(mut self, stop: &AtomicBool, progress: &ProgressBar) -> Result<u64> {
        // No offsets to commit here: the tracker only collects delivery failures.
        let deliveries = Arc::new(Tracker::default());
        let start = Instant::now();
        let mut sent = 0u64;
        'outer: while sent < self.count && !stop.load(Ordering::Relaxed) {
            let want = (self.count - sent).min(if self.rate > 0.0 {
                (self.rate.ceil() as u64).clamp(1, 256)
            } else {
                256
            });
            let Some(batch) = self.generator.next_batch(want as u32)? else {
                break;
            };
            let ticket = deliveries.open(&[]);
            let mut values = RowValues::new(&batch);
            for i in 0..batch.len as usize {
                if self.rate > 0.0 {
                    let due = start + Duration::from_secs_f64(sent as f64 / self.rate);
                    while let Some(wait) = due.checked_duration_since(Instant::now()) {
                        if stop.load(Ordering::Relaxed) {
                            break 'outer;
                        }
                        std::thread::sleep(wait.min(Duration::from_millis(100)));
                    }
                }
                let payload = values.get(i).unwrap_or_default();
                self.producer.send(
                    &self.topic,
                    None,
                    Some(payload),
                    std::iter::empty(),
                    None,
                    &ticket,
                )?;
                if self.verbose {
                    progress
                        .suspend(|| println!("Data is sent: {}", String::from_utf8_lossy(payload)));
                }
                sent += 1;
                progress.inc(1);
                if let Some(failure) = deliveries.failure() {
                    bail!("{failure}");
                }
            }
        }
        self.producer.flush(Duration::from_secs(30))?;
        if let Some(failure) = deliveries.failure() {
            bail!("{failure}");
        }
        progress.finish_and_clear();
        Ok(sent)
    }
}

/// Loads the generator plugin `source` and checks it is one. A generator that documents a
/// `count` key (as stock_generator does) is offered `count`, so that `--count` alone decides
/// how many records are sent unless `--config NAME.count=…` says otherwise.
pub fn generator(args: &crate::cli::PluginArgs, source: &str, count: u64) -> Result<Stage> {
    let mut specs = args.specs(&[source.to_string()])?;
    specs[0]
        .offered
        .push(("count".to_string(), count.to_string()));
    let (_runtime, plugins) = load_specs(args, &specs)?;
    if plugins[0].world != World::Generator {
        bail!(
            "plugin {:?} is a transform; `host generate` takes a generator such as stock_generator",
            plugins[0].name
        );
    }
    Stage::new(plugins[0].clone())
}

/// Runs `host generate` until `--count` records are sent or SIGINT/SIGTERM.
pub fn run(args: GenerateArgs) -> Result<()> {
    if let Some(mode) = args.check {
        return super::check::generate(&args, mode);
    }
    let generator = generator(&args.runtime, &args.plugin, args.count)?;
    let properties = args.kafka.properties()?;
    let producer = KafkaSink::new(&args.kafka.brokers, &properties)?;
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
