//! Seeing a running pipeline against a real broker: Spark's progress
//! reports, `/metrics` parsed by Prometheus' own Python parser, and the live
//! page rendered by headless Chromium.

use sluice_tests::{Broker, Record, host, host_bounded, spawn_host};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(90);

/// A free loopback port (bound and released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// GET `path` from `addr`; the body.
fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_string()
}

fn ticks(n: usize, bad_every: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let value = if bad_every > 0 && i % bad_every == 0 {
                "not json".to_string()
            } else {
                format!(
                    r#"{{"event_time":"2026-11-29T06:00:{:02}","ticker":"T{}","price":{}.5}}"#,
                    i % 60,
                    i % 7,
                    i
                )
            };
            Record::new(&format!("k{i}"), value.as_bytes())
        })
        .collect()
}

fn progress_lines(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each progress line is JSON"))
        .collect()
}

fn input_rows(reports: &[serde_json::Value]) -> u64 {
    reports
        .iter()
        .map(|r| r["numInputRows"].as_u64().unwrap())
        .sum()
}

#[test]
fn progress_reports_add_up_to_what_was_read_and_committed() {
    let broker = Broker::start();
    broker.create_topic("progress-ticks", 2);
    broker.produce("progress-ticks", &ticks(600, 0));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("progress.jsonl");
    let run = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "progress-ticks",
            "--group",
            "g-progress",
            "--starting-offsets",
            "earliest",
            "--available-now",
            "--max-records-per-batch",
            "100",
            "--progress",
            file.to_str().unwrap(),
            "-f",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let raw = std::fs::read_to_string(&file).unwrap();
    let first = raw.lines().next().expect("at least one report");
    // Spark's field order.
    let order = [
        "\"id\"",
        "\"runId\"",
        "\"name\"",
        "\"timestamp\"",
        "\"batchId\"",
        "\"numInputRows\"",
    ];
    let at: Vec<usize> = order.iter().map(|k| first.find(k).expect(k)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{first}");
    let reports: Vec<serde_json::Value> = progress_lines(&file)
        .into_iter()
        .filter(|r| r["numInputRows"].as_u64() > Some(0))
        .collect();
    assert_eq!(
        input_rows(&reports),
        600,
        "numInputRows adds up to the records read"
    );
    assert_eq!(run.stdout.lines().count(), 600);
    let outputs: u64 = reports
        .iter()
        .map(|r| r["sink"]["numOutputRows"].as_u64().unwrap())
        .sum();
    assert_eq!(outputs, 600);
    let ids: Vec<u64> = reports
        .iter()
        .map(|r| r["batchId"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (0..ids.len() as u64).collect::<Vec<_>>(),
        "batch ids count up from 0"
    );
    let id = reports[0]["id"].as_str().unwrap();
    assert!(
        reports
            .iter()
            .all(|r| r["id"] == id && r["runId"] == reports[0]["runId"])
    );
    for r in &reports {
        let source = &r["sources"][0];
        assert_eq!(source["description"], "KafkaV2[Subscribe[progress-ticks]]");
        assert_eq!(source["numInputRows"], r["numInputRows"]);
        assert!(r["durationMs"]["triggerExecution"].as_u64().is_some());
        assert!(r["durationMs"]["addBatch"].as_u64().is_some());
        let plugins = r["sluice"]["plugins"].as_array().unwrap();
        assert_eq!(plugins[0]["name"], "parse_stock");
        assert_eq!(plugins[0]["recordsIn"], r["numInputRows"]);
    }
    // Where the last report ends is what the group committed, and nothing is left.
    let last = &reports[reports.len() - 1]["sources"][0];
    let committed = broker.offsets("g-progress", "progress-ticks", 2);
    for (p, (offset, end)) in committed.iter().enumerate() {
        let reported = last["endOffset"]["progress-ticks"][p.to_string()].as_i64();
        assert_eq!(reported, *offset, "partition {p}: {last}");
        assert_eq!(*offset, Some(*end));
    }
    assert_eq!(last["metrics"]["maxOffsetsBehindLatest"], "0", "{last}");
    assert_eq!(last["metrics"]["avgOffsetsBehindLatest"], "0.0");
    // The same query (group) keeps its id across runs; each run has its own runId.
    broker.produce("progress-ticks", &ticks(5, 0));
    let again = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "progress-ticks",
            "--group",
            "g-progress",
            "--available-now",
            "--progress",
            "-",
            "-f",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let second: Vec<serde_json::Value> = again
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(input_rows(&second), 5);
    assert_eq!(second[0]["id"], id);
    assert_ne!(second[0]["runId"], reports[0]["runId"]);
}

/// `/metrics` as Prometheus' own parser reads it: {name: [(labels, value)]}.
fn parse_metrics(text: &str) -> serde_json::Value {
    let python = sluice_tests::test_python(None);
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.setdefault(s.name, []).append([s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python with prometheus_client (scripts/test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sum(metrics: &serde_json::Value, name: &str, filter: &[(&str, &str)]) -> f64 {
    metrics[name]
        .as_array()
        .unwrap_or_else(|| panic!("{name} in {metrics}"))
        .iter()
        .filter(|s| filter.iter().all(|(k, v)| s[0][k] == *v))
        .map(|s| s[1].as_f64().unwrap())
        .sum()
}

#[test]
fn metrics_parse_with_prometheus_and_count_what_was_read_rejected_and_produced() {
    let broker = Broker::start();
    broker.create_topic("m-in", 2);
    broker.create_topic("m-out", 1);
    broker.create_topic("m-dlq", 1);
    broker.produce("m-in", &ticks(400, 10));
    let addr = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("progress.jsonl");
    let run = spawn_host(
        &[
            "run",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mode=DLQ",
            "--brokers",
            &broker.addr,
            "--topic",
            "m-in",
            "--group",
            "g-metrics",
            "--starting-offsets",
            "earliest",
            "--sink",
            "kafka",
            "--output-topic",
            "m-out",
            "--dlq-topic",
            "m-dlq",
            "--metrics-addr",
            &addr,
            "--progress",
            file.to_str().unwrap(),
        ],
        &[],
    );
    run.wait_for("every record in a progress report", LIMIT, |_| {
        input_rows(&progress_lines(&file)) >= 400
    });
    // Offsets are committed every 100 ms once delivered.
    let deadline = Instant::now() + LIMIT;
    let metrics = loop {
        let metrics = parse_metrics(&http_get(&addr, "/metrics"));
        let committed = metrics["sluice_committed_offset"]
            .as_array()
            .map_or(0.0, |a| a.iter().map(|s| s[1].as_f64().unwrap()).sum());
        if committed >= 400.0 || Instant::now() > deadline {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    run.signal("TERM");
    let done = run.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(
        sum(
            &metrics,
            "sluice_records_consumed_total",
            &[("topic", "m-in")]
        ),
        400.0
    );
    assert_eq!(
        metrics["sluice_records_consumed_total"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "per partition"
    );
    assert_eq!(
        sum(
            &metrics,
            "sluice_records_produced_total",
            &[("sink", "kafka"), ("topic", "m-out")]
        ),
        360.0
    );
    let rejected = [("plugin", "parse_stock"), ("action", "dlq")];
    assert_eq!(sum(&metrics, "sluice_record_errors_total", &rejected), 40.0);
    assert_eq!(
        sum(
            &metrics,
            "sluice_dead_letter_records_total",
            &[("topic", "m-dlq")]
        ),
        40.0
    );
    assert_eq!(
        sum(
            &metrics,
            "sluice_plugin_records_in_total",
            &[("plugin", "parse_stock")]
        ),
        400.0
    );
    assert_eq!(
        sum(
            &metrics,
            "sluice_plugin_records_out_total",
            &[("plugin", "parse_stock")]
        ),
        360.0
    );
    assert_eq!(sum(&metrics, "sluice_plugin_traps_total", &[]), 0.0);
    assert_eq!(
        sum(&metrics, "sluice_committed_offset", &[("topic", "m-in")]),
        400.0
    );
    assert_eq!(sum(&metrics, "sluice_consumer_lag", &[]), 0.0);
    let batches = sum(&metrics, "sluice_batches_total", &[]);
    assert!(batches >= 1.0);
    assert_eq!(
        sum(&metrics, "sluice_batch_duration_seconds_count", &[]),
        batches
    );
    // A plugin is called once per lane that holds records in a batch: each of
    // the 2 partitions is in one lane, so 1 or 2 calls per batch.
    let calls = [("plugin", "parse_stock")];
    let call_count = sum(
        &metrics,
        "sluice_plugin_call_duration_seconds_count",
        &calls,
    );
    assert!(
        (batches..=2.0 * batches).contains(&call_count),
        "{call_count} plugin calls for {batches} batches of 2 partitions"
    );
    assert!(sum(&metrics, "sluice_plugin_memory_high_water_bytes", &calls) >= 65536.0);
    assert!(sum(&metrics, "process_resident_memory_bytes", &[]) > 1e6);
    // Every metric the compose demo's Grafana dashboard queries is one /metrics serves.
    let dashboard = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docker/grafana/dashboards/sluice.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dashboard).unwrap()).unwrap();
    let mut queried = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("sluice_") || w.starts_with("process_"));
            queried.extend(names.map(String::from));
        }
    }
    assert!(queried.len() >= 12, "{queried:?}");
    for name in &queried {
        assert!(
            metrics.get(name).is_some(),
            "the dashboard queries {name}, which /metrics lacks"
        );
    }
    // The README documents every metric served.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for name in metrics.as_object().unwrap().keys() {
        let family = ["_bucket", "_count", "_sum", "_created"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        assert!(
            readme.contains(&format!("| `{family}` |")),
            "README documents {family}"
        );
    }
    // The brokers agree with what the metrics say.
    assert_eq!(broker.read("m-dlq", 40, LIMIT).len(), 40);
    assert_eq!(broker.committed_total("g-metrics", "m-in", 2), 400);
}

#[test]
fn a_busy_or_bad_address_is_one_error_before_anything_is_read() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    for flag in ["--metrics-addr", "--ui"] {
        // No broker: the address is checked first.
        let run = host(
            &[
                "run",
                "-p",
                "parse_stock",
                "--brokers",
                "127.0.0.1:9",
                flag,
                &addr,
            ],
            "",
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("cannot listen on {addr} for {flag}")),
            "{}",
            run.stderr
        );
    }
    let run = host(
        &["run", "-p", "parse_stock", "--metrics-addr", "nowhere"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("--metrics-addr \"nowhere\" is not a HOST:PORT address"),
        "{}",
        run.stderr
    );
    let run = host(
        &[
            "run",
            "-p",
            "parse_stock",
            "--progress",
            "/nonexistent/dir/p.jsonl",
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--progress /nonexistent/dir/p.jsonl"),
        "{}",
        run.stderr
    );
}

/// Chromium's rendering of `url` after `wait_ms` of page time: the DOM, and a
/// screenshot at `png`.
fn chromium(url: &str, png: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1366,1000",
        "--virtual-time-budget=4000",
    ];
    let profile_flag = format!("--user-data-dir={}", profile.path().display());
    let dom = Command::new("chromium")
        .args(common)
        .arg(&profile_flag)
        .args(["--dump-dom", url])
        .output()
        .expect("chromium (scripts/test installs Debian's chromium)");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let shot = Command::new("chromium")
        .args(common)
        .arg(&profile_flag)
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    String::from_utf8(dom.stdout).unwrap()
}

/// The text of the element with `id` in a DOM dump.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} in the page"));
    let open = start + dom[start..].find('>').unwrap() + 1;
    let close = open + dom[open..].find('<').unwrap();
    dom[open..close].to_string()
}

fn number(text: &str) -> f64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("a number: {text:?}"))
}

#[test]
fn the_live_page_shows_rates_batches_plugins_and_partitions_in_chromium() {
    let broker = Broker::start();
    broker.create_topic("ui-in", 2);
    let generator = spawn_host(
        &[
            "generate",
            "-p",
            "stock_generator",
            "--brokers",
            &broker.addr,
            "--topic",
            "ui-in",
            "--count",
            "100000",
            "--rate",
            "500",
        ],
        &[],
    );
    let port = free_port();
    let run = spawn_host(
        &[
            "run",
            "-p",
            "parse_stock",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.where=price > 50",
            "--brokers",
            &broker.addr,
            "--topic",
            "ui-in",
            "--group",
            "ui",
            "--starting-offsets",
            "earliest",
            "-f",
            "json",
            &format!("--ui=127.0.0.1:{port}"),
        ],
        &[],
    );
    let url = format!("http://127.0.0.1:{port}/");
    run.wait_for("the live page's address on stderr", LIMIT, |r| {
        r.stderr().contains(&url)
    });
    run.wait_for("a few batches", LIMIT, |r| r.stdout().lines().count() > 200);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dom = chromium(&url, &shots.join("ui-1.png"));
    let batches = number(&text_of(&dom, "batches"));
    assert!(batches > 0.0, "batches: {batches}");
    assert!(number(&text_of(&dom, "input-rate")) > 0.0);
    assert!(number(&text_of(&dom, "process-rate")) > 0.0);
    assert!(number(&text_of(&dom, "input-rows")) > 0.0);
    for name in [
        "parse_stock",
        "schema_filter",
        "KafkaV2[Subscribe[ui-in]]",
        "ui-in[0]",
        "ui-in[1]",
    ] {
        assert!(dom.contains(name), "{name} on the page");
    }
    // The charts are drawn.
    assert!(dom.matches("<path d=\"M").count() >= 4, "line charts");
    let rises = sluice_tests::within(LIMIT, Duration::from_millis(500), || {
        let later = chromium(&url, &shots.join("ui.png"));
        number(&text_of(&later, "batches")) > batches
    });
    assert!(rises, "the batch count rises");
    assert!(std::fs::metadata(shots.join("ui.png")).unwrap().len() > 20_000);
    generator.signal("TERM");
    run.signal("TERM");
    assert_eq!(run.wait(LIMIT).code, 0);
    let _ = generator.wait(LIMIT);
}
