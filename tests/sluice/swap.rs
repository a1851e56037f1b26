//! Hot swap against a real broker: the chain changes between two batches
//! (a changed pipeline file with `--watch`, or SIGHUP) with no record lost
//! or processed twice; a swap that cannot be done leaves the running chain.

use sluice_tests::{Broker, Record, Spawned, priced_ticks, spawn_host, write_atomically};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// `n` stock ticks keyed `{prefix}{i}`, priced `i % 100`.
fn priced(prefix: &str, n: usize) -> Vec<Record> {
    priced_ticks(prefix, n, |i| (i % 100).to_string())
}

/// The keys of `{prefix}0..n` whose price passes `keep`.
fn kept(prefix: &str, n: usize, keep: impl Fn(usize) -> bool) -> Vec<String> {
    (0..n)
        .filter(|i| keep(i % 100))
        .map(|i| format!("{prefix}{i}"))
        .collect()
}

fn pipeline_file(path: &Path, filter: &str, output: &str) {
    let text = format!(
        "plugin = [\"parse_stock\", \"schema_filter\"]\noutput-topic = \"{output}\"\n[config.schema_filter]\nwhere = \"{filter}\"\n"
    );
    write_atomically(path, &text);
}

/// `host run --pipeline FILE --watch` on `(topic, group)`, with `extra`
/// flags, and `SLUICE_LOG=info` when `logs`.
fn watching(
    broker: &Broker,
    file: &Path,
    (topic, group): (&str, &str),
    extra: &[&str],
    logs: bool,
) -> Spawned {
    let mut args = vec!["run", "--pipeline", file.to_str().unwrap(), "--watch"];
    args.extend([
        "--brokers",
        &broker.addr,
        "--topic",
        topic,
        "--group",
        group,
    ]);
    args.extend(extra);
    let env: &[(&str, &str)] = if logs { &[("SLUICE_LOG", "info")] } else { &[] };
    spawn_host(&args, env)
}

fn input_rows(progress: &Path) -> u64 {
    std::fs::read_to_string(progress)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|r| r["numInputRows"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn a_changed_pipeline_file_swaps_the_chain_between_batches_and_a_bad_one_is_refused() {
    let broker = Broker::start();
    broker.create_topic("sw-in", 2);
    broker.create_topic("sw-out", 1);
    let dir = tempfile::tempdir().unwrap();
    let (file, progress) = (dir.path().join("p.toml"), dir.path().join("progress.jsonl"));
    pipeline_file(&file, "price > 50", "sw-out");
    let run = watching(
        &broker,
        &file,
        ("sw-in", "g-swap"),
        &[
            "--starting-offsets",
            "earliest",
            "--sink",
            "kafka",
            "--max-records-per-batch",
            "50",
            "--progress",
            progress.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        false,
    );
    broker.produce("sw-in", &priced("a", 500));
    run.wait_for("the first 500 records", LIMIT, |_| {
        input_rows(&progress) >= 500
    });

    // The filter changes: the new chain takes over between two batches.
    pipeline_file(&file, "price > 80", "sw-out");
    run.wait_for("the swap", LIMIT, |r| {
        r.stderr().contains("Sluice: reloaded")
    });
    broker.produce("sw-in", &priced("b", 500));
    run.wait_for("500 more", LIMIT, |_| input_rows(&progress) >= 1000);

    // A filter that does not parse: refused, the running chain goes on.
    pipeline_file(&file, "price >", "sw-out");
    run.wait_for("the refusal", LIMIT, |r| {
        r.stderr().contains("reload refused")
    });
    // A setting that cannot change while running (the sink's topic), asked with SIGHUP.
    pipeline_file(&file, "price > 80", "elsewhere");
    run.signal("HUP");
    run.wait_for("the second refusal", LIMIT, |r| {
        r.stderr().matches("reload refused").count() >= 2
    });
    broker.produce("sw-in", &priced("c", 100));
    run.wait_for("100 more", LIMIT, |_| input_rows(&progress) >= 1100);
    run.signal("TERM");
    let done = run.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(
        done.stderr.matches("Sluice: reloaded").count(),
        1,
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("where"),
        "names the bad filter: {}",
        done.stderr
    );
    assert!(
        done.stderr.contains("the sink (--sink, --output-topic"),
        "names what cannot change: {}",
        done.stderr
    );

    let mut expected = kept("a", 500, |p| p > 50);
    expected.extend(kept("b", 500, |p| p > 80));
    expected.extend(kept("c", 100, |p| p > 80));
    let out = broker.read("sw-out", expected.len(), LIMIT);
    let keys: Vec<String> = out.iter().map(|r| r.key_str()).collect();
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "no record twice");
    assert_eq!(
        unique,
        expected.iter().collect(),
        "each record through the chain of its time"
    );
    assert_eq!(broker.committed_total("g-swap", "sw-in", 2), 1100);
}

#[test]
fn a_stateful_chain_is_not_swapped_and_says_to_restart() {
    let broker = Broker::start();
    broker.create_topic("stateful-st-in", 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    let write = |window: &str| {
        let text = format!(
            "plugin = [\"parse_stock\", \"window_agg\"]\n[config.parse_stock]\nschema = \"event_time timestamp, ticker string, price double\"\n[config.window_agg]\nwindow = \"{window}\"\n"
        );
        write_atomically(&file, &text);
    };
    write("1 minute");
    let run = watching(
        &broker,
        &file,
        ("stateful-st-in", "g-stateful-swap"),
        &["--format", "json"],
        true,
    );
    run.wait_for("the partition assigned", LIMIT, |r| {
        r.stderr()
            .contains("assigned partitions: stateful-st-in[0]")
    });
    write("2 minutes");
    run.wait_for("the refusal", LIMIT, |r| {
        r.stderr().contains("reload refused")
    });
    run.signal("TERM");
    let done = run.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(
        done.stderr.contains("stateful plugin") && done.stderr.contains("restart the host"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("Sluice: reloaded"), "{}", done.stderr);
}
