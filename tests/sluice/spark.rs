//! The tutorial's own PySpark consumer (`tests/spark/consume.py`: Spark's Kafka source,
//! `from_json`, the console sink) and `host run -p parse_stock` read the same Kafka topic and
//! must print the same thing: every `Batch: N` table character for character on one partition,
//! the same rows on three.

use crate::kafka::parse_stock_args;
use sluice_tests::{Broker, Record, host_bounded, test_python};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);

/// What the tutorial's producer sends, then what real topics also carry: nulls, bad JSON,
/// wrong types, unicode, escapes, and doubles Java prints in its own way.
fn tutorial_records() -> Vec<Record> {
    let tickers = ["AAPL", "AMZN", "MSFT", "INTC", "TBV"];
    let mut values: Vec<Option<Vec<u8>>> = (0..30)
        .map(|i| {
            Some(
                format!(
                    r#"{{"event_time": "2026-11-25T12:{:02}:{:02}.{:06}", "ticker": "{}", "price": {}}}"#,
                    i / 60,
                    i % 60,
                    (i * 7919) % 1_000_000,
                    tickers[i % 5],
                    ((i * 3761) % 10_000) as f64 / 100.0
                )
                .into_bytes(),
            )
        })
        .collect();
    let odd: &[&[u8]] = &[
        br#"{"event_time": "2026-11-25T12:00:01", "ticker": "AAPL", "price": 100}"#,
        br#"{"event_time": "t", "ticker": "BIG", "price": 1e7}"#,
        br#"{"event_time": "t", "ticker": "TINY", "price": 1e-7}"#,
        br#"{"event_time": "t", "ticker": "MAX", "price": 1.7976931348623157e308}"#,
        br#"{"event_time": "t", "ticker": "MIN", "price": 5e-324}"#,
        br#"{"event_time": "t", "ticker": "NEG0", "price": -0.0}"#,
        br#"{"event_time": "t", "ticker": "LONG", "price": 123456789012.5}"#,
        br#"{"event_time": "t", "ticker": "MILLI", "price": 0.001}"#,
        br#"{"event_time": "t", "ticker": "STR", "price": "abc"}"#,
        br#"{"event_time": "t", "ticker": "NAN", "price": "NaN"}"#,
        br#"{"event_time": "t", "ticker": "INF", "price": "Infinity"}"#,
        br#"{"event_time": "t", "ticker": "NINF", "price": "-INF"}"#,
        br#"{"event_time": "x", "ticker":"#,
        b"",
        b"   ",
        br#"{}"#,
        br#"[1, 2]"#,
        br#"{"event_time": 12, "ticker": {"a": [1, 2]}, "price": 2.5}"#,
        br#"{"ticker": "DUP", "ticker": "LAST", "price": 3}"#,
        r#"{"event_time": "2026-11-25T12:00:02", "ticker": "Ünïcödé", "price": 1.5}"#.as_bytes(),
        r#"{"event_time": "2026-11-25T12:00:03", "ticker": "日本語", "price": 2.5}"#.as_bytes(),
        r#"{"event_time": "2026-11-25T12:00:04", "ticker": "📈up", "price": 3.5}"#.as_bytes(),
        br#"{"event_time": "line\nbreak\ttab", "ticker": "Q\"T\\", "price": 4.5}"#,
        br#"{"event_time": "a very long event time that Spark cuts", "ticker": null, "price": null}"#,
        br#"{"Ticker": "CASE", "price": 9.75, "extra": true}"#,
    ];
    values.extend(odd.iter().map(|v| Some(v.to_vec())));
    values.insert(12, None);
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Record {
            value,
            ..Record::new(&format!("k{i}"), b"")
        })
        .collect()
}

/// The tutorial's consumer on `topic`, `per_trigger` offsets per micro-batch, until it has
/// read what was there: what it printed.
fn spark(broker: &Broker, topic: &str, per_trigger: usize) -> String {
    let _heavy = sluice_tests::heavy();
    let out = Command::new(test_python(None))
        .arg("-u")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/spark/consume.py"))
        .args([&broker.addr, topic, &per_trigger.to_string()])
        .output()
        .expect("running PySpark (scripts/test installs it into target/py)");
    assert!(
        out.status.success(),
        "the tutorial's PySpark consumer failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("Spark prints UTF-8")
}

/// `host run -p parse_stock` on `topic`, `per_batch` records per micro-batch, until it has
/// read what was there: what it printed.
fn sluice(broker: &Broker, topic: &str, per_batch: usize) -> String {
    let per_batch = per_batch.to_string();
    let flags = [
        "--group",
        topic,
        "--starting-offsets",
        "earliest",
        "--available-now",
    ];
    let flags = [&flags[..], &["--max-records-per-batch", &per_batch]].concat();
    let run = host_bounded(&parse_stock_args(broker, topic, &flags), LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

/// The `Batch: N` blocks of a console output, each up to the next one (or the end).
fn batches(text: &str) -> Vec<String> {
    let border = "-------------------------------------------\nBatch: ";
    let starts: Vec<usize> = text.match_indices(border).map(|(at, _)| at).collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &at)| text[at..starts.get(i + 1).copied().unwrap_or(text.len())].to_string())
        .collect()
}

/// The `root` schema trees a console output printed.
fn schemas(text: &str) -> Vec<String> {
    text.match_indices("root\n")
        .filter(|(at, _)| *at == 0 || text[..*at].ends_with('\n'))
        .map(|(at, _)| {
            let tree = &text[at..];
            tree[..tree.find("\n\n").map(|e| e + 2).unwrap_or(tree.len())].to_string()
        })
        .collect()
}

/// The first line where `ours` and `spark` differ, for a failure message.
fn first_difference(ours: &str, spark: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), spark.lines().collect());
    (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .map(|i| {
            format!(
                "line {}: Sluice {:?}, Spark {:?}",
                i + 1,
                a.get(i),
                b.get(i)
            )
        })
        .unwrap_or_default()
}

#[test]
fn the_tutorials_pyspark_consumer_and_parse_stock_print_the_same_tables() {
    let broker = Broker::start();
    broker.create_topic("spark-one", 1);
    let records = tutorial_records();
    broker.produce("spark-one", &records);
    let spark_out = spark(&broker, "spark-one", 25);
    let ours = sluice(&broker, "spark-one", 25);

    // The tutorial prints the Kafka source's schema, then the parsed one: Sluice prints the latter.
    let spark_schemas = schemas(&spark_out);
    assert_eq!(spark_schemas.len(), 2, "{spark_out}");
    assert_eq!(schemas(&ours), spark_schemas[1..], "{ours}");

    let (theirs, ours) = (batches(&spark_out), batches(&ours));
    assert_eq!(
        theirs.len(),
        records.len().div_ceil(25),
        "Spark's batches:\n{spark_out}"
    );
    assert_eq!(ours.len(), theirs.len(), "{}", ours.concat());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!(
            a == b,
            "Batch {i} differs at {}\n--- Sluice:\n{a}--- Spark:\n{b}",
            first_difference(a, b)
        );
    }
}

/// The table rows of a console output (not borders or headers), each as its cells without
/// the padding (which follows the widest cell of its batch), sorted.
fn rows(text: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = batches(text)
        .iter()
        .flat_map(|b| {
            b.lines()
                .filter(|l| l.starts_with('|'))
                .skip(1)
                .map(|l| {
                    l.trim_matches('|')
                        .split('|')
                        .map(|cell| cell.trim().to_string())
                        .collect()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn on_three_partitions_pyspark_and_parse_stock_print_the_same_rows() {
    let broker = Broker::start();
    broker.create_topic("spark-three", 3);
    // Spread by key over the three partitions; tables of up to 20 rows print in full.
    let records = tutorial_records();
    broker.produce("spark-three", &records);
    let (theirs, ours) = (
        rows(&spark(&broker, "spark-three", 20)),
        rows(&sluice(&broker, "spark-three", 20)),
    );
    assert_eq!(theirs.len(), records.len(), "{theirs:#?}");
    assert_eq!(ours, theirs);
}
