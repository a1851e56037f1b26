//! Windows and state: `window_agg` against Spark's own answers, and its
//! state through restarts, SIGKILLs and traps.
//!
//! `tests/windows/spark_reference.py` ran the tutorial's windowed query
//! (`withWatermark` + `groupBy(window(...), ticker).agg(...)`) with PySpark
//! 4.3 over `tests/windows/input.jsonl` (out-of-order and late ticks, a
//! null time, a null price), one micro-batch per `batch` lines, in append,
//! update (sliding windows) and complete mode, and wrote each console
//! output; `host test -f console` must print exactly that.

use crate::kafka::to_kafka_args;
use serde_json::Value;
use sluice_tests::{Broker, Record, Run, guest, host, host_bounded, kill_repeatedly, spawn_host};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

const SCHEMA: &str = "parse_stock.schema=event_time timestamp, ticker string, price double";

fn windows_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("windows")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `host test -p parse_stock -p PLUGIN` over `input`, with `--config C`
/// for each of `configs`, then `extra`.
fn host_test<S: AsRef<str>>(plugin: &str, configs: &[S], extra: &[&str], input: &str) -> Run {
    let mut args = vec!["test", "-p", "parse_stock", "-p", plugin];
    for c in configs {
        args.extend(["--config", c.as_ref()]);
    }
    args.extend(extra);
    host(&args, input)
}

/// The `--config window_agg.KEY=VALUE` flags of a reference case.
pub fn case_config(case: &Value) -> Vec<String> {
    case["config"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("window_agg.{k}={}", v.as_str().unwrap()))
        .collect()
}

#[test]
fn console_output_equals_sparks_in_every_output_mode() {
    let cases: Value = serde_json::from_str(&windows_file("cases.json")).unwrap();
    let input = windows_file("input.jsonl");
    for (name, case) in cases.as_object().unwrap() {
        let batch = case["batch"].as_u64().unwrap().to_string();
        let mut config = case_config(case);
        config.push(SCHEMA.to_string());
        let extra = ["-f", "console", "--batch-size", &batch];
        let run = host_test("window_agg", &config, &extra, &input);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let expected = windows_file(&format!("expected-{name}.txt"));
        assert_eq!(
            run.stdout, expected,
            "{name} mode: Sluice's console differs from Spark's (tests/windows/expected-{name}.txt)"
        );
    }
}

#[test]
fn a_bad_window_config_names_the_key_and_the_fix() {
    let input = windows_file("input.jsonl");
    let cases = [
        ("window_agg.window=1 month", "unknown unit \"month\""),
        ("window_agg.watermark=none", "without a watermark"),
        ("window_agg.agg=median(price)", "unknown aggregate"),
        (
            "window_agg.output_mode=sideways",
            "not append, update or complete",
        ),
    ];
    for (config, wanted) in cases {
        let run = host_test("window_agg", &[SCHEMA, config], &[], &input);
        assert_eq!(run.code, 2, "{config}: {}", run.stderr);
        assert!(
            run.stderr.contains(wanted) && run.stderr.contains("window_agg"),
            "{config}: {}",
            run.stderr
        );
    }
    // The event time must be a timestamp: the tutorial's schema reads it as a string.
    let run = host_test(
        "window_agg",
        &["window_agg.watermark=10 seconds"],
        &[],
        &input,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("\"event_time\"") && run.stderr.contains("timestamp"),
        "{}",
        run.stderr
    );
}

/// The aggregate of one window of one ticker, as window_agg writes it to Kafka.
#[derive(Debug, Clone, PartialEq)]
struct Aggregate {
    count: i64,
    avg: f64,
}

/// Each aggregate written to `topic`, in order, by (window start, ticker).
fn writes(broker: &Broker, topic: &str, expect: usize) -> Vec<((String, String), Aggregate)> {
    let rows = broker.read(topic, expect, LIMIT).into_iter().map(|r| {
        let row: Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        let key = (
            row["window"]["start"].as_str().unwrap().to_string(),
            row["ticker"].as_str().unwrap().to_string(),
        );
        let agg = Aggregate {
            count: row["count(1)"].as_i64().unwrap(),
            avg: row["avg(price)"].as_f64().unwrap(),
        };
        (key, agg)
    });
    rows.collect()
}

/// The last aggregate written for each (window start, ticker) of `topic`
/// (a window may be written again after a crash; the last one counts).
fn aggregates(
    broker: &Broker,
    topic: &str,
    expect: usize,
) -> BTreeMap<(String, String), Aggregate> {
    writes(broker, topic, expect).into_iter().collect()
}

/// Produces `n` ticks per call, keyed by ticker, event time half a second
/// apart with up to 3 s of disorder (less than the 10 s watermark delay, so
/// no record is ever late, however the batches fall), prices in quarters
/// (so every sum is exact whatever order it is added in).
struct Ticks {
    next: usize,
    /// Keyed by ticker (else no key, as the tutorial's producer sends them).
    keyed: bool,
}

const TICKERS: [&str; 4] = ["AAPL", "AMZN", "GOOGL", "MSFT"];

impl Ticks {
    fn chunk(&mut self, n: usize) -> Vec<Record> {
        let start = self.next;
        self.next += n;
        (start..self.next)
            .map(|i| {
                let jitter = (i * 7919 % 7) as i64 - 3;
                let micros = 1_796_000_000_000_000 + i as i64 * 500_000 + jitter * 1_000_000;
                let time = sluice_sdk::time::json_timestamp(micros);
                let ticker = TICKERS[i * 31 % 4];
                let price = 100.0 + (i * 37 % 400) as f64 / 4.0;
                let value =
                    format!(r#"{{"event_time":"{time}","ticker":"{ticker}","price":{price}}}"#);
                let mut record = Record::new(ticker, value.as_bytes());
                if !self.keyed {
                    record.key = None;
                }
                record
            })
            .collect()
    }
}

/// What window_agg must report, computed from the input itself: per
/// partition, the windows its final watermark (max event time − 10 s)
/// closed, each ticker's count and exact average.
fn expected(input: &[Record]) -> BTreeMap<(String, String), Aggregate> {
    let minute = 60_000_000i64;
    let mut latest: BTreeMap<i32, i64> = BTreeMap::new();
    let mut sums: BTreeMap<(i32, i64, String), (i64, f64)> = BTreeMap::new();
    for r in input {
        let row: Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        let t = sluice_sdk::time::parse_timestamp(row["event_time"].as_str().unwrap()).unwrap();
        let p = r.partition.unwrap();
        let top = latest.entry(p).or_insert(t);
        *top = (*top).max(t);
        let start = t - t.rem_euclid(minute);
        let entry = sums
            .entry((p, start, row["ticker"].as_str().unwrap().to_string()))
            .or_default();
        entry.0 += 1;
        entry.1 += row["price"].as_f64().unwrap();
    }
    sums.into_iter()
        .filter(|((p, start, _), _)| start + minute <= latest[p] - 10_000_000)
        .map(|((_, start, ticker), (count, sum))| {
            let start = sluice_sdk::time::json_timestamp(start);
            (
                (start, ticker),
                Aggregate {
                    count,
                    avg: sum / count as f64,
                },
            )
        })
        .collect()
}

/// `host run` of the windowed query on `topic` into the Kafka topic `out`.
fn windowed(broker: &Broker, topic: &str, group: &str, out: &str, extra: &[&str]) -> Vec<String> {
    let chain = ["-p", "parse_stock", "-p", "window_agg", "--config", SCHEMA];
    let mut flags = vec!["--group", group, "--create-topics"];
    flags.extend(["--config", "window_agg.agg=avg(price),count(*)"]);
    flags.extend([
        "-X",
        "session.timeout.ms=6000",
        "-X",
        "max.poll.interval.ms=10000",
    ]);
    flags.extend(extra);
    let args = to_kafka_args(broker, &chain, topic, out, &flags);
    args.into_iter().map(String::from).collect()
}

#[test]
fn ten_sigkills_while_aggregating_neither_lose_nor_double_count() {
    let broker = Broker::start();
    broker.create_topic("kills-ticks", 3);
    let agg = |group: &str, out: &str, extra: &[&str]| {
        windowed(
            &broker,
            "kills-ticks",
            group,
            out,
            &[&["--max-records-per-batch", "40"], extra].concat(),
        )
    };
    // A steady load while the host is killed at random moments.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (addr, stop) = (broker.addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let broker = Broker::attach(&addr);
            let mut ticks = Ticks {
                next: 0,
                keyed: true,
            };
            while !stop.load(Ordering::Relaxed) {
                broker.produce("kills-ticks", &ticks.chunk(40));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let crashy = agg("crashy", "kills-agg", &[]);
    let crashy: Vec<&str> = crashy.iter().map(String::as_str).collect();
    // Each at a random moment up to 1.5 s after the run first commits.
    let killed = kill_repeatedly(
        &crashy,
        10,
        "the kills",
        || broker.committed_total("crashy", "kills-ticks", 3),
        |_| {},
        LIMIT,
    );
    let restored: usize = killed
        .iter()
        .map(|k| {
            k.stderr
                .matches("restored the state of kills-ticks[")
                .count()
        })
        .sum();
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let last = spawn_host(&[&crashy[..], &["--available-now"]].concat(), &[]).wait(LIMIT);
    assert_eq!(last.code, 0, "{}", last.stderr);
    // The same input, never interrupted.
    let clean = agg("clean", "agg-clean", &["--available-now"]);
    let clean: Vec<&str> = clean.iter().map(String::as_str).collect();
    let run = host_bounded(&clean, LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let input = broker.read("kills-ticks", 1, LIMIT);
    let want = expected(&input);
    assert!(
        want.len() > 40,
        "{} windows closed: the load was too short",
        want.len()
    );
    assert!(
        restored > 0,
        "no host restored a checkpoint: the kills came too early"
    );
    let clean = aggregates(&broker, "agg-clean", want.len());
    assert_eq!(
        differences(&clean, &want),
        "",
        "the crash-free run vs the input"
    );
    let written = writes(&broker, "kills-agg", want.len());
    // Every write, not only the last of each window: one written wrong and again right fails.
    let wrong: Vec<String> = written
        .iter()
        .filter(|(window, agg)| want.get(window).is_some_and(|w| w != agg))
        .take(10)
        .map(|(window, agg)| format!("{window:?}: wrote {agg:?}, want {:?}", want[window]))
        .collect();
    assert!(wrong.is_empty(), "after 10 SIGKILLs: {wrong:#?}");
    let crashed: BTreeMap<_, _> = written.iter().cloned().collect();
    let written = written.len();
    eprintln!(
        "10 kills, {} records, {} windows exact, {} written ({} again after a crash), {restored} restores",
        input.len(),
        want.len(),
        written,
        written.saturating_sub(want.len())
    );
    assert_eq!(
        differences(&crashed, &want),
        "",
        "after 10 SIGKILLs ({} input records)",
        input.len()
    );
}

/// Where `got` and `want` differ, at most ten windows, as text ("" when equal).
fn differences(
    got: &BTreeMap<(String, String), Aggregate>,
    want: &BTreeMap<(String, String), Aggregate>,
) -> String {
    let keys: std::collections::BTreeSet<_> = got.keys().chain(want.keys()).collect();
    let lines: Vec<String> = keys
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .map(|k| format!("{k:?}: got {:?}, want {:?}", got.get(k), want.get(k)))
        .collect();
    let more = lines.len().saturating_sub(10);
    let mut text = lines.into_iter().take(10).collect::<Vec<_>>().join("\n");
    if more > 0 {
        text.push_str(&format!("\n… and {more} more"));
    }
    text
}

#[test]
fn a_trapping_stateful_plugin_keeps_exact_counts() {
    // Every instance traps in its third call, after counting: the host
    // replaces it, restores the state as of the last good call and retries.
    let input = windows_file("input.jsonl");
    let counter = guest("trapping_counter");
    let run = host_test(
        counter,
        &[SCHEMA],
        &["--batch-size", "7", "-f", "json"],
        &input,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.matches("retrying").count() >= 3,
        "the plugin was meant to trap repeatedly:\n{}",
        run.stderr
    );
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for line in run.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        last.insert(
            row["ticker"].as_str().unwrap().into(),
            row["count"].as_i64().unwrap(),
        );
    }
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for line in input.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        *want
            .entry(row["ticker"].as_str().unwrap().into())
            .or_default() += 1;
    }
    assert_eq!(last, want, "counts after repeated traps");
}

#[test]
fn one_host_or_three_in_a_group_give_the_same_aggregates() {
    // The tutorial's producer sends no key: the ticks are re-keyed by ticker
    // first (a repartition), so each ticker's windows live in one partition.
    let broker = Broker::start();
    broker.create_topic("groups-ticks", 1);
    broker.create_topic("by-ticker", 6);
    let mut ticks = Ticks {
        next: 0,
        keyed: false,
    };
    broker.produce("groups-ticks", &ticks.chunk(1500));
    let parse = ["-p", "parse_stock", "--config", SCHEMA];
    let flags = [
        "--group",
        "repartition",
        "--key-by",
        "ticker",
        "--available-now",
    ];
    let repartition = host_bounded(
        &to_kafka_args(&broker, &parse, "groups-ticks", "by-ticker", &flags),
        LIMIT,
    );
    assert_eq!(repartition.code, 0, "{}", repartition.stderr);
    let rekeyed = broker.read("by-ticker", 1500, LIMIT);
    for r in &rekeyed {
        let row: Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        assert_eq!(
            r.key_str(),
            row["ticker"].as_str().unwrap(),
            "keyed by ticker"
        );
    }
    let one = windowed(
        &broker,
        "by-ticker",
        "one",
        "agg-one",
        &["--available-now", "--max-records-per-batch", "40"],
    );
    let one: Vec<&str> = one.iter().map(String::as_str).collect();
    let run = host_bounded(&one, LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let three = windowed(
        &broker,
        "by-ticker",
        "three",
        "agg-three",
        &["--available-now"],
    );
    let three: Vec<&str> = three.iter().map(String::as_str).collect();
    let hosts: Vec<_> = (0..3)
        .map(|_| spawn_host(&three, &[("SLUICE_LOG", "info")]))
        .collect();
    let runs: Vec<_> = hosts.into_iter().map(|h| h.wait(LIMIT)).collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let shared = runs
        .iter()
        .filter(|r| r.stderr.contains("assigned partitions: by-ticker["))
        .count();
    assert!(shared >= 2, "the three hosts did not share the partitions");

    let want = expected(&rekeyed);
    assert!(want.len() > 20, "{} windows closed", want.len());
    let one = aggregates(&broker, "agg-one", want.len());
    assert_eq!(differences(&one, &want), "", "one host vs the input");
    let three = aggregates(&broker, "agg-three", want.len());
    assert_eq!(differences(&three, &want), "", "three hosts vs the input");
}

#[test]
fn progress_reports_the_watermark_late_rows_and_the_state() {
    let broker = Broker::start();
    broker.create_topic("wm-ticks", 1);
    // 30 ticks a second apart, one ten minutes late, then 10 more: batches of 10.
    let tick = |second: i64| {
        let time = sluice_sdk::time::json_timestamp(1_796_000_000_000_000 + second * 1_000_000);
        let value = format!(r#"{{"event_time":"{time}","ticker":"AAPL","price":1.0}}"#);
        Record::new("AAPL", value.as_bytes())
    };
    let mut records: Vec<Record> = (0..30).map(tick).collect();
    records.push(tick(30 - 600));
    records.extend((31..41).map(tick));
    broker.produce("wm-ticks", &records);
    let dir = tempfile::tempdir().unwrap();
    let progress = dir.path().join("progress.jsonl");
    let progress = progress.to_str().unwrap();
    let extra = [
        "--available-now",
        "--progress",
        progress,
        "--max-records-per-batch",
        "10",
    ];
    let args = windowed(&broker, "wm-ticks", "wm-g", "wm-agg", &extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = host_bounded(&args, LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reports: Vec<Value> = std::fs::read_to_string(progress)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["numInputRows"].as_u64() > Some(0))
        .collect();
    let last = reports.last().expect("a report of a batch");
    // The watermark after the last batch: the latest event time less 10 s.
    let want = sluice_sdk::time::json_timestamp(1_796_000_000_000_000 + 30 * 1_000_000);
    assert_eq!(last["eventTime"]["watermark"], want.as_str(), "{last}");
    let state = &last["stateOperators"][0];
    assert_eq!(state["operatorName"], "window_agg", "{last}");
    assert!(state["memoryUsedBytes"].as_u64() > Some(0), "{last}");
    let late: u64 = reports
        .iter()
        .map(|r| {
            r["stateOperators"][0]["numRowsDroppedByWatermark"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        late, 1,
        "the tick ten minutes late is dropped and counted once"
    );
}

#[test]
fn check_names_the_state_and_its_changelog_topic() {
    let args = [
        "run",
        "-p",
        "parse_stock",
        "--config",
        SCHEMA,
        "-p",
        "window_agg",
        "--group",
        "averages",
        "--check",
    ];
    let run = host(&args, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("stateful-transform")
            && run
                .stdout
                .contains("window struct<start: timestamp, end: timestamp>")
            && run
                .stdout
                .contains("checkpointed to the compacted topic \"averages-window_agg-changelog\""),
        "{}",
        run.stdout
    );
    // The tutorial's schema reads event_time as a string: named, with the fix.
    let run = host(
        &["run", "-p", "parse_stock", "-p", "window_agg", "--check"],
        "",
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("must be a timestamp")
            && run
                .stderr
                .contains("parse_stock.schema=event_time timestamp"),
        "{}",
        run.stderr
    );
}

#[test]
fn state_over_what_a_checkpoint_holds_stops_the_pipeline_naming_the_plugin() {
    // 60,000 tickers in one open window: window_agg's state for the partition grows past the
    // 900 KiB one changelog record holds (at about 40,000).
    let broker = Broker::start();
    broker.create_topic("wide-ticks", 1);
    let total = 60_000;
    let records: Vec<Record> = (0..total)
        .map(|i| {
            let tick = format!(
                r#"{{"event_time": "2026-11-25T12:00:00", "ticker": "T{i:06}", "price": 1.5}}"#
            );
            Record::new(&format!("k{i}"), tick.as_bytes())
        })
        .collect();
    broker.produce("wide-ticks", &records);
    let args = windowed(&broker, "wide-ticks", "g-wide", "wide-agg", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = host_bounded(&args, LIMIT);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "plugin \"window_agg\" keeps 90"
        ) && run.stderr.contains(
            "of state for one partition, more than a checkpoint holds (900 KiB); bound its state (fewer groups, a shorter window or watermark delay)"
        ),
        "{}",
        run.stderr
    );
    // What was checkpointed is committed; the batch whose state did not fit is not.
    let committed = broker.committed_total("g-wide", "wide-ticks", 1);
    assert!(committed < total as i64, "{committed} committed");
}
