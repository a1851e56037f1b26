//! What the benches share: the records they feed and how they summarise runs.

use host::data::batch::{BatchBuilder, InputRecord};
use host::plugin::Chain;
use host::plugin::bindings::Batch;
use std::time::Instant;

/// Tutorial-shaped records (about 80 bytes), deterministic.
#[allow(dead_code)] // not every bench feeds these
pub fn records(n: usize) -> Vec<Vec<u8>> {
    let tickers = ["AAPL", "AMZN", "MSFT", "INTC", "TBV"];
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let price = (rng % 10_000) as f64 / 100.0;
            format!(
                "{{\"event_time\": \"2026-11-25T12:{:02}:{:02}.{:06}\", \"ticker\": \"{}\", \"price\": {price}}}",
                (i / 60) % 60,
                i % 60,
                i % 1_000_000,
                tickers[(rng >> 32) as usize % 5]
            )
            .into_bytes()
        })
        .collect()
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One batch of raw record values, as the host builds it from Kafka records.
pub fn batch(values: &[Vec<u8>]) -> Batch {
    let mut builder = BatchBuilder::with_capacity(values.len(), values.iter().map(Vec::len).sum());
    for (i, value) in values.iter().enumerate() {
        builder.push(&InputRecord {
            value: Some(value),
            offset: i as i64,
            ..Default::default()
        });
    }
    builder.finish()
}

/// The record count: the first argument that is not a flag, else `default`.
pub fn count(args: &[String], default: usize) -> usize {
    args.iter()
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Seconds per record of `chain` over `batches`, median of 3 runs.
#[allow(dead_code)] // not every bench measures a chain
pub fn per_record(chain: &mut Chain, batches: &[Batch], n: usize) -> f64 {
    median(
        (0..3)
            .map(|_| {
                let start = Instant::now();
                for b in batches {
                    std::hint::black_box(chain.process(b).expect("the chain runs").len());
                }
                start.elapsed().as_secs_f64() / n as f64
            })
            .collect(),
    )
}
