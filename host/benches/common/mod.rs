//! What the benches share: the records they feed and how they summarise runs.

use host::data::batch::{BatchBuilder, InputRecord};
use host::plugin::bindings::Batch;
use host::plugin::{Chain, Plugin, PluginSpec, Runtime};
use std::sync::Arc;
use std::time::Instant;

/// Loads (compiles, unless cached) `source` with `config`; returns it and
/// how long that took, in seconds.
#[allow(dead_code)] // not every bench loads plugins by name
pub fn load(runtime: &Runtime, source: &str, config: &[(&str, &str)]) -> (Arc<Plugin>, f64) {
    let spec = PluginSpec {
        source: source.to_string(),
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let start = Instant::now();
    let plugin = runtime
        .load(&spec)
        .unwrap_or_else(|e| panic!("{source}: {e:#}"));
    (Arc::new(plugin), start.elapsed().as_secs_f64())
}

/// Runs the PySpark script `bench/SCRIPT` over `input` (one record per line)
/// as `python SCRIPT RECORDS.jsonl 3 RESULT.json`; returns the result.
#[allow(dead_code)] // not every bench compares with PySpark
pub fn pyspark(python: &str, script: &str, input: &[Vec<u8>]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("a temp dir");
    let records = dir.path().join("records.jsonl");
    let mut text = Vec::with_capacity(input.len() * 90);
    for r in input {
        text.extend_from_slice(r);
        text.push(b'\n');
    }
    std::fs::write(&records, text).expect("writing the records");
    let result = dir.path().join("result.json");
    let log = dir.path().join("spark.log");
    let path = format!("{}/../bench/{script}", env!("CARGO_MANIFEST_DIR"));
    let status = std::process::Command::new(python)
        .arg(&path)
        .arg(&records)
        .arg("3")
        .arg(&result)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .status()
        .unwrap_or_else(|e| panic!("running {path}: {e}"));
    assert!(
        status.success(),
        "{path} failed:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    serde_json::from_slice(&std::fs::read(&result).expect("its result")).expect("JSON")
}

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

/// The venv's python of `--python VENV_PYTHON`, if given.
#[allow(dead_code)] // not every bench compares with PySpark
pub fn python(args: &[String]) -> Option<String> {
    let at = args.iter().position(|a| a == "--python")?;
    Some(args.get(at + 1).expect("--python VENV_PYTHON").clone())
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
