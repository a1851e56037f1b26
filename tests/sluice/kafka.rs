//! The tutorial's whole flow against a real Kafka (4.4, the run's shared broker):
//! `host generate` → topic → `host run --plugin parse_stock.wasm` → console.

use sluice_tests::audit::{Fate, Topics};
use sluice_tests::{Broker, Record, Run, Spawned, guest, host, host_bounded, spawn_host};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// `host generate` of `count` stock ticks into `topic`, as fast as possible.
fn generate(broker: &Broker, topic: &str, count: u32, extra: &[&str]) -> Run {
    let count = count.to_string();
    let mut args = vec![
        "generate",
        "-p",
        "stock_generator.wasm",
        "--brokers",
        &broker.addr,
    ];
    args.extend(["--topic", topic, "--rate", "0", "--count", &count]);
    args.extend(extra);
    let run = host_bounded(&args, LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

/// The arguments of `host run CHAIN…` (plugin flags) on `topic`, with `extra` flags.
pub(crate) fn run_args<'a>(
    broker: &'a Broker,
    chain: &[&'a str],
    topic: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["run"];
    args.extend(chain);
    args.extend(["--brokers", &broker.addr, "--topic", topic]);
    args.extend(extra);
    args
}

/// [`run_args`] from the earliest offsets into the Kafka topic `out`.
pub(crate) fn to_kafka_args<'a>(
    broker: &'a Broker,
    chain: &[&'a str],
    topic: &'a str,
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut flags = vec!["--starting-offsets", "earliest", "--sink", "kafka"];
    flags.extend(["--output-topic", out]);
    flags.extend(extra);
    run_args(broker, chain, topic, &flags)
}

/// The arguments of `host run --plugin parse_stock.wasm` on `topic`, with `extra` flags.
pub(crate) fn parse_stock_args<'a>(
    broker: &'a Broker,
    topic: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    run_args(broker, &["-p", "parse_stock.wasm"], topic, extra)
}

/// [`parse_stock_args`] for a run from the earliest offsets into the Kafka topic `out`.
pub(crate) fn parse_stock_to_kafka_args<'a>(
    broker: &'a Broker,
    topic: &'a str,
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    to_kafka_args(broker, &["-p", "parse_stock.wasm"], topic, out, extra)
}

/// Runs `host run --plugin parse_stock.wasm` on `topic`, with `extra` flags.
fn run_parse_stock(broker: &Broker, topic: &str, extra: &[&str]) -> Run {
    host_bounded(&parse_stock_args(broker, topic, extra), LIMIT)
}

#[test]
fn generate_sends_count_records_past_the_generators_own_default() {
    // stock_generator ends after its `count` config (20,000 by default); `--count` alone
    // must decide how many records `host generate` sends.
    let broker = Broker::start();
    broker.create_topic("many", 1);
    generate(&broker, "many", 20_500, &[]);
    let sent = broker.read("many", 20_500, LIMIT);
    assert_eq!(sent.len(), 20_500);
    let capped = generate(
        &broker,
        "few",
        20_500,
        &["--create-topics", "--config", "stock_generator.count=7"],
    );
    assert!(capped.stderr.is_empty(), "{}", capped.stderr);
    assert_eq!(broker.read("few", 7, LIMIT).len(), 7);
}

#[test]
fn tutorial_flow_generate_then_run_prints_spark_tables_and_commits() {
    let broker = Broker::start();
    broker.create_topic("tutorial-ticks", 3);
    let generate = generate(&broker, "tutorial-ticks", 30, &["--verbose"]);
    let sent: Vec<&str> = generate.lines();
    assert_eq!(sent.len(), 30);
    assert!(
        sent.iter()
            .all(|l| l.starts_with("Data is sent: {\"event_time\": ")),
        "{}",
        generate.stdout
    );

    let args = [
        "--group",
        "tutorial",
        "--starting-offsets",
        "earliest",
        "--available-now",
        "--num-rows",
        "100",
        "--batch-linger-ms",
        "300",
    ];
    let run = run_parse_stock(&broker, "tutorial-ticks", &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(
            "root\n |-- event_time: string (nullable = true)\n |-- ticker: string (nullable = true)\n |-- price: double (nullable = true)\n\n-------------------------------------------\nBatch: 0\n-------------------------------------------\n+--------------------+------+-----+\n|          event_time|ticker|price|\n+--------------------+------+-----+\n"
        ),
        "{}",
        run.stdout
    );
    let rows: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|l| l.starts_with('|') && !l.contains("event_time"))
        .collect();
    assert_eq!(rows.len(), 30, "every record printed once:\n{}", run.stdout);
    for row in &rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert!(cells[0].ends_with("...") && cells[0].len() == 20, "{row}");
        assert!(
            ["AAPL", "AMZN", "MSFT", "INTC", "TBV"].contains(&cells[1]),
            "{row}"
        );
        assert!(
            cells[2]
                .parse::<f64>()
                .is_ok_and(|p| (0.0..=100.0).contains(&p)),
            "{row}"
        );
    }
    // --available-now commits everything it printed: each partition's committed offset is
    // its end offset, and they add up to the record count.
    let offsets = broker.offsets("tutorial", "tutorial-ticks", 3);
    assert!(
        offsets.iter().all(|(c, end)| c.unwrap_or(0) == *end),
        "{offsets:?}"
    );
    assert_eq!(offsets.iter().map(|(_, end)| end).sum::<i64>(), 30);
    // So the same group, run again, has nothing left to print.
    let again = run_parse_stock(&broker, "tutorial-ticks", &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stdout.contains("Batch:"), "{}", again.stdout);
}

#[test]
fn unreachable_broker_and_missing_topic_say_what_to_do() {
    let broker = Broker::start();
    let run = host_bounded(
        &parse_stock_args(&broker, "nosuch", &["--group", "nosuch", "--available-now"]),
        LIMIT,
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!(
            "topic \"nosuch\" does not exist on \"{}\"",
            broker.addr
        )),
        "{}",
        run.stderr
    );
    // --check=online asks the broker; offline it would not.
    let online = host_bounded(
        &parse_stock_args(&broker, "nosuch", &["--group", "nosuch", "--check=online"]),
        LIMIT,
    );
    assert_eq!(online.code, 2);
    assert!(
        online.stderr.contains("topic \"nosuch\" does not exist")
            && online.stdout.contains("answered"),
        "{}",
        online.stderr
    );
    // --create-topics creates what is missing, for the producer and the consumer alike.
    let created = generate(&broker, "made-by-generate", 3, &["--create-topics"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let run = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "made-by-run",
            "--group",
            "made-by-run",
            "--create-topics",
            "--available-now",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(broker.read("made-by-generate", 3, LIMIT).len(), 3);
    assert!(broker.read("made-by-run", 0, LIMIT).is_empty());
    drop(broker);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let run = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &addr,
            "--available-now",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one error line, no log flood: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot reach broker \"{addr}\"")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("from the host \"localhost:19092\""),
        "{}",
        run.stderr
    );
    // SASL over TLS is compiled in: the same answer, not "OpenSSL not available".
    let secure = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &addr,
            "--available-now",
            "-X",
            "security.protocol=SASL_SSL",
            "-X",
            "sasl.mechanism=SCRAM-SHA-256",
            "-X",
            "sasl.username=u",
            "-X",
            "sasl.password=p",
        ],
        LIMIT,
    );
    assert_eq!(secure.code, 2);
    assert!(
        secure
            .stderr
            .starts_with(&format!("error: cannot reach broker \"{addr}\"")),
        "{}",
        secure.stderr
    );
}

#[test]
fn available_now_from_latest_has_nothing_to_do_and_exits() {
    let broker = Broker::start();
    broker.create_topic("late", 2);
    generate(&broker, "late", 5, &[]);
    let run = run_parse_stock(
        &broker,
        "late",
        &[
            "--group",
            "late",
            "--available-now",
            "--batch-linger-ms",
            "200",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stdout.contains("Batch:"),
        "latest means only records produced from now on:\n{}",
        run.stdout
    );
}

/// A stock tick in the tutorial's layout whose event_time encodes `i`.
fn tick(i: usize) -> String {
    format!(
        r#"{{"event_time": "2026-11-25T12:00:00.{i:06}", "ticker": "AAPL", "price": {}.5}}"#,
        i % 100
    )
}

/// `count` keyed ticks (`k<i>`), each with a `trace` header and a timestamp;
/// every `bad_every`-th value is not JSON.
pub(crate) fn keyed_ticks(count: usize, bad_every: usize) -> Vec<Record> {
    keyed_ticks_in(0..count, bad_every)
}

/// [`keyed_ticks`] numbered `range`.
pub(crate) fn keyed_ticks_in(range: std::ops::Range<usize>, bad_every: usize) -> Vec<Record> {
    range
        .map(|i| {
            let value = if bad_every > 0 && i % bad_every == 0 {
                format!("not json {i}")
            } else {
                tick(i)
            };
            Record {
                headers: vec![("trace".into(), Some(format!("t{i}").into_bytes()))],
                timestamp: Some(1_700_000_000_000 + i as i64),
                ..Record::new(&format!("k{i}"), value.as_bytes())
            }
        })
        .collect()
}

/// What `parse_stock` in DLQ mode makes of `input` into a Kafka topic, worked
/// out from the input alone: a tick becomes Spark's `to_json` of its row
/// (same key, headers and timestamp); anything else a dead letter.
pub(crate) fn parse_stock_fate(input: &Record) -> Fate {
    let value = input.value.as_deref().unwrap_or_default();
    let Ok(serde_json::Value::Object(tick)) = serde_json::from_slice(value) else {
        return Fate::DeadLetter;
    };
    let text = |name: &str| serde_json::Value::String(tick[name].as_str().unwrap().into());
    // A double as Java prints it, for the tests' prices (1e-3 <= |price| < 1e7): 7.0, 37.5.
    let price = tick["price"].as_f64().unwrap();
    let price = if price.fract() == 0.0 {
        format!("{price:.1}")
    } else {
        price.to_string()
    };
    let row = format!(
        r#"{{"event_time":{},"ticker":{},"price":{price}}}"#,
        text("event_time"),
        text("ticker"),
    );
    Fate::Output(Record {
        value: Some(row.into_bytes()),
        ..input.clone()
    })
}

#[test]
fn run_without_a_plugin_mirrors_records_unchanged() {
    let broker = Broker::start();
    broker.create_topic("plain-in", 2);
    broker.create_topic("mirror", 1);
    let mut input = keyed_ticks(120, 10);
    input[3].value = None;
    input[4].key = None;
    input[5].value = Some(vec![0xff, 0x00, 0xfe]);
    broker.produce("plain-in", &input);
    let args = [
        "run",
        "--brokers",
        &broker.addr,
        "--topic",
        "plain-in",
        "--sink",
        "kafka",
        "--output-topic",
        "mirror",
        "--starting-offsets",
        "earliest",
        "--available-now",
    ];
    let run = host_bounded(&args, LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let strip = |records: Vec<Record>| {
        let mut records: Vec<Record> = records
            .into_iter()
            .map(|r| Record {
                partition: None,
                offset: 0,
                ..r
            })
            .collect();
        records.sort_by_key(|r| r.timestamp);
        records
    };
    let mirrored = strip(broker.read("mirror", 120, LIMIT));
    assert_eq!(mirrored, strip(input));
    // The default group is named for the pass-through, and it committed everything.
    assert_eq!(
        broker.committed_total("sluice-passthrough", "plain-in", 2),
        120
    );
}

#[test]
fn kafka_to_kafka_with_a_dlq_accounts_for_every_input_offset() {
    let broker = Broker::start();
    broker.create_topic("k2k-in", 3);
    broker.create_topic("k2k-out", 2);
    broker.create_topic("k2k-dlq", 1);
    let mut input = keyed_ticks(300, 10);
    input[7].value = Some(vec![0xff, 0xfe, b'{']);
    broker.produce("k2k-in", &input);
    let produced = broker.read("k2k-in", 300, LIMIT);
    assert_eq!(produced.len(), 300);

    let run = host_bounded(
        &parse_stock_to_kafka_args(
            &broker,
            "k2k-in",
            "k2k-out",
            &[
                "--config",
                "parse_stock.mode=DLQ",
                "--dlq-topic",
                "k2k-dlq",
                "--group",
                "k2k",
                "--available-now",
                "--workers",
                "2",
                "--max-records-per-batch",
                "25",
            ],
        ),
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = broker.read("k2k-out", 269, LIMIT);
    let dlq = broker.read("k2k-dlq", 31, LIMIT);
    assert_eq!(
        (out.len(), dlq.len()),
        (269, 31),
        "no record twice, none lost"
    );

    for r in &out {
        let key = r.key_str();
        let source = produced
            .iter()
            .find(|p| p.key == r.key)
            .expect("a known key");
        let row: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
        let original: serde_json::Value =
            serde_json::from_slice(source.value.as_deref().unwrap()).unwrap();
        assert_eq!(row, original, "{key}: parsed to the same fields");
        assert_eq!(r.headers, source.headers, "{key}: headers kept");
        assert_eq!(r.timestamp, source.timestamp, "{key}: timestamp kept");
    }
    for r in &dlq {
        let partition: i32 = r
            .header("sluice.source.partition")
            .unwrap()
            .parse()
            .unwrap();
        let offset: i64 = r.header("sluice.source.offset").unwrap().parse().unwrap();
        let source = produced
            .iter()
            .find(|p| p.partition == Some(partition) && p.offset == offset)
            .expect("the DLQ names a real input offset");
        assert_eq!(r.value, source.value, "the original bytes");
        assert_eq!(r.key, source.key);
        assert_eq!(r.timestamp, source.timestamp);
        assert_eq!(
            r.header("trace"),
            source.header("trace"),
            "original headers kept"
        );
        assert_eq!(r.header("sluice.source.topic").as_deref(), Some("k2k-in"));
        assert_eq!(r.header("sluice.plugin").as_deref(), Some("parse_stock"));
        let error = r.header("sluice.error").unwrap();
        assert!(!error.is_empty(), "{error}");
    }
    // Every input offset is in the output (by key) or in the DLQ (by position).
    for p in &produced {
        let in_out = out.iter().any(|o| o.key == p.key);
        let in_dlq = dlq.iter().any(|d| {
            d.header("sluice.source.partition") == Some(p.partition.unwrap().to_string())
                && d.header("sluice.source.offset") == Some(p.offset.to_string())
        });
        assert!(
            in_out ^ in_dlq,
            "{} at {:?}@{}",
            p.key_str(),
            p.partition,
            p.offset
        );
    }
    // --available-now committed exactly the end offsets it found.
    let offsets = broker.offsets("k2k", "k2k-in", 3);
    assert!(
        offsets.iter().all(|(c, end)| c.unwrap_or(0) == *end),
        "{offsets:?}"
    );
    assert_eq!(offsets.iter().map(|(_, end)| end).sum::<i64>(), 300);
}

#[test]
fn a_plugin_routes_records_only_to_the_topics_the_pipeline_allows() {
    let broker = Broker::start();
    for t in [
        "route-in",
        "route-out",
        "left",
        "right",
        "elsewhere",
        "route-dlq",
    ] {
        broker.create_topic(t, 1);
    }
    let values: [&[u8]; 5] = [
        b"left|a",
        b"right|b",
        b"plain",
        b"elsewhere|c",
        b"__consumer_offsets|d",
    ];
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record::new(&format!("k{i}"), v))
        .collect();
    broker.produce("route-in", &records);
    let run = host_bounded(
        &[
            "run",
            "-p",
            guest("router"),
            "--brokers",
            &broker.addr,
            "--topic",
            "route-in",
            "--sink",
            "kafka",
            "--output-topic",
            "route-out",
            "--route-topics",
            "left,right",
            "--dlq-topic",
            "route-dlq",
            "--starting-offsets",
            "earliest",
            "--available-now",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = |topic| {
        broker
            .read(topic, 1, LIMIT)
            .into_iter()
            .map(|r| (r.key_str(), String::from_utf8(r.value.unwrap()).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(got("left"), [("k0".to_string(), "a".to_string())]);
    assert_eq!(got("right"), [("k1".to_string(), "b".to_string())]);
    assert_eq!(got("route-out"), [("k2".to_string(), "plain".to_string())]);
    // Anywhere else is a rejected record: the original, in the dead-letter topic, saying why.
    let dead = broker.read("route-dlq", 2, LIMIT);
    let why: Vec<(String, String)> = dead
        .iter()
        .map(|r| (r.key_str(), r.header("sluice.error").unwrap()))
        .collect();
    assert_eq!(why.len(), 2, "{why:?}");
    assert_eq!(why[0].0, "k3");
    assert!(
        why[0].1.contains("routed to topic \"elsewhere\""),
        "{why:?}"
    );
    assert!(why[0].1.contains("--route-topics elsewhere"), "{why:?}");
    assert_eq!(dead[0].value.as_deref(), Some(&b"elsewhere|c"[..]));
    assert_eq!(why[1].0, "k4");
    assert!(why[1].1.contains("Kafka's own (__*)"), "{why:?}");
    assert_eq!(broker.read("elsewhere", 0, Duration::from_secs(2)).len(), 0);
    // An internal topic cannot even be allowed.
    let refused = host(
        &[
            "run",
            "--sink",
            "kafka",
            "--output-topic",
            "route-out",
            "--route-topics",
            "__consumer_offsets",
            "--check",
        ],
        "",
    );
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("topics starting with __ are Kafka's own"),
        "{}",
        refused.stderr
    );
}

#[test]
fn on_error_fail_stops_before_the_bad_record_and_drop_goes_on() {
    let broker = Broker::start();
    broker.create_topic("onerr-in", 1);
    broker.produce("onerr-in", &keyed_ticks(11, 0)[..5]);
    broker.produce("onerr-in", &[Record::new("bad", b"{oops")]);
    broker.produce("onerr-in", &keyed_ticks(11, 0)[6..]);
    let dlq_mode = [
        "--config",
        "parse_stock.mode=DLQ",
        "--starting-offsets",
        "earliest",
    ];
    let common = [
        &dlq_mode[..],
        &[
            "--available-now",
            "--max-records-per-batch",
            "5",
            "-f",
            "json",
        ],
    ]
    .concat();
    let failed = run_parse_stock(
        &broker,
        "onerr-in",
        &[&common[..], &["--group", "onerr-g"]].concat(),
    );
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("record onerr-in[0]@5 failed in plugin \"parse_stock\"")
            && failed.stderr.contains("--dlq-topic"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        failed.lines().len(),
        5,
        "the batch before it was printed:\n{}",
        failed.stdout
    );
    assert_eq!(
        broker.offsets("onerr-g", "onerr-in", 1)[0].0,
        Some(5),
        "a restart reads the bad record again"
    );

    let dropped = run_parse_stock(
        &broker,
        "onerr-in",
        &[&common[..], &["--group", "onerr-g", "--on-error", "drop"]].concat(),
    );
    assert_eq!(dropped.code, 0, "{}", dropped.stderr);
    assert_eq!(dropped.lines().len(), 5, "{}", dropped.stdout);
    let errors = dropped.errors();
    assert_eq!(errors.len(), 1, "{}", dropped.stderr);
    assert_eq!(errors[0]["offset"], 5);
    assert_eq!(errors[0]["plugin"], "parse_stock");
    assert_eq!(broker.offsets("onerr-g", "onerr-in", 1)[0].0, Some(11));
}

#[test]
fn sigkill_mid_stream_then_restart_loses_nothing() {
    let broker = Broker::start();
    broker.create_topic("crash-in", 3);
    broker.create_topic("crash-out", 3);
    let total = 3000;
    let records = keyed_ticks(total, 0);
    // A live stream: records keep arriving while the host runs and is killed.
    let producer = {
        let addr = broker.addr.clone();
        std::thread::spawn(move || {
            let broker = Broker::attach(&addr);
            for chunk in records.chunks(100) {
                broker.produce("crash-in", chunk);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let args = parse_stock_to_kafka_args(
        &broker,
        "crash-in",
        "crash-out",
        &[
            "--group",
            "crash",
            "--max-records-per-batch",
            "20",
            "--batch-linger-ms",
            "50",
            "--workers",
            "2",
            // The killed member's session must end before the restarted one is given its
            // partitions, and a rebalance waits for it at most max.poll.interval.ms (Kafka's
            // classic group protocol holds a join for a dead member that long; default 300 s).
            "-X",
            "session.timeout.ms=6000",
            "-X",
            "max.poll.interval.ms=10000",
        ],
    );
    let host = spawn_host(&args, &[]);
    let (_, mut random) = sluice_tests::seed("the kill");
    host.wait_for("offsets committed", LIMIT, |_| {
        broker.committed_total("crash", "crash-in", 3) >= 300
    });
    std::thread::sleep(Duration::from_millis(random() % 1000));
    host.signal("KILL");
    let killed = host.wait(LIMIT);
    assert_eq!(killed.code, -9, "{}", killed.stderr);
    let topics = Topics {
        input: "crash-in",
        output: "crash-out",
        dlq: None,
        plugin: "parse_stock",
    };
    let at_kill = topics.moment(&broker, "crash", "the kill");
    producer.join().unwrap();
    assert!(
        at_kill.committed() < total as i64,
        "killed mid-stream, at {} of {total}",
        at_kill.committed()
    );

    // Restarted at once: the dead member's session (6 s) ends before Kafka gives the new
    // member its partitions, and --available-now waits for them.
    let restart = std::time::Instant::now();
    let restarted = spawn_host(
        &[&args[..], &["--available-now"]].concat(),
        &[("SLUICE_LOG", "info")],
    )
    .wait(LIMIT);
    assert_eq!(restarted.code, 0, "{}", restarted.stderr);
    let audited = topics.audit(&broker, &[at_kill], parse_stock_fate);
    assert_eq!(audited.records, total, "the input is all there");
    eprintln!("{audited:?}; the restart took {:?}", restart.elapsed());
    // What a kill can repeat is what was delivered and not committed (the audit holds every
    // duplicate to it); on a loaded machine the broker's answer to a commit can lag, so the
    // kill is held to 2 s of the load, not to the 8 batches of 20 it usually is.
    assert!(audited.exposed[0] <= 2000, "{audited:?}");
}

#[test]
fn two_hosts_in_one_group_split_the_partitions_and_output_everything() {
    let broker = Broker::start();
    broker.create_topic("pair-in", 4);
    let args = parse_stock_args(
        &broker,
        "pair-in",
        &[
            "--group",
            "pair",
            "--starting-offsets",
            "earliest",
            "-f",
            "json",
            "--batch-linger-ms",
            "100",
        ],
    );
    let env = [("SLUICE_LOG", "info")];
    let a = spawn_host(&args, &env);
    a.wait_for("the first host is assigned partitions", LIMIT, |h| {
        h.stderr().contains("assigned partitions: pair-in[")
    });
    let b = spawn_host(&args, &env);
    b.wait_for("the partitions are split", LIMIT, |b| {
        let (x, y) = (a.assigned(), b.assigned());
        !x.is_empty() && !y.is_empty() && x.len() + y.len() == 4 && x.iter().all(|p| !y.contains(p))
    });
    let records = keyed_ticks(400, 0);
    broker.produce("pair-in", &records);
    let seen = |h: &Spawned| -> std::collections::BTreeSet<String> {
        h.stdout().lines().map(str::to_string).collect()
    };
    b.wait_for("every record printed by one of them", LIMIT, |b| {
        seen(&a).union(&seen(b)).count() >= 400
    });
    a.signal("TERM");
    b.signal("TERM");
    let (a, b) = (a.wait(LIMIT), b.wait(LIMIT));
    assert_eq!(
        (a.code, b.code),
        (0, 0),
        "SIGTERM drains and exits 0:\n{}\n{}",
        a.stderr,
        b.stderr
    );
    let (x, y) = (a.lines().len(), b.lines().len());
    assert!(x > 0 && y > 0, "both hosts did work: {x} and {y} records");
    let expected: std::collections::BTreeSet<String> = (0..400)
        .map(|i| {
            serde_json::from_str::<serde_json::Value>(&tick(i))
                .unwrap()
                .to_string()
        })
        .collect();
    let printed: std::collections::BTreeSet<String> = a
        .lines()
        .into_iter()
        .chain(b.lines())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(printed, expected);
    let committed: i64 = broker.committed_total("pair", "pair-in", 4);
    assert_eq!(
        committed, 400,
        "both committed what they printed before exiting"
    );
}

#[test]
fn starting_offsets_json_and_a_pipeline_file_with_flags_on_top() {
    let broker = Broker::start();
    broker.create_topic("t", 2);
    let mut records = keyed_ticks(20, 0);
    for (i, r) in records.iter_mut().enumerate() {
        r.partition = Some((i % 2) as i32);
    }
    broker.produce("t", &records);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.toml");
    std::fs::write(
        &file,
        format!(
            "plugin = [\"parse_stock\"]\nbrokers = \"{}\"\ntopic = \"t\"\nformat = \"json\"\navailable-now = true\nstarting_offsets = '{{\"t\":{{\"0\":3,\"1\":-1}}}}'\ngroup = \"from-file\"\n",
            broker.addr
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let run = host_bounded(&["run", "--pipeline", file], LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Partition 0 holds ticks 0, 2, 4, …; offset 3 on is ticks 6..18; partition 1 starts at its end.
    let expected: Vec<String> = (6..20)
        .step_by(2)
        .map(|i| {
            serde_json::from_str::<serde_json::Value>(&tick(i))
                .unwrap()
                .to_string()
        })
        .collect();
    let printed: Vec<String> = run
        .lines()
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(printed, expected);

    // A flag on the command line replaces the file's setting: a new group from "earliest".
    let run = host_bounded(
        &[
            "run",
            "--pipeline",
            file,
            "--group",
            "flag",
            "--starting-offsets",
            "earliest",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines().len(), 20, "{}", run.stdout);

    for (offsets, says) in [
        (
            r#"{"t":{"0":-2"#,
            "EOF while parsing an object at line 1 column 12",
        ),
        (r#"{"t":{"0":-2}}"#, "gives no offset for t[1]"),
        (
            r#"{"u":{"0":-2}}"#,
            "names topic \"u\", which is not consumed",
        ),
        (
            r#"{"t":{"x":1}}"#,
            "partition \"x\" is not a partition number",
        ),
    ] {
        let run = host_bounded(
            &[
                "run",
                "--pipeline",
                file,
                "--group",
                "bad",
                "--starting-offsets",
                offsets,
            ],
            LIMIT,
        );
        assert_eq!(run.code, 2, "{offsets}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{offsets}: {}", run.stderr);
    }
}

#[test]
fn a_topic_pattern_consumes_every_matching_topic() {
    let broker = Broker::start();
    for t in ["ticks-a", "ticks-b", "other"] {
        broker.create_topic(t, 1);
        broker.produce(t, &[Record::new(t, tick(1).as_bytes())]);
    }
    let run = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic-pattern",
            "ticks-.*",
            "--group",
            "pattern",
            "--starting-offsets",
            "earliest",
            "--available-now",
            "-f",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines().len(),
        2,
        "ticks-a and ticks-b, not other:\n{}",
        run.stdout
    );
    let none = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic-pattern",
            "nope.*",
            "--group",
            "pattern",
        ],
        LIMIT,
    );
    assert_eq!(none.code, 2);
    assert!(
        none.stderr
            .contains("--topic-pattern \"nope.*\" matches no topic"),
        "{}",
        none.stderr
    );
}

#[test]
fn the_tutorial_producer_in_python_is_consumed_and_parsed() {
    let broker = Broker::start();
    broker.create_topic("stock_json_topic_spark", 1);
    // The tutorial's producer (kafka-python), with the broker address and a count.
    let script = format!(
        r#"
import json, random, datetime
from kafka import KafkaProducer
producer = KafkaProducer(bootstrap_servers=['{}'], api_version=(2, 8))
tickers = ['AAPL', 'AMZN', 'MSFT', 'INTC', 'TBV']
for _ in range(3):
    data = {{"event_time": datetime.datetime.now().isoformat(), "ticker": random.choice(tickers), "price": round(random.random() * 100, 2)}}
    json_data = json.dumps(data)
    producer.send("stock_json_topic_spark", bytes(f'{{json_data}}', 'UTF-8'))
    print(f"Data is sent: {{json_data}}")
producer.flush()
"#,
        broker.addr
    );
    let sent: Vec<serde_json::Value> = sluice_tests::python_script(&script)
        .lines()
        .map(|l| serde_json::from_str(l.strip_prefix("Data is sent: ").unwrap()).unwrap())
        .collect();
    assert_eq!(sent.len(), 3);
    let run = host_bounded(
        &[
            "run",
            "--plugin",
            "parse_stock.wasm",
            "--brokers",
            &broker.addr,
            "--starting-offsets",
            "earliest",
            "--available-now",
            "--truncate",
            "false",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for s in &sent {
        let row = format!(
            "|{}|{:<6}|{:<5}|",
            s["event_time"].as_str().unwrap(),
            s["ticker"].as_str().unwrap(),
            s["price"].to_string()
        );
        assert!(run.stdout.contains(&row), "{row} in\n{}", run.stdout);
    }
}

#[test]
fn demo_runs_the_tutorial_with_no_broker() {
    let run = host_bounded(&["demo", "--count", "5", "--rate", "20"], LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("root\n |-- event_time: string (nullable = true)\n |-- ticker: string (nullable = true)\n |-- price: double (nullable = true)\n\n-------------------------------------------\nBatch: 0\n"),
        "{}",
        run.stdout
    );
    let rows = run
        .lines()
        .into_iter()
        .filter(|l| l.starts_with('|') && !l.contains("event_time"))
        .count();
    assert_eq!(rows, 5, "{}", run.stdout);
}

#[test]
fn a_console_reader_that_goes_away_stops_the_run_with_exit_0() {
    // `host run | head`: once the reader has left, the next batch cannot be printed;
    // the run stops as on Ctrl-C (that batch unacknowledged) and exits 0, not 2.
    use std::io::Read;
    let broker = Broker::start();
    broker.create_topic("closed", 1);
    let args = parse_stock_args(&broker, "closed", &["--group", "closed-reader"]);
    let mut cmd = std::process::Command::new(sluice_tests::host_bin());
    cmd.args(&args)
        .env("SLUICE_CACHE_DIR", sluice_tests::cache_dir())
        .env_remove("SLUICE_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // The printSchema tree comes first; read some of it, then go away.
    let first = sluice_tests::read_then_close_stdout(&mut child, 16);
    assert_eq!(first, b"root\n |-- event_");
    let deadline = std::time::Instant::now() + LIMIT;
    let status = loop {
        broker.produce("closed", &[Record::new("k", tick(1).as_bytes())]);
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "host run kept running after its reader left"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn a_new_group_from_latest_reads_what_arrives_after_it_joins_and_nothing_before() {
    // A new group has no committed offsets: each partition starts at `--starting-offsets`
    // (the host gives librdkafka that start itself, so a new group's first record is not
    // held back; the start must still be exactly the end of the partition).
    let broker = Broker::start();
    broker.create_topic("fresh-in", 2);
    broker.create_topic("fresh-out", 1);
    broker.produce(
        "fresh-in",
        &sluice_tests::priced_ticks("old", 6, |i| i.to_string()),
    );
    let mut args = run_args(&broker, &["-p", "parse_stock"], "fresh-in", &[]);
    args.extend(["--group", "g-fresh", "--starting-offsets", "latest"]);
    args.extend(["--sink", "kafka", "--output-topic", "fresh-out"]);
    let host = spawn_host(&args, &[("SLUICE_LOG", "info")]);
    host.wait_for("the host is assigned both partitions", LIMIT, |h| {
        h.stderr()
            .contains("assigned partitions: fresh-in[0], fresh-in[1]")
    });
    // The assignment is logged before "latest" is looked up: a probe is produced until one
    // comes out, so the start is known to be resolved (earlier probes may be skipped).
    let mut probes = 0;
    let started = sluice_tests::within(LIMIT, Duration::from_millis(200), || {
        let probe = format!("probe{probes}");
        broker.produce(
            "fresh-in",
            &sluice_tests::priced_ticks(&probe, 1, |_| "1".into()),
        );
        probes += 1;
        broker.end_total("fresh-out") > 0
    });
    assert!(started, "no probe came out: {}", host.stderr());
    broker.produce(
        "fresh-in",
        &sluice_tests::priced_ticks("new", 4, |i| i.to_string()),
    );
    let keys = broker.read_keys("fresh-out", 5, LIMIT);
    let (probed, after): (Vec<String>, Vec<String>) =
        keys.into_iter().partition(|k| k.starts_with("probe"));
    assert_eq!(
        after,
        ["new0", "new1", "new2", "new3"],
        "only the records produced after the start, all of them: {}",
        host.stderr()
    );
    assert!(!probed.is_empty());
}
