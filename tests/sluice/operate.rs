//! Operating Sluice against a real broker: a static member restarted after
//! SIGKILL gets its partitions back at once; three hosts share a topic and
//! the survivors take over a killed one's partitions; a record too large to
//! produce is a dead letter, not a stop.

use sluice_tests::{Broker, Record, Spawned, priced_ticks, spawn_host};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn ticks(prefix: &str, n: usize) -> Vec<Record> {
    priced_ticks(prefix, n, |i| i.to_string())
}

#[test]
fn a_static_member_killed_and_restarted_gets_its_partitions_back_and_loses_nothing() {
    let broker = Broker::start();
    broker.create_topic("st-in", 2);
    broker.create_topic("st-out", 1);
    broker.produce("st-in", &ticks("a", 300));
    let args = [
        "run",
        "-p",
        "parse_stock",
        "--brokers",
        &broker.addr,
        "--topic",
        "st-in",
        "--group",
        "g-static",
        "--instance-id",
        "member-1",
        "--starting-offsets",
        "earliest",
        "--sink",
        "kafka",
        "--output-topic",
        "st-out",
        "--max-records-per-batch",
        "20",
        // A session longer than the test's deadline: only static membership can give the
        // restarted member its partitions back in time.
        "-X",
        "session.timeout.ms=300000",
    ];
    let first = spawn_host(&args, &[]);
    first.wait_for("some records committed", LIMIT, |_| {
        broker.committed_total("g-static", "st-in", 2) >= 100
    });
    first.signal("KILL");
    drop(first);
    broker.produce("st-in", &ticks("b", 300));
    // Without a static id the killed member would hold both partitions until its session
    // times out (300 s here, more than LIMIT); with it, the restarted member takes them back
    // at once.
    let second = spawn_host(&args, &[]);
    second.wait_for("every record committed after the restart", LIMIT, |_| {
        broker.committed_total("g-static", "st-in", 2) == 600
    });
    second.signal("TERM");
    assert_eq!(second.wait(LIMIT).code, 0);
    let keys = broker.read_keys("st-out", 600, LIMIT);
    let sent: BTreeSet<String> = ticks("a", 300)
        .iter()
        .chain(&ticks("b", 300))
        .map(|r| r.key_str())
        .collect();
    assert_eq!(keys, sent, "every record out at least once");
}

#[test]
fn a_delivery_the_broker_refuses_for_good_stops_the_host_and_a_restart_resumes_before_it() {
    // The output topic takes batches of at most 2,000 bytes (the producer's own limit is
    // 1 MiB, so the record is sent and the broker refuses it): record 50 cannot be delivered.
    let broker = Broker::start();
    broker.create_topic("refuse-in", 1);
    broker.create_topic_with("refuse-out", 1, &[("max.message.bytes", "2000")]);
    let mut input = ticks("a", 50);
    input.push(Record::new("big", &[b'x'; 5000]));
    input.extend(ticks("b", 50));
    broker.produce("refuse-in", &input);
    let args = crate::kafka::to_kafka_args(
        &broker,
        &[],
        "refuse-in",
        "refuse-out",
        &[
            "--group",
            "g-refuse",
            "--max-records-per-batch",
            "10",
            // The producer's batches of small records stay under the topic's limit.
            "-X",
            "batch.size=1000",
        ],
    );
    let run = sluice_tests::host_bounded(&args, LIMIT);
    assert_eq!(run.code, 2, "stops with the reason: {}", run.stderr);
    assert!(
        run.stderr
            .contains(r#"delivering a record to topic "refuse-out" failed"#),
        "{}",
        run.stderr
    );
    assert_eq!(
        broker.offsets("g-refuse", "refuse-in", 1),
        [(Some(50), 101)],
        "committed up to the refused record, not past it"
    );
    let value = |r: &Record| (r.key_str(), r.value.clone());
    let first: BTreeSet<_> = broker.read_to_end("refuse-out").iter().map(value).collect();
    let before: BTreeSet<_> = input[..50].iter().map(value).collect();
    assert!(
        first.is_superset(&before),
        "every record before it delivered"
    );

    // The topic takes it now: a restart resumes at the refused record and delivers the rest.
    broker.alter_topic("refuse-out", &[("max.message.bytes", "1048588")]);
    let again = sluice_tests::host_bounded(&[&args[..], &["--available-now"]].concat(), LIMIT);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let out = broker.read_to_end("refuse-out");
    let all: BTreeSet<_> = out.iter().map(value).collect();
    assert_eq!(
        all,
        input.iter().map(value).collect(),
        "every record, as it was read"
    );
    let keys: Vec<String> = out.iter().map(Record::key_str).collect();
    for key in keys.iter().filter(|k| k.starts_with('a')) {
        assert_eq!(
            keys.iter().filter(|k| *k == key).count(),
            1,
            "{key} was committed: once"
        );
    }
}

#[test]
fn a_record_too_large_for_the_producer_is_a_dead_letter_and_the_next_one_is_delivered() {
    let broker = Broker::start();
    for t in ["big-in", "big-out", "big-dlq"] {
        broker.create_topic(t, 1);
    }
    let tick = |ticker: &str| {
        format!(r#"{{"event_time":"2026-11-29T06:00:00","ticker":"{ticker}","price":1}}"#)
    };
    let huge = "X".repeat(6000);
    broker.produce(
        "big-in",
        &[
            Record::new("k0", tick("A").as_bytes()),
            Record::new("k1", tick(&huge).as_bytes()),
            Record::new("k2", tick("B").as_bytes()),
        ],
    );
    let args = crate::kafka::parse_stock_to_kafka_args(
        &broker,
        "big-in",
        "big-out",
        &[
            "--group",
            "big",
            "--available-now",
            "--dlq-topic",
            "big-dlq",
            "-X",
            "message.max.bytes=3000",
        ],
    );
    let run = sluice_tests::host_bounded(&args, LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Vec<String> = broker
        .read("big-out", 2, LIMIT)
        .iter()
        .map(|r| r.key_str())
        .collect();
    assert_eq!(
        out,
        ["k0", "k2"],
        "the record after the large one is delivered"
    );
    let dead = broker.read("big-dlq", 1, LIMIT);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key_str(), "k1");
    let why = dead[0].header("sluice.error").unwrap();
    assert!(why.contains("message.max.bytes"), "{why}");
    assert!(
        why.contains("-X message.max.bytes=N"),
        "names the fix: {why}"
    );
    // The original is too large for the dead-letter topic as well: its place is named instead.
    assert!(why.contains("the original is at big-in[0]@1"), "{why}");
    assert_eq!(dead[0].value, None);
    assert_eq!(dead[0].header("sluice.source.offset").as_deref(), Some("1"));
}

#[test]
fn three_hosts_split_six_partitions_and_the_survivors_take_over_a_killed_ones() {
    let broker = Broker::start();
    broker.create_topic("g3-in", 6);
    broker.create_topic("g3-out", 1);
    broker.produce("g3-in", &ticks("a", 300));
    // Dynamic members (static ones: `static_membership.rs`).
    let member = || {
        let args = [
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "g3-in",
            "--group",
            "g3",
            "--starting-offsets",
            "earliest",
            "--sink",
            "kafka",
            "--output-topic",
            "g3-out",
            "--max-records-per-batch",
            "20",
            "-X",
            // A killed member's partitions move once its session ends.
            "session.timeout.ms=6000",
        ];
        spawn_host(&args, &[("SLUICE_LOG", "info")])
    };
    let hosts = [member(), member(), member()];
    // Each is given a share of the six partitions.
    // What a member owns now, from its log of assignments and revokes.
    let owned = |h: &sluice_tests::Spawned| {
        let mut now = BTreeSet::new();
        for line in h.stderr().lines() {
            let parts = |l: &str| -> Vec<String> {
                let list = l.rsplit_once("partitions: ").map_or("", |(_, p)| p);
                list.split(", ").map(str::to_string).collect()
            };
            if line.contains("assigned partitions: ") {
                now.extend(parts(line));
            } else if line.contains("revoked partitions: ") {
                for p in parts(line) {
                    now.remove(&p);
                }
            }
        }
        now.len()
    };
    let all = Duration::from_secs(90);
    hosts[0].wait_for("the group to settle", all, |_| {
        hosts.iter().map(owned).sum::<usize>() == 6 && hosts.iter().all(|h| owned(h) > 0)
    });
    let [first, killed, third] = hosts;
    killed.wait_for("records through the member to be killed", LIMIT, |_| {
        broker.committed_total("g3", "g3-in", 6) >= 100
    });
    let lost = owned(&killed);
    killed.signal("KILL");
    drop(killed);
    broker.produce("g3-in", &ticks("b", 300));
    first.wait_for("every record committed by the two left", all, |_| {
        broker.committed_total("g3", "g3-in", 6) == 600
    });
    first.wait_for(
        &format!("the survivors to own all six after the rebalance ({lost} moved)"),
        LIMIT,
        |_| owned(&first) + owned(&third) == 6,
    );
    for h in [first, third] {
        h.signal("TERM");
        assert_eq!(h.wait(LIMIT).code, 0);
    }
    let keys = broker.read_keys("g3-out", 600, LIMIT);
    let sent: BTreeSet<String> = ticks("a", 300)
        .iter()
        .chain(&ticks("b", 300))
        .map(|r| r.key_str())
        .collect();
    assert_eq!(keys, sent, "every record processed");
    // Nothing is left behind: each partition's committed offset is its end.
    for (p, (committed, end)) in broker.offsets("g3", "g3-in", 6).iter().enumerate() {
        assert_eq!(*committed, Some(*end), "partition {p} committed to its end");
    }
}

#[test]
fn sigterm_during_a_swap_a_rebalance_or_dead_letters_loses_nothing_and_exits_0() {
    let broker = Broker::start();
    for (t, p) in [("gt-in", 2), ("gt-out", 1), ("gt-dlq", 1)] {
        broker.create_topic(t, p);
    }
    // Every third record does not parse: the dead-letter topic is written all along.
    let records: Vec<Record> = ticks("r", 3000)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if i % 3 == 0 {
                Record::new(&r.key_str(), b"{oops")
            } else {
                r
            }
        })
        .collect();
    broker.produce("gt-in", &records);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "plugin = [\"parse_stock\"]\n[config.parse_stock]\nmode = \"DLQ\"\n",
    )
    .unwrap();
    let args = [
        "run",
        "--pipeline",
        file.to_str().unwrap(),
        "--brokers",
        &broker.addr,
        "--topic",
        "gt-in",
        "--group",
        "g-term",
        "--starting-offsets",
        "earliest",
        "--sink",
        "kafka",
        "--output-topic",
        "gt-out",
        "--dlq-topic",
        "gt-dlq",
        "--max-records-per-batch",
        "10",
        "-X",
        "session.timeout.ms=6000",
    ];
    let first = spawn_host(&args, &[("SLUICE_LOG", "info")]);
    let (_, mut random) = sluice_tests::seed("the join, swap and stop");
    let moment = 100 + (random() % 1500) as i64;
    first.wait_for("some records committed", LIMIT, |_| {
        broker.committed_total("g-term", "gt-in", 2) >= moment
    });
    // A second member joins (a rebalance), a swap is asked for, and SIGTERM comes at once.
    let second = spawn_host(&args, &[("SLUICE_LOG", "info")]);
    first.signal("HUP");
    first.signal("TERM");
    let done = first.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);
    // The second member finishes the topic, and is stopped the same way mid-stream.
    second.wait_for("the rest committed", LIMIT, |_| {
        broker.committed_total("g-term", "gt-in", 2) == 3000
    });
    second.signal("TERM");
    let done = second.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);
    // Every record out or dead-lettered, by value; a graceful handover repeats at most the
    // batches in flight at it (two workers' three of 10, and the one being read).
    let topics = sluice_tests::audit::Topics {
        input: "gt-in",
        output: "gt-out",
        dlq: Some("gt-dlq"),
        plugin: "parse_stock",
    };
    let handover = sluice_tests::audit::Moment::unread("the join, swap and stop", 70);
    let audited = topics.audit(&broker, &[handover], crate::kafka::parse_stock_fate);
    assert_eq!((audited.records, audited.dead_letters), (3000, 1000));
    eprintln!("a join, a swap and SIGTERM at once: {audited:?}");
}

/// Another member of `group` on `topic`, in a thread: it reads what it is
/// assigned, says so in `assigned`, and once `commit` is set commits half of
/// what it read on each of its partitions and ends, returning how many it held
/// (0 if never told within 120 s).
fn holding_member(
    broker: &Broker,
    (group, topic): (&str, &str),
    commit: &Arc<AtomicBool>,
    assigned: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
    let (commit, assigned, addr) = (commit.clone(), assigned.clone(), broker.addr.clone());
    let (group, topic) = (group.to_string(), topic.to_string());
    std::thread::spawn(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &addr)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&[&topic]).unwrap();
        let mut next = std::collections::BTreeMap::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                next.insert(m.partition(), m.offset() + 1);
            }
            let mine = consumer.assignment().unwrap();
            assigned.store(mine.count() > 0, Ordering::Relaxed);
            if commit.load(Ordering::Relaxed) {
                let mut tpl = TopicPartitionList::new();
                for e in mine.elements() {
                    // Half of what it read: the host reads the rest after
                    // the rebalance, which also takes away and gives back
                    // the partition the host had finished.
                    let at = next.get(&e.partition()).copied().unwrap_or(0) / 2;
                    tpl.add_partition_offset(&topic, e.partition(), Offset::Offset(at))
                        .unwrap();
                }
                consumer.commit(&tpl, CommitMode::Sync).unwrap();
                return mine.count();
            }
        }
        0
    })
}

/// `host run -p parse_stock --available-now` on `topic` as `group`, JSON lines, with `extra`.
fn available_now(broker: &Broker, (group, topic): (&str, &str), extra: &[&str]) -> Spawned {
    let mut args = vec!["run", "-p", "parse_stock", "--brokers", &broker.addr];
    args.extend([
        "--topic",
        topic,
        "--group",
        group,
        "--starting-offsets",
        "earliest",
    ]);
    args.extend(["--available-now", "-f", "json"]);
    args.extend(extra);
    spawn_host(&args, &[("SLUICE_LOG", "info")])
}

#[test]
fn available_now_waits_for_the_partitions_another_member_holds_until_the_group_commits_them() {
    let broker = Broker::start();
    broker.create_topic("an-in", 2);
    broker.produce("an-in", &ticks("a", 200));
    // Another member of the group: it reads its partition but commits only when told.
    let (commit, assigned) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let other = holding_member(&broker, ("g-an", "an-in"), &commit, &assigned);
    let other_assigned = sluice_tests::within(LIMIT, Duration::from_millis(50), || {
        assigned.load(Ordering::Relaxed)
    });
    assert!(other_assigned, "the other member's assignment");
    let mut run = available_now(&broker, ("g-an", "an-in"), &[]);
    run.wait_for("its own partition read", LIMIT, |r| {
        r.stderr().contains("assigned partitions: an-in[") && r.stdout().lines().count() > 0
    });
    // Its own partition done, it stays: the other one is not committed up to its end yet.
    // (That it does not end is seen over a window: no event says it.)
    std::thread::sleep(Duration::from_secs(5));
    let printed = run.stdout().lines().count();
    assert!(
        printed < 200,
        "the two members split the partitions ({printed})"
    );
    assert!(
        !run.exited(),
        "--available-now waits for the partition the other member holds"
    );
    commit.store(true, Ordering::Relaxed);
    assert_eq!(
        other.join().unwrap(),
        1,
        "the other member held one partition"
    );
    let done = run.wait(LIMIT);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(broker.committed_total("g-an", "an-in", 2), 200);
}

#[test]
fn available_now_gives_up_on_a_partition_whose_commits_stand_still_and_names_it() {
    let broker = Broker::start();
    broker.create_topic("stall-in", 2);
    broker.produce("stall-in", &ticks("a", 200));
    // Another member holds a partition and never commits it (until the end of the test).
    let (commit, assigned) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let other = holding_member(&broker, ("g-stall", "stall-in"), &commit, &assigned);
    let other_assigned = sluice_tests::within(LIMIT, Duration::from_millis(50), || {
        assigned.load(Ordering::Relaxed)
    });
    assert!(other_assigned, "the other member's assignment");
    let run = available_now(
        &broker,
        ("g-stall", "stall-in"),
        &["--available-now-timeout-s", "3"],
    );
    let done = run.wait(LIMIT);
    let offsets = broker.offsets("g-stall", "stall-in", 2);
    commit.store(true, Ordering::Relaxed);
    other.join().unwrap();
    assert_eq!(done.code, 2, "{}", done.stderr);
    // Its own partition is read to its end and committed; the held one is named.
    let (own, held): (Vec<_>, Vec<_>) = (0..2).partition(|p| offsets[*p].0.is_some());
    assert_eq!((own.len(), held.len()), (1, 1), "{offsets:?}");
    let (own_end, held) = (offsets[own[0]].1, held[0]);
    assert_eq!(
        offsets[own[0]].0,
        Some(own_end),
        "its own partition committed to its end"
    );
    assert_eq!(
        done.stdout.lines().count() as i64,
        own_end,
        "its own partition printed"
    );
    assert!(
        done.stderr.contains(&format!(
            "stall-in[{held}] (committed nothing, end at start"
        )) && done
            .stderr
            .contains("the group's commits on them stood still for 3s (--available-now-timeout-s)")
            && done
                .stderr
                .contains("Nothing was lost: run again to read them"),
        "names the partition, the wait and what to do: {}",
        done.stderr
    );
}

#[test]
fn a_batch_whose_output_is_too_large_to_hold_is_processed_in_parts_from_kafka() {
    let broker = Broker::start();
    broker.create_topic("fan-in", 1);
    let values = ["fanout", "fanout", "panic", "fanout"];
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record::new(&format!("k{i}"), v.as_bytes()))
        .collect();
    broker.produce("fan-in", &records);
    let run = sluice_tests::host_bounded(
        &[
            "run",
            "-p",
            sluice_tests::guest("hostile"),
            "--brokers",
            &broker.addr,
            "--topic",
            "fan-in",
            "--group",
            "g-fan",
            "--starting-offsets",
            "earliest",
            "--available-now",
            "-f",
            "json",
            "--on-error",
            "drop",
            "--max-output-bytes",
            "16MiB",
        ],
        LIMIT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        300_000,
        "every output of the three fan-outs"
    );
    // The record that traps is named by its own offset, though the batch was split around it.
    let dropped: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dropped.len(), 1, "{}", run.stderr);
    assert_eq!(dropped[0]["offset"], 2);
    assert_eq!(broker.committed_total("g-fan", "fan-in", 1), 4);
}

#[test]
fn a_header_name_that_is_not_utf8_is_a_dead_letter_not_a_panic() {
    let broker = Broker::start();
    broker.create_topic("hdr-in", 1);
    broker.create_topic("hdr-out", 1);
    broker.create_topic("hdr-dlq", 1);
    // kafka-python writes a header name as `name.encode("utf-8")`: a str whose
    // encode gives other bytes puts a name that is not UTF-8 on the wire.
    let script = format!(
        r#"
from kafka import KafkaProducer
class RawName(str):
    def encode(self, *args, **kwargs):
        return b"bad\xff\xfename"
p = KafkaProducer(bootstrap_servers=['{}'], api_version=(2, 8))
tick = '{{"event_time":"2026-11-25T12:00:0%d","ticker":"%s","price":1.0}}'
p.send("hdr-in", (tick % (0, "A")).encode(), key=b"k0")
p.send("hdr-in", (tick % (1, "B")).encode(), key=b"k1", headers=[(RawName("x"), b"v")])
p.send("hdr-in", (tick % (2, "C")).encode(), key=b"k2", headers=[("good", b"v")])
p.flush()
"#,
        broker.addr
    );
    sluice_tests::python_script(&script);
    let args = crate::kafka::parse_stock_to_kafka_args(
        &broker,
        "hdr-in",
        "hdr-out",
        &[
            "--group",
            "hdr",
            "--dlq-topic",
            "hdr-dlq",
            "--available-now",
        ],
    );
    let run = spawn_host(&args, &[]).wait(LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let keys: Vec<String> = broker
        .read("hdr-out", 2, LIMIT)
        .iter()
        .map(Record::key_str)
        .collect();
    assert_eq!(keys, ["k0", "k2"]);
    let dlq = broker.read("hdr-dlq", 1, LIMIT);
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].key_str(), "k1");
    assert_eq!(
        dlq[0].header("sluice.plugin").as_deref(),
        Some("the Kafka source")
    );
    assert!(
        dlq[0]
            .header("sluice.error")
            .unwrap()
            .contains("header name of this record is not UTF-8"),
        "{:?}",
        dlq[0].headers
    );
    assert_eq!(dlq[0].header("sluice.source.offset").as_deref(), Some("1"));
}

#[test]
fn a_topic_deleted_while_it_is_read_stops_the_host_with_the_reason_not_a_crash() {
    // The host must finish what it read and stop, saying why (a deleted topic once made
    // librdkafka 2.12.1 crash with SIGSEGV: RELIABILITY.md). The topic is deleted at a
    // random moment while batches are in flight: the slow plugin takes 30 ms a record, so the
    // 400 records take 12 s on any machine.
    let broker = Broker::start();
    broker.create_topic("gone-in", 2);
    broker.create_topic("gone-out", 1);
    let total = 400;
    broker.produce("gone-in", &crate::kafka::keyed_ticks(total, 0));
    let input = broker.read_to_end("gone-in");
    let chain = ["-p", sluice_tests::guest("slow"), "--grant", "slow=clocks"];
    let args = crate::kafka::to_kafka_args(
        &broker,
        &chain,
        "gone-in",
        "gone-out",
        &["--group", "g-gone", "--max-records-per-batch", "10"],
    );
    let host = spawn_host(&args, &[]);
    host.wait_for("the first outputs", LIMIT, |_| {
        broker.end_total("gone-out") > 0
    });
    let (_, mut random) = sluice_tests::seed("the deletion");
    std::thread::sleep(Duration::from_millis(random() % 1000));
    let at_deletion = broker.end_total("gone-out");
    broker.delete_topic("gone-in");
    let run = host.wait(LIMIT);
    assert_eq!(
        run.code, 2,
        "stops with an error, not a signal or a hang: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(r#"error: topic "gone-in" was deleted from"#)
            && run
                .stderr
                .contains("Recreate the topic, or leave it out of --topic"),
        "names the topic and the fix: {}",
        run.stderr
    );
    // What was output is, per input partition, its records from the first on, each once and
    // as it was read: nothing read was skipped or repeated.
    let out = broker.read_to_end("gone-out");
    let mut outputs: std::collections::BTreeMap<String, &Record> =
        out.iter().map(|r| (r.key_str(), r)).collect();
    assert_eq!(outputs.len(), out.len(), "no record output twice");
    for partition in 0..2 {
        let mut ended = None;
        for r in input.iter().filter(|r| r.partition == Some(partition)) {
            let at = format!("gone-in[{partition}]@{}", r.offset);
            match (outputs.remove(&r.key_str()), &ended) {
                (Some(got), None) => {
                    let (want, got) = ((&r.value, &r.headers), (&got.value, &got.headers));
                    assert_eq!(got, want, "{at}");
                }
                (Some(_), Some(gap)) => panic!("{at} was output, but {gap} before it was not"),
                (None, None) => ended = Some(at),
                (None, Some(_)) => {}
            }
        }
    }
    assert!(
        outputs.is_empty(),
        "outputs never input: {:?}",
        outputs.keys()
    );
    eprintln!(
        "{} of {total} output, {at_deletion} of them before the deletion",
        out.len()
    );
    assert!(
        at_deletion < total as i64,
        "the deletion came after the backlog was done: a bigger backlog is needed"
    );
}
