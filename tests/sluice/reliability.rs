//! Failures the pipeline must ride out without losing a record: the broker
//! going away and coming back.

use crate::kafka::{keyed_ticks, parse_stock_args, parse_stock_to_kafka_args};
use sluice_tests::{Broker, Record, Spawned, spawn_host};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// A producer thread sending 100 keyed ticks to `topic` at every `pause`
/// (every `bad_every`-th malformed) until [`SteadyLoad::finish`].
struct SteadyLoad {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<usize>,
}

impl SteadyLoad {
    fn start(broker: &Broker, topic: &str, pause: Duration, bad_every: usize) -> SteadyLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, flag, topic) = (broker.addr.clone(), stop.clone(), topic.to_string());
        let thread = std::thread::spawn(move || {
            let broker = Broker::attach(&addr);
            let mut next = 0;
            while !flag.load(Ordering::Relaxed) {
                let chunk = keyed_ticks(next + 100, bad_every).split_off(next);
                broker.produce(&topic, &chunk);
                next += 100;
                std::thread::sleep(pause);
            }
            next
        });
        SteadyLoad { stop, thread }
    }

    /// Stops the load; returns how many records were sent.
    fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the load thread")
    }
}

#[test]
fn a_broker_restart_mid_stream_loses_nothing_and_is_logged_once() {
    let mut broker = Broker::start_own(1);
    broker.create_topic("restart-in", 2);
    broker.create_topic("restart-out", 2);
    let records = keyed_ticks(400, 0);
    broker.produce("restart-in", &records[..200]);
    let host = spawn_host(
        &parse_stock_to_kafka_args(
            &broker,
            "restart-in",
            "restart-out",
            &["--batch-linger-ms", "100"],
        ),
        &[],
    );
    host.wait_for("the first records committed", LIMIT, |_| {
        broker.committed_total("sluice-parse_stock", "restart-in", 2) >= 200
    });
    broker.stop();
    std::thread::sleep(Duration::from_secs(5));
    broker.restart();
    broker.produce("restart-in", &records[200..]);
    host.wait_for("the rest committed after the restart", LIMIT, |_| {
        broker.committed_total("sluice-parse_stock", "restart-in", 2) >= 400
    });
    host.signal("TERM");
    let run = host.wait(LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings = run.stderr.matches("cannot reach the Kafka brokers").count();
    assert!(
        (1..=2).contains(&warnings),
        "the outage is said, once per 30 s, not flooded:\n{}",
        run.stderr
    );
    let keys = broker.read_keys("restart-out", 400, LIMIT);
    assert_eq!(keys.len(), 400, "every record reached the output");
}

#[test]
fn hostile_records_are_output_or_dead_lettered_never_lost() {
    let broker = Broker::start();
    broker.create_topic_with("hostile-in", 1, &[("max.message.bytes", "33554432")]);
    broker.create_topic("hostile-out", 1);
    broker.create_topic("hostile-dlq", 1);
    let big = format!(
        r#"{{"event_time": "2026-11-25T12:00:00", "ticker": "BIG", "price": 1.5, "pad": "{}"}}"#,
        "x".repeat(10 << 20)
    );
    let mut tombstone = Record::new("tombstone", b"");
    tombstone.value = None;
    let mut records = vec![
        Record::new("big", big.as_bytes()),
        Record::new("utf8", &[0xc3, 0x28, b'{', 0xff]),
        Record::new("garbage", &[0, 1, 2, 3, 255, 254, 0, 7]),
        tombstone,
        Record::new("empty", b""),
        Record::new("array", b"[1, 2, 3]"),
        Record::new(
            "fine",
            br#"{"event_time": "t", "ticker": "OK", "price": 2}"#,
        ),
    ];
    records.push(Record {
        key: None,
        ..Record::new("", br#"{"ticker": "NOKEY"}"#)
    });
    broker.produce_large("hostile-in", &records);
    let run = spawn_host(
        &parse_stock_to_kafka_args(
            &broker,
            "hostile-in",
            "hostile-out",
            &[
                "--config",
                "parse_stock.mode=DLQ",
                "--group",
                "hostile",
                "--available-now",
                "--dlq-topic",
                "hostile-dlq",
            ],
        ),
        &[],
    )
    .wait(LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = broker.read("hostile-out", 5, LIMIT);
    let dlq = broker.read("hostile-dlq", 3, LIMIT);
    let keys = |rs: &[Record]| -> Vec<String> { rs.iter().map(Record::key_str).collect() };
    // Null and empty values are Spark's null rows; bad JSON goes to the dead-letter topic.
    assert_eq!(keys(&out), ["big", "tombstone", "empty", "fine", ""]);
    assert_eq!(keys(&dlq), ["utf8", "garbage", "array"]);
    assert_eq!(
        dlq[1].value.as_deref(),
        Some(&[0, 1, 2, 3, 255, 254, 0, 7][..]),
        "original bytes"
    );
    let big_row: serde_json::Value =
        serde_json::from_slice(out[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(big_row["ticker"], "BIG");
    assert!(out[4].key.is_none(), "a null key stays null");
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn a_slow_console_keeps_memory_bounded_while_lag_grows_and_loses_nothing() {
    use std::io::Read;
    let broker = Broker::start();
    broker.create_topic("slow-in", 1);
    // 200 MB of ticks, far more than the memory bound.
    let pad = "p".repeat(2000);
    let records: Vec<Record> = (0..100_000)
        .map(|i| {
            let value = format!(
                r#"{{"event_time": "t{i}", "ticker": "AAPL", "price": 1.5, "pad": "{pad}"}}"#
            );
            Record::new(&format!("k{i}"), value.as_bytes())
        })
        .collect();
    broker.produce("slow-in", &records);
    let mut child = std::process::Command::new(sluice_tests::host_bin())
        .args(parse_stock_args(
            &broker,
            "slow-in",
            &[
                "--group",
                "slow",
                "--starting-offsets",
                "earliest",
                "-f",
                "json",
                "--max-records-per-batch",
                "500",
            ],
        ))
        .env("SLUICE_CACHE_DIR", sluice_tests::cache_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    // A console read at 40 KB/s: the pipe fills, the host waits, the topic's lag grows.
    let mut peak = 0;
    let mut buf = vec![0u8; 4096];
    let mut text = Vec::new();
    for _ in 0..500 {
        let n = stdout.read(&mut buf).unwrap();
        text.extend_from_slice(&buf[..n]);
        peak = peak.max(rss(pid));
        std::thread::sleep(Duration::from_millis(10));
    }
    let slow_lines = text.iter().filter(|b| **b == b'\n').count();
    assert!(
        slow_lines < 90_000,
        "the console was the bottleneck: {slow_lines} lines"
    );
    // Then read at full speed: everything arrives.
    while text.iter().filter(|b| **b == b'\n').count() < 100_000 {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the host stopped early");
        text.extend_from_slice(&buf[..n]);
        peak = peak.max(rss(pid));
    }
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("peak RSS {} MiB while 200 MB waited", peak >> 20);
    assert!(peak > 0 && peak < 128 << 20, "peak RSS {} MiB", peak >> 20);
}

#[test]
fn ten_sigkills_under_load_lose_nothing_and_repeat_only_what_was_in_flight() {
    let broker = Broker::start();
    broker.create_topic("audit-in", 3);
    broker.create_topic("audit-out", 3);
    broker.create_topic("audit-dlq", 1);
    // A steady load: 100 ticks every 300 ms, one in fifty malformed, until the kills are over.
    let load = SteadyLoad::start(&broker, "audit-in", Duration::from_millis(300), 50);
    let args = parse_stock_to_kafka_args(
        &broker,
        "audit-in",
        "audit-out",
        &[
            "--config",
            "parse_stock.mode=DLQ",
            "--group",
            "audit",
            "--dlq-topic",
            "audit-dlq",
            "--workers",
            "2",
            "--max-records-per-batch",
            "50",
            "--batch-linger-ms",
            "50",
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "max.poll.interval.ms=10000",
        ],
    );
    // Each at a random moment 0.2–1.7 s after it owns partitions.
    sluice_tests::kill_repeatedly(&args, "audit-in", 10, (0x9e37_79b9_7f4a_7c15, 200), LIMIT);
    let produced = load.finish();
    let last = spawn_host(&[&args[..], &["--available-now"]].concat(), &[]).wait(LIMIT);
    assert_eq!(last.code, 0, "{}", last.stderr);

    // The audit: every input offset is in the output (by key) or the DLQ (by position).
    let input = broker.read("audit-in", produced, LIMIT);
    assert_eq!(input.len(), produced);
    let out = broker.read("audit-out", produced - produced / 50, LIMIT);
    let dlq = broker.read("audit-dlq", produced / 50, LIMIT);
    let out_keys: BTreeSet<String> = out.iter().map(Record::key_str).collect();
    let dlq_positions: BTreeSet<(String, String)> = dlq
        .iter()
        .map(|r| {
            (
                r.header("sluice.source.partition").unwrap(),
                r.header("sluice.source.offset").unwrap(),
            )
        })
        .collect();
    for r in &input {
        let position = (r.partition.unwrap().to_string(), r.offset.to_string());
        assert!(
            out_keys.contains(&r.key_str()) || dlq_positions.contains(&position),
            "input {}[{}]@{} is lost",
            r.key_str(),
            position.0,
            position.1
        );
    }
    let duplicates = out.len() + dlq.len() - produced;
    eprintln!("10 kills, {produced} records audited, {duplicates} duplicates");
    // Per kill at most what was read but not committed: per worker the batch in hand and two
    // queued, the batch being read, and the acknowledged batches not yet committed (50 each).
    assert!(duplicates <= 10 * 400, "{duplicates} duplicates");
}

#[test]
fn a_group_growing_from_one_to_three_hosts_and_back_loses_nothing() {
    let broker = Broker::start();
    broker.create_topic("elastic-in", 6);
    broker.create_topic("elastic-out", 3);
    let load = SteadyLoad::start(&broker, "elastic-in", Duration::from_millis(200), 0);
    let args = parse_stock_to_kafka_args(
        &broker,
        "elastic-in",
        "elastic-out",
        &[
            "--group",
            "elastic",
            "--max-records-per-batch",
            "50",
            "--batch-linger-ms",
            "50",
        ],
    );
    let env = [("SLUICE_LOG", "info")];
    let owned = |h: &Spawned| h.assigned().len();
    let committed = || -> i64 { broker.committed_total("elastic", "elastic-in", 6) };
    let a = spawn_host(&args, &env);
    a.wait_for("the first host owns all six partitions", LIMIT, |h| {
        owned(h) == 6
    });
    a.wait_for("some records committed", LIMIT, |_| committed() > 300);
    let (b, c) = (spawn_host(&args, &env), spawn_host(&args, &env));
    c.wait_for("three hosts share the partitions", LIMIT, |c| {
        owned(&a) > 0 && owned(&b) > 0 && owned(c) > 0 && owned(&a) + owned(&b) + owned(c) == 6
    });
    let before = committed();
    c.wait_for("the three make progress", LIMIT, |_| {
        committed() > before + 300
    });
    b.signal("TERM");
    c.signal("TERM");
    let (b, c) = (b.wait(LIMIT), c.wait(LIMIT));
    assert_eq!((b.code, c.code), (0, 0), "{}\n{}", b.stderr, c.stderr);
    a.wait_for("the first host owns all six again", LIMIT, |h| {
        owned(h) == 6 && h.stderr().matches("assigned partitions").count() >= 3
    });
    let produced = load.finish();
    a.wait_for("everything committed", LIMIT, |_| {
        committed() == produced as i64
    });
    a.signal("TERM");
    let a = a.wait(LIMIT);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let out = broker.read("elastic-out", produced, LIMIT);
    let keys: BTreeSet<String> = out.iter().map(Record::key_str).collect();
    assert_eq!(keys.len(), produced, "every record reached the output");
    let duplicates = out.len() - produced;
    eprintln!("1 → 3 → 1 hosts: {produced} records, {duplicates} duplicates");
    // A graceful rebalance commits before giving partitions up: at most the batch being read
    // by each host at each of the four rebalances repeats.
    assert!(duplicates <= 4 * 3 * 50, "{duplicates} duplicates");
}

#[test]
fn an_empty_topic_ends_at_once() {
    let broker = Broker::start();
    broker.create_topic("empty", 2);
    let empty = spawn_host(
        &parse_stock_args(
            &broker,
            "empty",
            &[
                "--group",
                "empty",
                "--starting-offsets",
                "earliest",
                "--available-now",
            ],
        ),
        &[],
    )
    .wait(LIMIT);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert!(!empty.stdout.contains("Batch:"), "{}", empty.stdout);
}
