//! P11: windowed aggregation (`window_agg`) in memory, and its state.
//!
//! The tutorial's windowed query, `parse_stock` (event_time as a timestamp)
//! then `window_agg` (1-minute windows, 10 s watermark, `avg(price),
//! count(*)`, append), over N ticks 10 ms apart in event time, in batches
//! of 1,024 on one core: records/s and µs per record (`parse_stock`'s own
//! time shown apart; every call includes the snapshot the host keeps for
//! trap recovery). Then the state: its snapshot size, and the time to
//! restore it into a fresh instance. With `--python VENV_PYTHON` (pyspark
//! installed), PySpark's batch job for the same query over the same records,
//! in the same run (bench/pyspark_windows.py).
//!
//! Run: `cargo bench -p host --bench windows -- [RECORDS] [--python VENV_PYTHON]`.

use host::data::batch::empty_batch;
use host::plugin::bindings::Batch;
use host::plugin::{Chain, Limits, Plugin, Runtime};
use std::sync::Arc;
use std::time::Instant;

mod common;
use common::{batch, load, median};

const BATCH: usize = 1024;
const SCHEMA: &str = "event_time timestamp, ticker string, price double";

/// Ticks 10 ms apart in event time, up to 3 s out of order, five tickers.
fn ticks(n: usize) -> Vec<Vec<u8>> {
    let tickers = ["AAPL", "AMZN", "MSFT", "INTC", "TBV"];
    (0..n)
        .map(|i| {
            let jitter = (i * 7919 % 7) as i64 - 3;
            let micros = 1_796_000_000_000_000 + i as i64 * 10_000 + jitter * 1_000_000;
            let time = sluice_sdk::time::json_timestamp(micros);
            let price = 100.0 + (i * 37 % 10_000) as f64 / 100.0;
            format!(
                r#"{{"event_time": "{time}", "ticker": "{}", "price": {price}}}"#,
                tickers[i * 31 % 5]
            )
            .into_bytes()
        })
        .collect()
}

/// Seconds per record of a fresh chain of `plugins` over `batches` (median
/// of 3; a stateful chain starts empty each run), and the rows it wrote.
fn run(plugins: &[Arc<Plugin>], batches: &[Batch], n: usize) -> (f64, usize, Chain) {
    let mut rows = 0;
    let mut last = None;
    let times = (0..3)
        .map(|_| {
            let mut chain = Chain::new(plugins).expect("a chain");
            rows = 0;
            let start = Instant::now();
            for b in batches {
                rows += chain.process(b).expect("the chain runs").len();
            }
            let empty = empty_batch();
            if let Some(out) = chain.tick(&empty).expect("the no-data batch") {
                rows += out.len();
            }
            let took = start.elapsed().as_secs_f64() / n as f64;
            last = Some(chain);
            took
        })
        .collect();
    (median(times), rows, last.expect("three runs"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = common::count(&args, 1_000_000);
    let python = common::python(&args);
    let input = ticks(n);
    let batches: Vec<Batch> = input.chunks(BATCH).map(batch).collect();
    let runtime = Runtime::new(Limits::default(), None).expect("engine");
    let (parse, _) = load(&runtime, "parse_stock", &[("schema", SCHEMA)]);
    let config = [("watermark", "10 seconds"), ("agg", "avg(price),count(*)")];
    let (agg, _) = load(&runtime, "window_agg", &config);
    let (parsing, _, _) = run(std::slice::from_ref(&parse), &batches, n);
    let (total, rows, chain) = run(&[parse, agg], &batches, n);
    println!(
        "P11: windowed aggregation, {n} ticks in memory, batches of {BATCH}, one core, median of 3 runs"
    );
    println!("| chain | records/s | µs/record | windows out |");
    println!("|---|---:|---:|---:|");
    println!(
        "| parse_stock (timestamp schema) | {:.2} M | {:.3} | |",
        1e-6 / parsing,
        parsing * 1e6
    );
    println!(
        "| parse_stock → window_agg | {:.2} M | {:.3} (window_agg {:.3}) | {rows} |",
        1e-6 / total,
        total * 1e6,
        (total - parsing) * 1e6
    );
    // The state: the open windows at the end of the stream.
    let stage = chain.stateful().expect("window_agg keeps state");
    let memory = stage.memory().clone();
    let bytes = memory.snapshot.as_ref().map_or(0, Vec::len);
    let mut fresh = Chain::new(&[load(&runtime, "window_agg", &config).0]).expect("a chain");
    let restores: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            fresh
                .stateful_mut()
                .expect("stateful")
                .set_memory(memory.clone())
                .expect("restored");
            start.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "state at the end: {bytes} bytes of snapshot; a new instance restored from it in {:.2} ms (median of 5, instantiation included)",
        median(restores) * 1e3
    );
    if let Some(python) = python {
        let spark = common::pyspark(&python, "pyspark_windows.py", &input);
        let rate = |k: &str| {
            median(
                spark[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect(),
            )
        };
        let sluice = 1.0 / total;
        println!("| PySpark batch job, same query | records/s | Sluice's ratio | windows |");
        println!("|---|---:|---:|---:|");
        for master in ["local[1]", "local[2]"] {
            println!(
                "| {master} | {:.2} M | {:.1}x | {} |",
                rate(master) / 1e6,
                sluice / rate(master),
                spark["windows"]
            );
        }
    }
}
