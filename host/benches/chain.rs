//! Records per second through `parse_stock → schema_filter(price > 50)` and
//! the sink's JSON encoding, as WebAssembly plugins in the host, beside the
//! same job written as an ordinary native Rust program (`bench/native`:
//! serde_json derive, borrowed strings) and the plugins' own code compiled
//! natively, over the same in-memory records, at several batch sizes.
//!
//! `host test` end to end beside it: the release `host` over a file of the
//! same records (`-f json` and `-f table` to /dev/null), against the native
//! program reading the same file and writing the same JSON lines.
//!
//! P2 beside it: the same records through one chain per core (two threads here) and, given
//! `--python /ABSOLUTE/VENV_PYTHON` (with pyspark installed; cargo runs benches in host/),
//! through PySpark's `from_json` in local[2] (bench/pyspark_p2.py), as a batch job and as a
//! streaming query to the console.
//!
//! Run: `cargo bench -p host --bench chain -- [RECORDS] [--batch N] [--python VENV_PYTHON]`.
//! Prints one table per row; each figure is the median of 3 runs.

use host::plugin::{Chain, Limits, Plugin, Runtime};
use host::sink::console::json_lines;
use sluice_sdk::{Input, Output, Transform};
use std::sync::Arc;
use std::time::Instant;

mod common;
use common::{median, records};

const WHERE: &str = "price > 50";

/// Records/s through the WASM chain; also returns how many records passed.
fn wasm(chain: &mut Chain, input: &[Vec<u8>], batch: usize) -> (f64, usize) {
    let start = Instant::now();
    let mut passed = 0;
    for chunk in input.chunks(batch) {
        let batch = common::batch(chunk);
        let out = chain.process(&batch).expect("the chain runs");
        passed += out.len();
        // What the sink does: one JSON line per row.
        std::hint::black_box(json_lines(&out));
    }
    (input.len() as f64 / start.elapsed().as_secs_f64(), passed)
}

/// Records/s through the ordinary native program (`bench/native`).
fn ordinary(joined: &[u8], records: usize) -> (f64, usize) {
    let start = Instant::now();
    let mut out = Vec::with_capacity(joined.len());
    let kept = native_tutorial::run(joined, &mut out).expect("writing to a Vec");
    std::hint::black_box(out);
    (records as f64 / start.elapsed().as_secs_f64(), kept)
}

/// Records/s through the same plugin code compiled natively.
fn native(input: &[Vec<u8>], batch: usize) -> (f64, usize) {
    let mut parse = parse_stock::ParseStock::new(
        parse_stock::DEFAULT_SCHEMA,
        parse_stock::Mode::Permissive,
        None,
        Default::default(),
    )
    .unwrap();
    let mut filter = schema_filter::SchemaFilter::new(
        schema_filter::DEFAULT_SCHEMA,
        None,
        Some(WHERE),
        Default::default(),
    )
    .unwrap();
    let start = Instant::now();
    let mut passed = 0;
    for chunk in input.chunks(batch) {
        let mut builder = sluice_sdk::BatchBuilder::new();
        for value in chunk {
            builder.push(Some(value));
        }
        // As the exported `process` does.
        let input = builder.finish();
        let rows = Input::new(&input);
        let mut parsed = Output::new(parse.schema(), rows.len());
        parse.process_batch(&rows, &mut parsed).unwrap();
        let sluice_sdk::wit::types::Produced::Batch(parsed) = parsed.finish().unwrap().produced
        else {
            panic!("parse_stock returns rows")
        };
        let rows = Input::new(&parsed);
        let mut filtered = Output::new(filter.schema(), rows.len());
        filter.process_batch(&rows, &mut filtered).unwrap();
        passed += match filtered.finish().unwrap().produced {
            sluice_sdk::wit::types::Produced::Selection(keep) => keep.len(),
            sluice_sdk::wit::types::Produced::Batch(b) => b.len as usize,
        };
    }
    (input.len() as f64 / start.elapsed().as_secs_f64(), passed)
}

/// Records/s through one chain per thread, the input split evenly between them.
fn wasm_threads(plugins: &[Arc<Plugin>], input: &[Vec<u8>], threads: usize) -> f64 {
    let mut chains: Vec<Chain> = (0..threads).map(|_| Chain::new(plugins).unwrap()).collect();
    let start = Instant::now();
    std::thread::scope(|s| {
        for (chain, part) in chains
            .iter_mut()
            .zip(input.chunks(input.len().div_ceil(threads)))
        {
            s.spawn(move || wasm(chain, part, 1024));
        }
    });
    input.len() as f64 / start.elapsed().as_secs_f64()
}

/// `host test` over a file against the native program over the same file.
fn end_to_end(joined: &[u8], n: usize) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("ticks.jsonl");
    std::fs::write(&file, joined).expect("writing the records");
    let host = |format: &str| {
        let start = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .args(["test", "-p", "parse_stock", "-p", "schema_filter"])
            .args(["--config", &format!("schema_filter.where={WHERE}")])
            .arg("--input")
            .arg(&file)
            .args(["-f", format, "--batch-size", "1024"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running host test");
        assert!(status.success());
        start.elapsed().as_secs_f64()
    };
    let native = || {
        let start = Instant::now();
        let input = std::fs::read(&file).expect("reading the records");
        let devnull = std::fs::File::create("/dev/null").expect("/dev/null");
        let mut out = std::io::BufWriter::new(devnull);
        native_tutorial::run(&input, &mut out).expect("writing");
        drop(out);
        start.elapsed().as_secs_f64()
    };
    let (json, table, plain): (Vec<f64>, Vec<f64>, Vec<f64>) = (0..3)
        .map(|_| (host("json"), host("table"), native()))
        .fold(
            (vec![], vec![], vec![]),
            |(mut a, mut b, mut c), (x, y, z)| {
                a.push(x);
                b.push(y);
                c.push(z);
                (a, b, c)
            },
        );
    let (json, table, plain) = (median(json), median(table), median(plain));
    println!("\n`host test` end to end, {n} records from a file to /dev/null, median of 3 runs");
    println!("| what | seconds | records/s | speed / native program |");
    println!("|---|---:|---:|---:|");
    for (what, secs) in [
        ("native program (bench/native), JSON lines", plain),
        ("`host test -p parse_stock -p schema_filter -f json`", json),
        ("`host test … -f table` (20 rows shown)", table),
    ] {
        println!(
            "| {what} | {secs:.3} | {:.2} M | {:.2}x |",
            n as f64 / secs / 1e6,
            plain / secs
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = common::count(&args, 1_000_000);
    let python = common::python(&args);
    let input = records(n);
    let runtime = Runtime::new(Limits::default(), None).expect("engine");
    let plugins = vec![
        common::load(&runtime, "parse_stock", &[]).0,
        common::load(&runtime, "schema_filter", &[("where", WHERE)]).0,
    ];
    let mut chain = Chain::new(&plugins).unwrap();
    let mut joined = Vec::with_capacity(n * 90);
    for r in &input {
        joined.extend_from_slice(r);
        joined.push(b'\n');
    }
    println!(
        "P1: parse_stock -> schema_filter(price > 50) -> JSON lines, {n} records in memory, one core, median of 3 runs"
    );
    println!(
        "| batch size | Sluice (WASM) records/s | ordinary native program | Sluice / native | plugin code compiled natively | host + boundary + JSON out, ns/record |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    // `--batch N` measures one batch size only (for profiling: `valgrind --tool=callgrind`).
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--batch") {
        Some(i) => vec![args[i + 1].parse().expect("--batch N")],
        None => vec![1, 64, 256, 1024],
    };
    for batch in sizes {
        let (mut w, mut ord, mut nat) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..3 {
            let (rate, passed_w) = wasm(&mut chain, &input, batch);
            w.push(rate);
            let (rate, passed_o) = ordinary(&joined, n);
            ord.push(rate);
            let (rate, passed_n) = native(&input, batch);
            nat.push(rate);
            assert_eq!(
                (passed_w, passed_w),
                (passed_n, passed_o),
                "WASM, the plugins natively and the native program must agree on the output"
            );
        }
        let (w, ord, nat) = (median(w), median(ord), median(nat));
        println!(
            "| {batch} | {:.2} M | {:.2} M | {:.2}x | {:.2} M | {:.0} |",
            w / 1e6,
            ord / 1e6,
            w / ord,
            nat / 1e6,
            (1.0 / w - 1.0 / nat) * 1e9
        );
    }

    if args.iter().any(|a| a == "--batch") {
        return;
    }
    end_to_end(&joined, n);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let both = median(
        (0..3)
            .map(|_| wasm_threads(&plugins, &input, cores))
            .collect(),
    );
    println!("\nP2: the same records, one chain per core ({cores} threads), batch size 1024");
    println!(
        "| Sluice records/s | PySpark batch (noop sink) | ratio | PySpark streaming (console) | ratio | SparkSession start |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    match python {
        None => println!("| {:.2} M | (no --python) | | | | |", both / 1e6),
        Some(python) => {
            let spark = common::pyspark(&python, "pyspark_p2.py", &input);
            let rates = |k: &str| {
                median(
                    spark[k]
                        .as_array()
                        .expect("a list of rates")
                        .iter()
                        .filter_map(serde_json::Value::as_f64)
                        .collect(),
                )
            };
            let (batch, streaming) = (rates("batch"), rates("streaming"));
            println!(
                "| {:.2} M | {:.2} M | {:.1}x | {:.2} M | {:.1}x | {:.1} s |",
                both / 1e6,
                batch / 1e6,
                both / batch,
                streaming / 1e6,
                both / streaming,
                spark["session_s"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
}
