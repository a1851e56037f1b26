//! `host generate`: records from a generator plugin to a Kafka topic, at a
//! given rate, as the tutorial's producer does.

use super::load_plugins;
use crate::cli::GenerateArgs;
use crate::plugin::batch::value;
use crate::plugin::{Stage, World};
use crate::source::kafka::{Quiet, unreachable};
use anyhow::{Context, Result, anyhow, bail};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Remembers the first delivery failure.
#[derive(Default)]
struct Deliveries {
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

impl ClientContext for Deliveries {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        Quiet.log(level, fac, message);
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        Quiet.error(error, reason);
    }
}

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

/// Runs `host generate`.
pub fn run(args: GenerateArgs) -> Result<()> {
    let (_runtime, plugins) = load_plugins(&args.runtime, std::slice::from_ref(&args.plugin))?;
    if plugins[0].world != World::Generator {
        bail!(
            "plugin {:?} is a transform; `host generate` takes a generator such as stock_generator",
            plugins[0].name
        );
    }
    let mut generator = Stage::new(plugins[0].clone())?;
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &args.kafka.brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5");
    for (k, v) in args.kafka.properties()? {
        config.set(k, v);
    }
    let producer: BaseProducer<Deliveries> = config
        .create_with_context(Deliveries::default())
        .context("creating the Kafka producer")?;
    producer
        .client()
        .fetch_metadata(Some(&args.topic), Duration::from_secs(10))
        .map_err(|e| unreachable(&args.kafka.brokers, e))?;
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < args.count {
        let want = (args.count - sent).min(if args.rate > 0.0 {
            (args.rate.ceil() as u64).clamp(1, 256)
        } else {
            256
        });
        let Some(batch) = generator.next_batch(want as u32)? else {
            break;
        };
        for i in 0..batch.records.len() {
            if args.rate > 0.0 {
                let due = start + Duration::from_secs_f64(sent as f64 / args.rate);
                while Instant::now() < due {
                    producer.poll(
                        due.saturating_duration_since(Instant::now())
                            .min(Duration::from_millis(100)),
                    );
                }
            }
            let payload = value(&batch, i).unwrap_or_default();
            loop {
                match producer.send(BaseRecord::<(), [u8]>::to(&args.topic).payload(payload)) {
                    Ok(()) => break,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        _,
                    )) => {
                        producer.poll(Duration::from_millis(10));
                    }
                    Err((e, _)) => return Err(anyhow!("producing to {:?}: {e}", args.topic)),
                }
            }
            if args.verbose {
                println!("Data is sent: {}", String::from_utf8_lossy(payload));
            }
            sent += 1;
            producer.poll(Duration::ZERO);
            if let Some(failure) = producer.context().failure() {
                bail!("producing to {:?} failed: {failure}", args.topic);
            }
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .with_context(|| format!("flushing records to {:?}", args.topic))?;
    if let Some(failure) = producer.context().failure() {
        bail!("producing to {:?} failed: {failure}", args.topic);
    }
    Ok(())
}
