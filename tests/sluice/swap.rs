//! Hot swap against a real broker: the chain changes between two batches
//! (a changed pipeline file with `--watch`, or SIGHUP) with no record lost
//! or processed twice; a swap that cannot be done leaves the running chain.

use crate::kafka::parse_stock_fate;
use sluice_tests::audit::{Fate, SteadyLoad};
use sluice_tests::{Broker, Record, Spawned, priced_ticks, spawn_host, write_atomically};
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// Stock ticks `t{i}` for i from `next` to `next + 50`, priced `(37 i mod 100).5`.
fn priced(next: usize) -> Vec<Record> {
    let ticks = priced_ticks("t", 50, |i| format!("{}.5", (next + i) * 37 % 100));
    let renumbered = ticks.into_iter().enumerate().map(|(i, r)| Record {
        key: Some(format!("t{}", next + i).into_bytes()),
        ..r
    });
    renumbered.collect()
}

/// The price of an input tick.
fn price(r: &Record) -> f64 {
    let tick: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
    tick["price"].as_f64().unwrap()
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
fn a_changed_pipeline_file_swaps_the_chain_between_batches_under_load_and_a_bad_one_is_refused() {
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
            "20",
            "--batch-linger-ms",
            "20",
            "--progress",
            progress.to_str().unwrap(),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        false,
    );
    // Records flow all along: every swap and refusal happens between batches in flight.
    let load = SteadyLoad::start(&broker, "sw-in", Duration::from_millis(50), priced);
    let more = |what: &str, n: u64| {
        let at = input_rows(&progress);
        run.wait_for(what, LIMIT, |_| input_rows(&progress) >= at + n);
    };
    more("the first records", 300);

    // The filter changes: the new chain takes over between two batches.
    pipeline_file(&file, "price > 80", "sw-out");
    run.wait_for("the swap", LIMIT, |r| {
        r.stderr().contains("Sluice: reloaded")
    });
    more("records through the new chain", 300);

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
    more("records after the refusals", 300);
    let produced = load.finish();
    run.wait_for("every record committed", LIMIT, |_| {
        broker.committed_total("g-swap", "sw-in", 2) == produced as i64
    });
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

    // Each record went through the chain of its time: per partition, the ticks only the
    // old filter keeps (50 < price <= 80) are output up to the swap and not after it.
    let input = broker.read_to_end("sw-in");
    assert_eq!(input.len(), produced);
    let out = broker.read_to_end("sw-out");
    let mut outputs = std::collections::BTreeMap::new();
    for r in &out {
        assert!(
            outputs.insert(r.key_str(), r).is_none(),
            "{} output twice",
            r.key_str()
        );
    }
    let (mut before, mut after) = (0, 0);
    for partition in 0..2 {
        let mut swapped = false;
        for r in input.iter().filter(|r| r.partition == Some(partition)) {
            let (old, new) = (price(r) > 50.0, price(r) > 80.0);
            let got = outputs.remove(&r.key_str());
            let at = format!(
                "{}[{partition}]@{} (price {})",
                r.key_str(),
                r.offset,
                price(r)
            );
            if let Some(got) = got {
                let Fate::Output(want) = parse_stock_fate(r) else {
                    panic!("{at} is a tick")
                };
                assert_eq!(
                    (&got.value, &got.timestamp),
                    (&want.value, &want.timestamp),
                    "{at}"
                );
                assert!(old, "{at} was output though no chain keeps it");
                if !new {
                    assert!(
                        !swapped,
                        "{at} went through the old chain after the new one"
                    );
                    before += 1;
                }
            } else {
                assert!(!new, "{at} was lost: both chains keep it");
                if old {
                    swapped = true;
                    after += 1;
                }
            }
        }
    }
    assert!(
        outputs.is_empty(),
        "outputs never input: {:?}",
        outputs.keys()
    );
    assert!(
        before > 0 && after > 0,
        "the swap came mid-stream: {before} ticks only the old filter keeps were output, {after} were not"
    );
    eprintln!(
        "{produced} records; {before} through the old chain only, {after} filtered by the new"
    );
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

#[test]
fn a_plugin_file_replaced_under_load_is_swapped_in_between_batches() {
    // `-p f.wasm --watch`: f.wasm passes records through unchanged, then is replaced by
    // parse_stock while records flow; per partition, every record before one offset comes out
    // as it went in and every one after it as parse_stock's row.
    let broker = Broker::start();
    broker.create_topic("swf-in", 2);
    broker.create_topic("swf-out", 1);
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("f.wasm");
    let put = |from: &str| {
        let tmp = plugin.with_extension("tmp");
        std::fs::copy(from, &tmp).unwrap();
        std::fs::rename(&tmp, &plugin).unwrap();
    };
    put(sluice_tests::guest("hostile"));
    let args = [
        "run",
        "-p",
        plugin.to_str().unwrap(),
        "--watch",
        "--brokers",
        &broker.addr,
        "--topic",
        "swf-in",
        "--group",
        "g-swf",
        "--starting-offsets",
        "earliest",
        "--sink",
        "kafka",
        "--output-topic",
        "swf-out",
        "--max-records-per-batch",
        "20",
    ];
    let run = spawn_host(&args, &[]);
    // Ticks written with spaces: parse_stock's to_json of them differs from their bytes.
    let load = SteadyLoad::start(&broker, "swf-in", Duration::from_millis(50), |next| {
        crate::kafka::keyed_ticks_in(next..next + 50, 0)
    });
    let outputs = || broker.end_total("swf-out");
    run.wait_for("the first outputs", LIMIT, |_| outputs() >= 200);
    put(&sluice_tests::plugin_file("parse_stock"));
    run.wait_for("the swap", LIMIT, |r| {
        r.stderr().contains("Sluice: reloaded")
    });
    let at = outputs();
    run.wait_for("outputs of the new plugin", LIMIT, |_| {
        outputs() >= at + 200
    });
    let produced = load.finish();
    run.wait_for("every record committed", LIMIT, |_| {
        broker.committed_total("g-swf", "swf-in", 2) == produced as i64
    });
    run.signal("TERM");
    let done = run.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);

    let input = broker.read_to_end("swf-in");
    let mut outputs = std::collections::BTreeMap::new();
    for r in broker.read_to_end("swf-out") {
        let key = r.key_str();
        assert!(
            outputs.insert(key.clone(), r).is_none(),
            "{key} output twice"
        );
    }
    let (mut old, mut new) = (0, 0);
    for partition in 0..2 {
        let mut swapped = false;
        for r in input.iter().filter(|r| r.partition == Some(partition)) {
            let at = format!("{}[{partition}]@{}", r.key_str(), r.offset);
            let got = outputs
                .remove(&r.key_str())
                .unwrap_or_else(|| panic!("{at} is lost"));
            let Fate::Output(parsed) = parse_stock_fate(r) else {
                panic!("{at} is a tick")
            };
            if got.value == r.value {
                assert!(
                    !swapped,
                    "{at} went through the old plugin after the new one"
                );
                old += 1;
            } else {
                assert_eq!(got.value, parsed.value, "{at}: neither plugin's output");
                swapped = true;
                new += 1;
            }
        }
    }
    assert!(
        outputs.is_empty(),
        "outputs never input: {:?}",
        outputs.keys()
    );
    assert!(
        old > 0 && new > 0,
        "{old} through the old plugin, {new} through the new"
    );
    eprintln!("{produced} records: {old} through the old plugin, {new} through the new");
}
