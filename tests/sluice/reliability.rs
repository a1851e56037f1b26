//! Failures the pipeline must ride out without losing a record: the broker
//! going away and coming back.

use crate::kafka::{keyed_ticks_in, parse_stock_args, parse_stock_fate, parse_stock_to_kafka_args};
use sluice_tests::audit::{Moment, SteadyLoad, Topics};
use sluice_tests::{Broker, Record, Spawned, spawn_host};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// A steady load into `topic`: 100 keyed ticks at every `pause`, every
/// `bad_every`-th malformed.
fn steady_ticks(broker: &Broker, topic: &str, pause: Duration, bad_every: usize) -> SteadyLoad {
    SteadyLoad::start(broker, topic, pause, move |next| {
        keyed_ticks_in(next..next + 100, bad_every)
    })
}

#[test]
fn a_broker_killed_under_load_and_restarted_loses_nothing_and_is_logged_once() {
    let mut broker = Broker::start_own(1);
    broker.create_topic("restart-in", 2);
    broker.create_topic("restart-out", 2);
    // The load goes on through the outage (its producer waits for the broker, as an
    // application's would).
    let load = steady_ticks(&broker, "restart-in", Duration::from_millis(200), 0);
    let host = spawn_host(
        &parse_stock_to_kafka_args(
            &broker,
            "restart-in",
            "restart-out",
            &[
                "--group",
                "restart",
                "--max-records-per-batch",
                "50",
                "--batch-linger-ms",
                "50",
            ],
        ),
        &[],
    );
    let reader = Broker::attach(&broker.addr);
    let delivered = || reader.end_total("restart-out");
    host.wait_for("the first outputs", LIMIT, |_| delivered() > 0);
    let (_, mut random) = sluice_tests::seed("the broker's kill");
    std::thread::sleep(Duration::from_millis(random() % 1500));
    broker.stop();
    host.wait_for("the outage said", LIMIT, |h| {
        h.stderr().contains("cannot reach the Kafka brokers")
    });
    broker.restart();
    let back = delivered();
    host.wait_for("outputs again after the restart", LIMIT, |_| {
        delivered() > back
    });
    let produced = load.finish();
    host.wait_for("everything committed", LIMIT, |_| {
        broker.committed_total("restart", "restart-in", 2) >= produced as i64
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
    let topics = Topics {
        input: "restart-in",
        output: "restart-out",
        dlq: None,
        plugin: "parse_stock",
    };
    // A commit the broker lost, then a rebalance as the group's coordinator comes back, can
    // repeat what was read and not committed: 8 batches of 50 (see the SIGKILL audit).
    let outage = Moment::unread("the broker's outage", 8 * 50);
    let audited = topics.audit(&broker, &[outage], parse_stock_fate);
    assert_eq!(audited.records, produced);
    eprintln!("a broker killed under load: {audited:?}");
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
    // A console read at 400 KB/s at most: the pipe fills, the host waits, the topic's lag grows.
    let mut peak = 0;
    let mut buf = vec![0u8; 4096];
    let mut text = Vec::new();
    for _ in 0..500 {
        let n = stdout.read(&mut buf).unwrap();
        text.extend_from_slice(&buf[..n]);
        peak = peak.max(rss(pid));
        std::thread::sleep(Duration::from_millis(10));
    }
    // The console is the bottleneck and nothing is committed before it is printed: what is
    // committed is at most the lines read plus what the pipe holds (64 KiB of lines).
    let slow_lines = text.iter().filter(|b| **b == b'\n').count();
    let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    lines.pop(); // the line being read
    let shortest = lines.iter().map(|l| l.len()).min().unwrap() + 1;
    let committed = broker.committed_total("slow", "slow-in", 1) as usize;
    assert!(
        committed <= slow_lines + 65536 / shortest,
        "{committed} committed, {slow_lines} lines printed and read, lines of {shortest} bytes or more"
    );
    assert!(
        committed < 100_000,
        "the console held the host back: {committed}"
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
    // A steady load: 100 ticks every 100 ms, one in fifty malformed, until the kills are over.
    let load = steady_ticks(&broker, "audit-in", Duration::from_millis(100), 50);
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
            // Deliveries take 100 ms: at any moment of the load some are awaited.
            "-X",
            "linger.ms=100",
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "max.poll.interval.ms=10000",
        ],
    );
    let topics = Topics {
        input: "audit-in",
        output: "audit-out",
        dlq: Some("audit-dlq"),
        plugin: "parse_stock",
    };
    // Each at a random moment up to 1.5 s after the run's first output; what Kafka holds is
    // read after each kill.
    let delivered = || broker.end_total("audit-out") + broker.end_total("audit-dlq");
    let mut moments: Vec<Moment> = Vec::new();
    sluice_tests::kill_repeatedly(
        &args,
        10,
        "the kills",
        delivered,
        |kill| moments.push(topics.moment(&broker, "audit", &format!("kill {kill}"))),
        LIMIT,
    );
    let produced = load.finish();
    let last = spawn_host(&[&args[..], &["--available-now"]].concat(), &[]).wait(LIMIT);
    assert_eq!(last.code, 0, "{}", last.stderr);

    let audited = topics.audit(&broker, &moments, parse_stock_fate);
    assert_eq!(audited.records, produced);
    assert_eq!(audited.dead_letters, produced / 50);
    eprintln!("10 kills: {audited:?}");
    // What a kill can repeat is what was delivered and not committed (the audit holds every
    // duplicate to that): offsets are committed every 100 ms, so it is about what the host
    // delivers in 100 ms and a commit's round trip. At the steady load that is a chunk (100);
    // a restarted host catching up the backlog of the killed one's session at full speed
    // delivers thousands in that time (2,141 seen). Committing every 3 s instead exposes more
    // than 10,000 per kill on average here; the mean is held to 2,000.
    let exposed = &audited.exposed;
    let mean = exposed.iter().sum::<usize>() / exposed.len();
    assert!(
        mean <= 2000,
        "{mean} delivered and not committed per kill: {exposed:?}"
    );
}

#[test]
fn a_group_growing_from_one_to_three_hosts_and_back_loses_nothing() {
    let broker = Broker::start();
    broker.create_topic("elastic-in", 6);
    broker.create_topic("elastic-out", 3);
    let load = steady_ticks(&broker, "elastic-in", Duration::from_millis(200), 0);
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
    // A graceful rebalance commits before giving partitions up: at most the batch being read
    // by each host at each of the four rebalances repeats.
    let topics = Topics {
        input: "elastic-in",
        output: "elastic-out",
        dlq: None,
        plugin: "parse_stock",
    };
    let rebalances = Moment::unread("four rebalances", 4 * 3 * 50);
    let audited = topics.audit(&broker, &[rebalances], parse_stock_fate);
    assert_eq!(audited.records, produced);
    eprintln!("1 → 3 → 1 hosts: {audited:?}");
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

#[test]
fn sigterm_and_sigint_under_load_repeat_nothing_and_a_second_signal_commits_only_what_was_delivered()
 {
    let broker = Broker::start();
    broker.create_topic("signal-in", 3);
    broker.create_topic("signal-out", 3);
    broker.create_topic("signal-dlq", 1);
    let load = steady_ticks(&broker, "signal-in", Duration::from_millis(50), 50);
    let args = parse_stock_to_kafka_args(
        &broker,
        "signal-in",
        "signal-out",
        &[
            "--config",
            "parse_stock.mode=DLQ",
            "--group",
            "signals",
            "--dlq-topic",
            "signal-dlq",
            "--workers",
            "2",
            "--max-records-per-batch",
            "50",
            "--batch-linger-ms",
            "50",
            // Deliveries take 100 ms: at any moment of the load some are awaited.
            "-X",
            "linger.ms=100",
            // A member that exits at once leaves no word: the next waits out its session.
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "max.poll.interval.ms=10000",
        ],
    );
    let topics = Topics {
        input: "signal-in",
        output: "signal-out",
        dlq: Some("signal-dlq"),
        plugin: "parse_stock",
    };
    let delivered = || broker.end_total("signal-out") + broker.end_total("signal-dlq");
    let (_, mut random) = sluice_tests::seed("the signals");
    // (signal, how many): one is a graceful stop; a second one exits at once.
    let rounds = [
        ("TERM", 1),
        ("INT", 1),
        ("INT", 2),
        ("TERM", 1),
        ("INT", 1),
        ("TERM", 2),
    ];
    let mut moments = Vec::new();
    for (signal, times) in rounds {
        let before = delivered();
        let host = spawn_host(&args, &[("SLUICE_LOG", "info")]);
        host.wait_for("the run's first work", LIMIT, |_| delivered() > before);
        std::thread::sleep(Duration::from_millis(random() % 1500));
        host.signal(signal);
        if times == 2 {
            host.wait_for("the first signal heard", LIMIT, |h| {
                h.stderr().contains("stopping:")
            });
            host.signal(signal);
        }
        let run = host.wait(LIMIT);
        let what = format!("SIG{signal} ×{times}");
        let code = if times == 1 { 0 } else { 130 };
        assert_eq!(run.code, code, "{what}: {}", run.stderr);
        let moment = topics.moment(&broker, "signals", &what);
        eprintln!(
            "{what}: {} committed, {} delivered",
            moment.committed(),
            moment.delivered()
        );
        moments.push(moment);
    }
    let produced = load.finish();
    let last = spawn_host(&[&args[..], &["--available-now"]].concat(), &[]).wait(LIMIT);
    assert_eq!(last.code, 0, "{}", last.stderr);

    let audited = topics.audit(&broker, &moments, parse_stock_fate);
    assert_eq!(audited.records, produced);
    eprintln!("{rounds:?}: {audited:?}");
    for ((signal, times), exposed) in rounds.iter().zip(&audited.exposed) {
        if *times == 1 {
            assert_eq!(
                *exposed, 0,
                "SIG{signal} stopped with {exposed} records delivered and not committed: a restart repeats them"
            );
        }
    }
}
