//! Records per second through `parse_stock → schema_filter`, as WebAssembly
//! plugins in the host and as the same Rust code compiled natively, over the
//! same in-memory records, at several batch sizes.
//!
//! Run: `cargo bench -p host --bench chain` (optionally `-- RECORDS`).
//! Prints one table; each figure is the median of 3 runs.

use host::plugin::batch::{BatchBuilder, InputRecord};
use host::plugin::{Chain, Limits, PluginSpec, Runtime};
use sluice_sdk::{Output, Transform};
use std::sync::Arc;
use std::time::Instant;

const WHERE: &str = "price > 50 AND ticker IN ('AAPL','MSFT')";

/// Tutorial-shaped records (about 80 bytes), deterministic.
fn records(n: usize) -> Vec<Vec<u8>> {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Records/s through the WASM chain; also returns how many records passed.
fn wasm(chain: &mut Chain, input: &[Vec<u8>], batch: usize) -> (f64, usize) {
    let start = Instant::now();
    let mut passed = 0;
    for chunk in input.chunks(batch) {
        let mut builder =
            BatchBuilder::with_capacity(chunk.len(), chunk.iter().map(Vec::len).sum());
        for (i, value) in chunk.iter().enumerate() {
            builder.push(&InputRecord {
                value: Some(value),
                offset: i as i64,
                ..Default::default()
            });
        }
        let out = chain.process(&builder.finish()).expect("the chain runs");
        passed += out.batch.records.len();
    }
    (input.len() as f64 / start.elapsed().as_secs_f64(), passed)
}

/// Records/s through the same plugin code compiled natively.
fn native(input: &[Vec<u8>], batch: usize) -> (f64, usize) {
    let mut parse = parse_stock::ParseStock::new(
        parse_stock::DEFAULT_SCHEMA,
        parse_stock::Mode::Permissive,
        None,
    )
    .unwrap();
    let mut filter =
        schema_filter::SchemaFilter::new(schema_filter::DEFAULT_SCHEMA, None, Some(WHERE)).unwrap();
    let start = Instant::now();
    let mut passed = 0;
    for chunk in input.chunks(batch) {
        let mut builder = sluice_sdk::BatchBuilder::new();
        for (i, value) in chunk.iter().enumerate() {
            builder.push(i as u32, Some(value));
        }
        let mut parsed = Output::new();
        parse.process_batch(&builder.finish(), &mut parsed).unwrap();
        let mut filtered = Output::new();
        filter
            .process_batch(&parsed.finish().batch, &mut filtered)
            .unwrap();
        passed += filtered.finish().batch.records.len();
    }
    (input.len() as f64 / start.elapsed().as_secs_f64(), passed)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let input = records(n);
    let runtime = Runtime::new(Limits::default(), None).expect("engine");
    let spec = |source: &str, config: &[(&str, &str)]| PluginSpec {
        source: source.into(),
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let plugins = vec![
        Arc::new(runtime.load(&spec("parse_stock", &[])).unwrap()),
        Arc::new(
            runtime
                .load(&spec("schema_filter", &[("where", WHERE)]))
                .unwrap(),
        ),
    ];
    let mut chain = Chain::new(&plugins).unwrap();
    println!("parse_stock -> schema_filter, {n} records, one core, median of 3 runs");
    println!("| batch size | WASM records/s | native records/s | WASM / native |");
    println!("|---:|---:|---:|---:|");
    for batch in [1usize, 64, 256, 1024] {
        let (mut w, mut nat) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let (rate, passed_w) = wasm(&mut chain, &input, batch);
            w.push(rate);
            let (rate, passed_n) = native(&input, batch);
            nat.push(rate);
            assert_eq!(
                passed_w, passed_n,
                "WASM and native must agree on the output"
            );
        }
        let (w, nat) = (median(w), median(nat));
        println!(
            "| {batch} | {:.2} M | {:.2} M | {:.2}x |",
            w / 1e6,
            nat / 1e6,
            w / nat
        );
    }
}
