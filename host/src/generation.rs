//! A generator plugin feeding a Kafka topic at a given rate (what `host
//! generate` and `host demo` run): the generator is the source, the Kafka
//! sink's idempotent producer the sink, delivery failures stop it.

use crate::data::batch::RowValues;
use crate::kafka::producer::KafkaProducer;
use crate::offsets::Tracker;
use crate::plugin::Stage;
use anyhow::{Result, bail};
use indicatif::ProgressBar;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A generator feeding a topic.
pub struct Generation {
    /// The generator's instance.
    pub generator: Stage,
    /// The producer (idempotent), the same as `host run`'s Kafka sink.
    pub producer: KafkaProducer,
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
