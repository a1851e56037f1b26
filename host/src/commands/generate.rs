//! `host generate`: records from a generator plugin to a Kafka topic, at a
//! given rate, as the tutorial's producer does.

use super::load_plugins;
use crate::cli::GenerateArgs;
use crate::kafka::{ensure_topics, producer_config};
use crate::plugin::batch::value;
use crate::plugin::{Stage, World};
use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Remembers the first delivery failure.
#[derive(Default)]
pub struct Deliveries {
    failure: Mutex<Option<String>>,
}

impl Deliveries {
    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

crate::quiet_client_context!(Deliveries);

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((err, _)) = result {
            self.failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| err.to_string());
        }
    }
}

/// A generator feeding a topic.
pub struct Generation {
    /// The generator's instance.
    pub generator: Stage,
    /// The producer (idempotent).
    pub producer: BaseProducer<Deliveries>,
    /// The topic.
    pub topic: String,
    /// Records per second; 0 is as fast as possible.
    pub rate: f64,
    /// Records to send.
    pub count: u64,
    /// Print `Data is sent: {…}` per record.
    pub verbose: bool,
}

/// An idempotent producer for `brokers` with the user's properties.
pub fn producer(
    brokers: &str,
    properties: &[(String, String)],
) -> Result<BaseProducer<Deliveries>> {
    producer_config(brokers, properties)
        .create_with_context(Deliveries::default())
        .context("creating the Kafka producer")
}

impl Generation {
    /// Sends records until `count` are sent, the generator ends, or `stop`
    /// is set; then waits for every delivery. Returns how many were sent.
    pub fn run(mut self, stop: &AtomicBool, progress: &ProgressBar) -> Result<u64> {
        let topic = self.topic.clone();
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
            for i in 0..batch.records.len() {
                if self.rate > 0.0 {
                    let due = start + Duration::from_secs_f64(sent as f64 / self.rate);
                    while Instant::now() < due {
                        if stop.load(Ordering::Relaxed) {
                            break 'outer;
                        }
                        self.producer.poll(
                            due.saturating_duration_since(Instant::now())
                                .min(Duration::from_millis(100)),
                        );
                    }
                }
                let payload = value(&batch, i).unwrap_or_default();
                let mut record = BaseRecord::<(), [u8]>::to(&topic).payload(payload);
                loop {
                    match self.producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                            record = back;
                            self.producer.poll(Duration::from_millis(10));
                        }
                        Err((e, _)) => return Err(anyhow!("producing to {topic:?}: {e}")),
                    }
                }
                if self.verbose {
                    progress
                        .suspend(|| println!("Data is sent: {}", String::from_utf8_lossy(payload)));
                }
                sent += 1;
                progress.inc(1);
                self.producer.poll(Duration::ZERO);
                if let Some(failure) = self.producer.context().failure() {
                    bail!("producing to {topic:?} failed: {failure}");
                }
            }
        }
        self.producer
            .flush(Duration::from_secs(30))
            .with_context(|| format!("flushing records to {topic:?}"))?;
        if let Some(failure) = self.producer.context().failure() {
            bail!("producing to {topic:?} failed: {failure}");
        }
        progress.finish_and_clear();
        Ok(sent)
    }
}

/// Loads the generator plugin `source` and checks it is one.
pub fn generator(args: &crate::cli::PluginArgs, source: &str) -> Result<Stage> {
    let (_runtime, plugins) = load_plugins(args, &[source.to_string()])?;
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
    let generator = generator(&args.runtime, &args.plugin)?;
    let properties = args.kafka.properties()?;
    let producer = producer(&args.kafka.brokers, &properties)?;
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
