//! P10: the cost of Spark SQL expressions in `schema_filter` and `select`.
//!
//! µs per record in memory on one core (batches of 1024, typed rows after
//! parse_stock, parse_stock's own time subtracted), the component's size and
//! its compile time. `--before PATH` adds an older `schema_filter.wasm` (for
//! example one built from the commit before the SQL parser changed) on the
//! predicates its grammar knows, for a before/after comparison in one run.
//!
//! Run: `cargo bench -p host --bench sql -- [RECORDS] [--before PATH]`.

use host::plugin::{Chain, Limits, Runtime};
use std::path::Path;

mod common;
use common::{batch, load, per_record, records};

const BATCH: usize = 1024;

/// (plugin, config key, text, whether the hand-written grammar knew it)
const CASES: &[(&str, &str, &str, bool)] = &[
    ("schema_filter", "where", "price > 50", true),
    (
        "schema_filter",
        "where",
        "price > 50 AND ticker IN ('AAPL', 'MSFT')",
        true,
    ),
    (
        "schema_filter",
        "where",
        "price BETWEEN 10 AND 50 AND ticker LIKE 'A%'",
        false,
    ),
    (
        "select",
        "exprs",
        "ticker, round(price * 0.92, 2) AS price_eur",
        false,
    ),
    (
        "select",
        "exprs",
        "ticker, upper(substring(ticker, 1, 2)) AS p, price * 2, CASE WHEN price > 50 THEN 'high' ELSE 'low' END AS band",
        false,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = common::count(&args, 200_000);
    let before = args
        .iter()
        .position(|a| a == "--before")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let input = records(n);
    let raw: Vec<_> = input.chunks(BATCH).map(batch).collect();
    // No compile cache: the compile time is measured.
    let runtime = Runtime::new(Limits::default(), None).expect("engine");
    let (parse, _) = load(&runtime, "parse_stock", &[]);
    let parsing = per_record(
        &mut Chain::new(std::slice::from_ref(&parse)).unwrap(),
        &raw,
        n,
    );

    println!(
        "P10: Spark SQL expressions, {n} records in memory, batches of {BATCH}, typed rows after parse_stock (its {:.3} µs/record subtracted), one core, median of 3 runs",
        parsing * 1e6
    );
    println!("| plugin | expression | µs/record | component | compile |");
    println!("|---|---|---:|---:|---:|");
    let mut sources: Vec<(String, String)> = Vec::new();
    for (plugin, key, text, old_grammar) in CASES {
        sources.clear();
        sources.push((plugin.to_string(), plugin.to_string()));
        if let Some(path) = before.as_ref().filter(|_| *old_grammar) {
            sources.push((format!("{plugin} (before)"), path.clone()));
        }
        for (label, source) in &sources {
            let (loaded, compile) = load(&runtime, source, &[(key, text)]);
            let size = match host::plugin::bundled::find(source) {
                Some(bytes) => bytes.len() as u64,
                None => std::fs::metadata(Path::new(source)).map_or(0, |m| m.len()),
            };
            let mut chain = Chain::new(&[parse.clone(), loaded]).unwrap();
            let cost = per_record(&mut chain, &raw, n) - parsing;
            println!(
                "| {label} | `{key}={text}` | {:.3} | {:.2} MB | {:.2} s |",
                cost * 1e6,
                size as f64 / 1e6,
                compile
            );
        }
    }
}
