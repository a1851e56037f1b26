//! P3–P8 of BENCHMARKS.md: Sluice against Apache Kafka 4.4 (one KRaft broker on loopback,
//! started by the test harness), every comparison in the same run.
//!
//! - P3: `host run` Kafka → parse_stock → schema_filter → Kafka over N records in 3 partitions,
//!   beside `host run` with no plugin (pass-through), a Python confluent-kafka loop, the same job
//!   as a Kafka Streams application (`bench/kstreams`) and as a PySpark Structured Streaming
//!   query (`bench/pyspark_streaming.py`), each reading and writing Kafka.
//! - P4: produce → sink latency at 10,000 records/s (send time carried in a header), beside a
//!   plain consumer of the input topic.
//! - P5: process start → first output record (`host test`, and `host run` to the console).
//! - P6: peak RSS of `host run` with three plugins over the P3 input.
//! - P8: SIGKILL and restart with the same `--instance-id` → first record again.
//!
//! Run: `cargo build --release -p host && cargo bench -p sluice-tests --bench pipeline --
//! [--records N] [--runs R] [--latency-secs S] [--python /ABSOLUTE/VENV_PYTHON]
//! [--pyspark /ABSOLUTE/VENV_PYTHON] [--kstreams CLASSPATH] [--smoke]` (bench/run does all of it).
//! Each figure is the median of R runs; the runs of P3 alternate between the programs. The
//! broker shares the two cores with each program: CPU seconds are the program's alone (its
//! process tree: PySpark's JVM is a child of its Python).

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use sluice_tests::{Broker, Spawned, cache_dir, host_bin, plugin_file, spawn};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WHERE: &str = "price > 50 AND ticker IN ('AAPL','MSFT')";
const LIMIT: Duration = Duration::from_secs(600);

struct Options {
    records: u64,
    runs: usize,
    python: Option<PathBuf>,
    pyspark: Option<PathBuf>,
    kstreams: Option<String>,
    latency_secs: u64,
}

fn options() -> Options {
    let mut o = Options {
        records: 1_000_000,
        runs: 3,
        python: None,
        pyspark: None,
        kstreams: None,
        latency_secs: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--records" => o.records = value().parse().expect("--records N"),
            "--runs" => o.runs = value().parse().expect("--runs N"),
            "--python" => o.python = Some(value().into()),
            "--pyspark" => o.pyspark = Some(value().into()),
            "--kstreams" => o.kstreams = Some(value()),
            "--latency-secs" => o.latency_secs = value().parse().expect("--latency-secs N"),
            "--smoke" => {
                (o.records, o.runs, o.latency_secs) = (20_000, 1, 2);
            }
            "--bench" => {}
            other => {
                panic!("unknown argument {other:?}; see the header of tests/benches/pipeline.rs")
            }
        }
    }
    o
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `host ARGS` with the bench's compile cache.
fn host(args: &[&str]) -> Command {
    let mut cmd = Command::new(host_bin());
    cmd.args(args)
        .env("SLUICE_CACHE_DIR", cache_dir())
        .env_remove("SLUICE_LOG");
    cmd
}

/// What one timed process did: wall time from spawn to exit, its peak RSS,
/// the CPU time it used (user + system), and what it printed.
struct Timed {
    secs: f64,
    peak_rss_kib: u64,
    cpu_secs: f64,
    stdout: String,
}

/// User + system CPU seconds of a live process and its descendants
/// (`/proc/PID/stat`, in the kernel's 100 Hz ticks: its own time, that of the
/// children it has reaped, and recursively that of those still running).
fn cpu_secs(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    let own = (ticks(11)? + ticks(12)? + ticks(13)? + ticks(14)?) / 100.0;
    let children: f64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .filter_map(cpu_secs)
        .sum();
    Some(own + children)
}

/// Runs `cmd` to completion, sampling its peak RSS (VmHWM) and its CPU time
/// every 10 ms (the last sample is at most 10 ms before it exits).
fn timed(cmd: Command, what: &str) -> Timed {
    let started = Instant::now();
    let child = spawn(cmd);
    let status = format!("/proc/{}/status", child.pid());
    let pid = child.pid();
    let (run, (peak, cpu)) = {
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut peak, mut cpu) = (0u64, 0.0f64);
                while !done.load(Ordering::Relaxed) {
                    if let Some(kib) = std::fs::read_to_string(&status).ok().and_then(|s| {
                        s.lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
                    }) {
                        peak = peak.max(kib);
                    }
                    if let Some(secs) = cpu_secs(pid) {
                        cpu = cpu.max(secs);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                (peak, cpu)
            })
        };
        let run = child.wait(LIMIT);
        done.store(true, Ordering::Relaxed);
        (run, sampler.join().expect("the RSS sampler"))
    };
    assert_eq!(run.code, 0, "{what} failed:\n{}", run.stderr);
    Timed {
        secs: started.elapsed().as_secs_f64(),
        peak_rss_kib: peak,
        cpu_secs: cpu,
        stdout: run.stdout,
    }
}

/// Counts the records of `topic` (all partitions): until `expect` came and
/// 2 s pass with no more.
fn count(broker: &Broker, topic: &str, expect: u64) -> u64 {
    let consumer = broker.reader(topic);
    let (mut n, mut quiet) = (0, Instant::now());
    let deadline = Instant::now() + LIMIT;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => {}
            Some(m) => {
                m.expect("reading");
                n += 1;
                quiet = Instant::now();
            }
            None if n >= expect && quiet.elapsed() > Duration::from_secs(2) => break,
            None => {}
        }
    }
    n
}

/// The plugin flags of the P3 pipeline (parse_stock → schema_filter), plus `extra` plugins.
fn plugins(extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["-p", "parse_stock", "-p", "schema_filter"]
        .map(String::from)
        .into();
    for p in extra {
        args.extend(["-p".into(), p.clone()]);
    }
    args.extend(["--config".into(), format!("schema_filter.where={WHERE}")]);
    args
}

/// `host run` from `topic` to `out` with `plugin_args`, as a new group, until the topic is drained.
fn run_to_kafka(at: &Target, topic: &str, out: &str, plugin_args: &[String]) -> Timed {
    at.create_topic(out, 1);
    let mut args: Vec<&str> = vec!["run", "--brokers", &at.broker.addr, "--topic", topic];
    args.extend(["--sink", "kafka", "--output-topic", out, "--group", out]);
    args.extend(["--starting-offsets", "earliest", "--available-now"]);
    args.extend(plugin_args.iter().map(String::as_str));
    timed(host(&args), &format!("host run into {out}"))
}

/// Produces the P3 input: `records` ticks by `host generate` (timed), in 3 partitions.
fn produce_input(at: &Target, topic: &str, records: u64) -> f64 {
    let broker = &at.broker;
    at.create_topic(topic, 3);
    let count = records.to_string();
    let generate = timed(
        host(&[
            "generate",
            "-p",
            "stock_generator",
            "--config",
            "stock_generator.seed=7",
            "--brokers",
            &broker.addr,
            "--topic",
            topic,
            "--rate",
            "0",
            "--count",
            &count,
        ]),
        "host generate",
    );
    records as f64 / generate.secs
}

struct Row {
    id: &'static str,
    what: String,
    measured: String,
    compared: String,
    goal: &'static str,
    holds: bool,
}

/// The broker a run is against, and its name in the summary.
struct Target {
    broker: Broker,
    name: &'static str,
}

impl Target {
    fn create_topic(&self, name: &str, partitions: u32) {
        self.broker.create_topic(name, partitions);
    }
}

/// The summary rows, each also printed as soon as it is measured.
#[derive(Default)]
struct Rows(Vec<Row>);

impl Rows {
    fn add(&mut self, row: Row) {
        println!("{}", row.line());
        self.0.push(row);
    }
}

impl Row {
    fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} |",
            self.id,
            self.what,
            self.measured,
            self.compared,
            self.goal,
            if self.holds { "yes" } else { "no" }
        )
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn p3_p6(at: &Target, o: &Options, rows: &mut Rows) {
    let (broker, on) = (&at.broker, at.name);
    let topic = "ticks";
    let generate_rate = produce_input(at, topic, o.records);
    let total = o.records;
    // Compile the plugins into the cache once, so no run pays for it.
    let warm = host(&[
        "test",
        "-p",
        "parse_stock",
        "-p",
        "schema_filter",
        "-p",
        &plugin_file("min_price"),
    ])
    .stdin(Stdio::null())
    .output()
    .expect("host test");
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );

    let (mut sluice, mut pass, mut python, mut three) = (vec![], vec![], vec![], vec![]);
    let (mut sluice_cpu, mut python_cpu, mut pass_cpu) = (vec![], vec![], vec![]);
    let (mut kstreams, mut kstreams_cpu) = (vec![], vec![]);
    let (mut pyspark, mut pyspark_cpu, mut pyspark_query) = (vec![], vec![], vec![]);
    let (mut observed, mut observed_cpu) = (vec![], vec![]);
    let progress =
        std::env::temp_dir().join(format!("sluice-bench-progress-{}", std::process::id()));
    let per_million = |t: &Timed| t.cpu_secs / total as f64 * 1e6;
    let (mut sluice_rss, mut three_rss) = (vec![], vec![]);
    let mut kept = None;
    for run in 0..o.runs {
        let out = format!("sluice-{run}");
        let t = run_to_kafka(at, topic, &out, &plugins(&[]));
        sluice.push(total as f64 / t.secs);
        sluice_rss.push(mib(t.peak_rss_kib));
        sluice_cpu.push(per_million(&t));
        let n = count(broker, &out, 1);
        assert!(
            n > 0 && n < total,
            "the filter keeps some records, not all: {n}"
        );
        assert!(
            kept.is_none_or(|k| k == n),
            "every run keeps the same records"
        );
        kept = Some(n);

        // The same with everything observable on: the live page, /metrics, progress reports.
        let out = format!("observed-{run}");
        let mut args = plugins(&[]);
        args.extend([
            "--ui=127.0.0.1:0".into(),
            "--metrics-addr".into(),
            "127.0.0.1:0".into(),
        ]);
        args.extend(["--progress".into(), progress.display().to_string()]);
        let t = run_to_kafka(at, topic, &out, &args);
        observed.push(total as f64 / t.secs);
        observed_cpu.push(per_million(&t));
        assert_eq!(
            count(broker, &out, 1),
            kept.unwrap(),
            "observed, the same records"
        );

        let out = format!("pass-{run}");
        let t = run_to_kafka(at, topic, &out, &[]);
        pass.push(total as f64 / t.secs);
        pass_cpu.push(per_million(&t));
        assert_eq!(
            count(broker, &out, total),
            total,
            "the pass-through copies everything"
        );

        let out = format!("three-{run}");
        let t = run_to_kafka(at, topic, &out, &plugins(&[plugin_file("min_price")]));
        three.push(total as f64 / t.secs);
        three_rss.push(mib(t.peak_rss_kib));

        // A peer program doing the same job from `topic` into its own topic `out`.
        let kept_n = kept.unwrap();
        let peer = |what: &str, out: &str, cmd: Command| -> Timed {
            at.create_topic(out, 1);
            let t = timed(cmd, what);
            assert_eq!(
                count(broker, out, 1),
                kept_n,
                "{what} keeps what Sluice keeps"
            );
            t
        };

        if let Some(py) = &o.python {
            let out = format!("python-{run}");
            let mut cmd = Command::new(py);
            cmd.arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../bench/python_loop.py"
            ))
            .args([&broker.addr, topic, &out, &total.to_string(), &out]);
            let t = peer("the Python loop", &out, cmd);
            python.push(total as f64 / t.secs);
            python_cpu.push(per_million(&t));
        }

        if let Some(class_path) = &o.kstreams {
            let out = format!("kstreams-{run}");
            let mut cmd = Command::new("java");
            cmd.args(["-cp", class_path, "dev.sluice.bench.P3"]).args([
                &broker.addr,
                topic,
                &out,
                &total.to_string(),
                &out,
            ]);
            let t = peer("the Kafka Streams application", &out, cmd);
            kstreams.push(total as f64 / t.secs);
            kstreams_cpu.push(per_million(&t));
        }

        if let Some(py) = &o.pyspark {
            let out = format!("pyspark-{run}");
            let checkpoint = tempfile::tempdir().expect("a checkpoint directory");
            let mut cmd = Command::new(py);
            cmd.arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../bench/pyspark_streaming.py"
            ))
            .args([&broker.addr, topic, &out])
            .arg(checkpoint.path());
            let t = peer("PySpark's streaming query", &out, cmd);
            pyspark.push(total as f64 / t.secs);
            pyspark_cpu.push(per_million(&t));
            pyspark_query.push(
                t.stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("query seconds: "))
                    .and_then(|s| s.parse::<f64>().ok())
                    .map_or(0.0, |secs| total as f64 / secs),
            );
        }
    }
    let (sluice, pass, three) = (median(sluice), median(pass), median(three));
    println!(
        "P3 input: {total} records in 3 partitions, produced by host generate at {:.2} M records/s",
        generate_rate / 1e6
    );
    let m = |r: f64| format!("{:.2} M rec/s", r / 1e6);
    rows.add(Row {
        id: "P3",
        what: format!("Kafka → parse_stock → schema_filter → Kafka, {on}"),
        measured: m(sluice),
        compared: format!("pass-through {}: {:.2}x", m(pass), sluice / pass),
        goal: "≥ 0.9x pass-through",
        holds: sluice >= 0.9 * pass,
    });
    if !kstreams.is_empty() {
        let (rate, cpu) = (median(kstreams), median(kstreams_cpu.clone()));
        let sluice_cpu = median(sluice_cpu.clone());
        rows.add(Row {
            id: "P3",
            what: format!("the same job as a Kafka Streams 4.4 application (Jackson), {on}"),
            measured: format!("{} ({sluice_cpu:.2} s CPU per 1 M)", m(sluice)),
            compared: format!(
                "Kafka Streams {} ({cpu:.2} s CPU per 1 M): {:.2}x throughput, {:.2}x CPU",
                m(rate),
                sluice / rate,
                sluice_cpu / cpu
            ),
            goal: "≥ 1x Kafka Streams' throughput, ≤ 0.5x its CPU",
            holds: sluice >= rate && sluice_cpu <= 0.5 * cpu,
        });
    }
    if !pyspark.is_empty() {
        let (rate, cpu, query) = (median(pyspark), median(pyspark_cpu), median(pyspark_query));
        let sluice_cpu = median(sluice_cpu.clone());
        rows.add(Row {
            id: "P3",
            what: format!("the same job as a PySpark Structured Streaming query, Kafka to Kafka, availableNow, {on}"),
            measured: format!("{} ({sluice_cpu:.2} s CPU per 1 M)", m(sluice)),
            compared: format!(
                "PySpark {} from process start, {} from the query's start ({cpu:.2} s CPU per 1 M): {:.1}x, {:.1}x",
                m(rate),
                m(query),
                sluice / rate,
                sluice / query
            ),
            goal: "≥ 5x PySpark streaming",
            holds: sluice >= 5.0 * rate,
        });
    }
    let _ = std::fs::remove_file(&progress);
    let (observed, observed_cpu) = (median(observed), median(observed_cpu));
    let (sluice_cpu, pass_cpu) = (median(sluice_cpu), median(pass_cpu));
    rows.add(Row {
        id: "P7",
        what: format!("P3 with --ui, --metrics-addr and --progress on, {on}"),
        measured: format!("{} ({observed_cpu:.2} s CPU per 1 M)", m(observed)),
        compared: format!(
            "off: {} ({sluice_cpu:.2} s CPU): {:.3}x throughput, {:.3}x CPU",
            m(sluice),
            observed / sluice,
            observed_cpu / sluice_cpu
        ),
        goal: "within 3% of off",
        holds: observed >= 0.97 * sluice,
    });
    if python_cpu.is_empty() {
        rows.add(Row {
            id: "P3",
            what: format!("CPU per 1 M records, Kafka → chain → Kafka, {on}"),
            measured: format!("{sluice_cpu:.2} s (pass-through {pass_cpu:.2} s)"),
            compared: "(no --python)".into(),
            goal: "≤ 0.1x the Python loop",
            holds: false,
        });
    } else {
        let python_cpu = median(python_cpu);
        rows.add(Row {
            id: "P3",
            what: format!("CPU per 1 M records, Kafka → chain → Kafka, {on}"),
            measured: format!("{sluice_cpu:.2} s (pass-through {pass_cpu:.2} s)"),
            compared: format!(
                "confluent-kafka loop {python_cpu:.2} s: {:.2}x",
                sluice_cpu / python_cpu
            ),
            goal: "≤ 0.1x the Python loop",
            holds: sluice_cpu <= 0.1 * python_cpu,
        });
    }
    if !python.is_empty() {
        let python = median(python);
        rows.add(Row {
            id: "P3",
            what: format!("the same, against Python, {on}"),
            measured: m(sluice),
            compared: format!(
                "confluent-kafka loop {}: {:.1}x",
                m(python),
                sluice / python
            ),
            goal: "≥ 10x the Python loop",
            holds: sluice >= 10.0 * python,
        });
    }
    let (rss, rss3) = (median(sluice_rss), median(three_rss));
    rows.add(Row {
        id: "P6",
        what: format!("peak RSS, host run with three plugins during P3, {on}"),
        measured: format!("{rss3:.0} MiB (two plugins: {rss:.0} MiB)"),
        compared: format!("three plugins run at {}", m(three)),
        goal: "< 64 MiB",
        holds: rss3 < 64.0,
    });
}

/// P4: records produced at 10,000/s with their send time (µs since the epoch)
/// in a header, through parse_stock → schema_filter into a topic a consumer
/// reads at once; latency = receive time − send time.
fn p4(at: &Target, o: &Options, rows: &mut Rows, observed: bool) {
    let (broker, on) = (&at.broker, at.name);
    const RATE: u64 = 10_000;
    let (lat_in, lat_out) = if observed {
        ("lat-in-observed", "lat-out-observed")
    } else {
        ("lat-in", "lat-out")
    };
    at.create_topic(lat_in, 1);
    at.create_topic(lat_out, 1);
    let mut args = vec!["run", "--brokers", &broker.addr, "--topic", lat_in];
    args.extend([
        "--sink",
        "kafka",
        "--output-topic",
        lat_out,
        "--starting-offsets",
        "earliest",
    ]);
    if observed {
        args.extend(["--ui=127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"]);
        args.extend(["--progress", "/dev/null"]);
    }
    args.extend(["-p", "parse_stock", "-p", "schema_filter"]);
    let mut cmd = host(&args);
    cmd.env("SLUICE_LOG", "info");
    let running: Spawned = spawn(cmd);
    running.wait_for(
        "host run to be assigned its partition",
        Duration::from_secs(60),
        |h| h.stderr().contains("assigned partitions"),
    );

    // One reader through Sluice, one straight off the input topic (the broker's own share).
    let expect = RATE * o.latency_secs;
    let reader = latency_reader(&broker.addr, lat_out, expect);
    let direct = latency_reader(&broker.addr, lat_in, expect);

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        // librdkafka's default linger: 10,000 sends a second as ~200 batches.
        .set("linger.ms", "5")
        .create()
        .expect("a producer");
    let value =
        br#"{"event_time": "2026-11-25T12:00:00.000000", "ticker": "AAPL", "price": 42.17}"#;
    let start = Instant::now();
    let total = RATE * o.latency_secs;
    for i in 0..total {
        // Paced per record: record i leaves at i / RATE seconds.
        let due = start + Duration::from_micros(i * 1_000_000 / RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let sent = micros().to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: "sent_us",
            value: Some(sent.as_bytes()),
        });
        producer
            .send(
                BaseRecord::<[u8], [u8]>::to(lat_in)
                    .payload(&value[..])
                    .headers(headers),
            )
            .map_err(|(e, _)| e)
            .expect("producing");
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flushed");
    let received = reader.join().expect("the latency reader");
    let direct = direct.join().expect("the latency reader");
    running.signal("TERM");
    let run = running.wait(Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(received.len() as u64, total, "every record arrived");
    // Steady state: the records sent after the first second (the first ones also wait
    // for the sink's producer to fetch metadata and its idempotent producer id).
    let first = received.iter().map(|(sent, _)| *sent).min().unwrap_or(0);
    let quantiles = |of: &[(u64, f64)], from: u64| {
        let mut l: Vec<f64> = of
            .iter()
            .filter(|(sent, _)| *sent >= from)
            .map(|(_, ms)| *ms)
            .collect();
        l.sort_by(f64::total_cmp);
        let at = |q: f64| l[((l.len() - 1) as f64 * q) as usize];
        (at(0.5), at(0.99), at(1.0))
    };
    let (p50, p99, max) = quantiles(&received, first + 1_000_000);
    let (_, all99, _) = quantiles(&received, 0);
    let (d50, d99, _) = quantiles(&direct, first + 1_000_000);
    let (_, d_all99, _) = quantiles(&direct, 0);
    rows.add(Row {
        id: "P4",
        what: format!(
            "produce → sink latency, {RATE} rec/s for {} s, default settings{}, {on}",
            o.latency_secs,
            if observed {
                ", with --ui, --metrics-addr, --progress"
            } else {
                ""
            }
        ),
        measured: format!(
            "after the first second: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (all: p99 {all99:.1} ms)"
        ),
        compared: format!(
            "a plain consumer of the input (producer → broker → consumer): p50 {d50:.1} ms, p99 {d99:.1} ms (all: p99 {d_all99:.1} ms); Sluice adds p99 {:.1} ms (its hop back into Kafka included)",
            p99 - d99
        ),
        goal: "p99 added < 5 ms",
        holds: p99 - d99 < 5.0,
    });
}

/// Reads `topic` from the beginning until `expect` records came (or a minute
/// past their time), recording (send time, latency in ms) from the `sent_us` header.
fn latency_reader(
    addr: &str,
    topic: &'static str,
    expect: u64,
) -> std::thread::JoinHandle<Vec<(u64, f64)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "bench-latency")
        .set("fetch.wait.max.ms", "1")
        .create()
        .expect("a consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    std::thread::spawn(move || {
        let mut latencies = Vec::with_capacity(expect as usize);
        let deadline = Instant::now() + Duration::from_secs(expect / 1000 + 60);
        while (latencies.len() as u64) < expect && Instant::now() < deadline {
            if let Some(m) = consumer.poll(Duration::from_millis(100)) {
                let m = m.expect("reading");
                let now = micros();
                let sent: u64 = m
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == "sent_us"))
                    .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
                    .expect("the sent_us header is carried through");
                latencies.push((sent, now.saturating_sub(sent) as f64 / 1000.0));
            }
        }
        latencies
    })
}

fn micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_micros() as u64
}

/// Seconds from spawning `cmd` to the first stdout line that `is_record` accepts.
fn first_output(mut cmd: Command, is_record: impl Fn(&str) -> bool) -> f64 {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting host");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(
        br#"{"event_time": "2026-11-25T12:00:00.000000", "ticker": "AAPL", "price": 99.5}
"#,
    );
    drop(stdin);
    let reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut secs = None;
    for line in reader.lines() {
        if is_record(&line.expect("reading host's stdout")) {
            secs = Some(start.elapsed().as_secs_f64());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    secs.expect("host printed a record")
}

fn p5(at: &Target, o: &Options, rows: &mut Rows) {
    let broker = &at.broker;
    let chain = ["-p", "parse_stock", "-p", "schema_filter"];
    let (mut test, mut run) = (vec![], vec![]);
    // `host run` to the console from a new group, until the first record's row.
    let first_row = |group: &str, extra: &[&str]| {
        let mut args = vec!["run", "--brokers", &broker.addr, "--topic", "ticks"];
        args.extend(["--group", group, "--starting-offsets", "earliest"]);
        args.extend(["--max-records-per-batch", "1"]);
        args.extend(chain);
        args.extend(extra);
        // The table's header row is the first line starting with '|'; a record is the next.
        let seen = std::cell::Cell::new(0);
        first_output(host(&args), |l| {
            if l.starts_with('|') {
                seen.set(seen.get() + 1);
            }
            seen.get() == 2
        })
    };
    for i in 0..o.runs.max(3) {
        let mut args = vec!["test", "--format", "json"];
        args.extend(chain);
        test.push(first_output(host(&args), |l| l.starts_with('{')));
        run.push(first_row(&format!("startup-{i}"), &[]));
    }
    let [test, run] = [test, run].map(|v| median(v) * 1e3);
    rows.add(Row {
        id: "P5",
        what: "start → first output record, plugins cached".into(),
        measured: format!("host test {test:.0} ms; host run (Kafka, a new group) {run:.0} ms"),
        compared: "PySpark: ~4.7 s to a SparkSession".into(),
        goal: "< 200 ms, default settings",
        holds: test < 200.0 && run < 200.0,
    });
}

/// P8: a host killed (SIGKILL) mid-stream and started again with the same
/// `--instance-id`: seconds from the restart to its first record.
fn p8(at: &Target, o: &Options, rows: &mut Rows) {
    let broker = &at.broker;
    at.create_topic("restart-in", 2);
    let mut feed = host(&[
        "generate",
        "-p",
        "stock_generator",
        "--brokers",
        &broker.addr,
        "--topic",
        "restart-in",
        "--count",
        "10000000",
        "--rate",
        "500",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("host generate");
    let mut restarts = vec![];
    for i in 0..o.runs.max(3) {
        let group = format!("restart-{i}");
        let args = [
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "restart-in",
            "--group",
            &group,
            "--instance-id",
            "member-1",
            "--starting-offsets",
            "latest",
            "-f",
            "json",
        ];
        let mut first = host(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("host run");
        let mut lines = BufReader::new(first.stdout.take().expect("stdout")).lines();
        assert!(lines.next().is_some(), "the first host printed a record");
        first.kill().expect("SIGKILL");
        let _ = first.wait();
        restarts.push(first_output(host(&args), |l| l.starts_with('{')));
    }
    let _ = feed.kill();
    let _ = feed.wait();
    let restart = median(restarts);
    rows.add(Row {
        id: "P8",
        what: "SIGKILL mid-stream, restart with the same --instance-id → first record again".into(),
        measured: format!("{restart:.1} s"),
        compared: "without --instance-id: 47 s (the 45 s session timeout), > 190 s in some orders (measured by hand, 2026-11-29)".into(),
        goal: "well under the 45 s session timeout",
        holds: restart < 10.0,
    });
}

fn main() {
    let o = options();
    let mut rows = Rows::default();
    let kafka = Target {
        broker: Broker::start(),
        name: "Kafka 4.4",
    };
    p3_p6(&kafka, &o, &mut rows);
    p5(&kafka, &o, &mut rows);
    p8(&kafka, &o, &mut rows);
    p4(&kafka, &o, &mut rows, false);
    p4(&kafka, &o, &mut rows, true);
    println!(
        "\nSluice against Apache Kafka 4.4 (one KRaft broker) on loopback, {} records, median of {} runs",
        o.records, o.runs
    );
    println!("| id | what | Sluice | compared with | goal | holds |");
    println!("|---|---|---|---|---|---|");
    for r in &rows.0 {
        println!("{}", r.line());
    }
}
