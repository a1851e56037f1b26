//! Operating Sluice against a real broker: a static member restarted after
//! SIGKILL gets its partitions back at once.

use sluice_tests::{Broker, Record, spawn_host};
use std::collections::BTreeSet;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn ticks(prefix: &str, n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let value =
                format!(r#"{{"event_time":"2026-11-29T06:00:00","ticker":"T","price":{i}}}"#);
            Record::new(&format!("{prefix}{i}"), value.as_bytes())
        })
        .collect()
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
    ];
    let first = spawn_host(&args, &[]);
    first.wait_for("some records committed", LIMIT, |_| {
        broker.committed_total("g-static", "st-in", 2) >= 100
    });
    first.signal("KILL");
    drop(first);
    broker.produce("st-in", &ticks("b", 300));
    // Without a static id the killed member holds both partitions until its session times
    // out (librdkafka's default session.timeout.ms, 45 s; measured 47 s here) or, in some
    // orders, its rebalance timeout (300 s); with it, the restarted member takes them back at
    // once. The bound is well under the session timeout.
    let second = spawn_host(&args, &[]);
    let at_once = Duration::from_secs(30);
    second.wait_for("every record committed after the restart", at_once, |_| {
        broker.committed_total("g-static", "st-in", 2) == 600
    });
    second.signal("TERM");
    assert_eq!(second.wait(LIMIT).code, 0);
    let out = broker.read("st-out", 600, LIMIT);
    let keys: BTreeSet<String> = out.iter().map(|r| r.key_str()).collect();
    let sent: BTreeSet<String> = ticks("a", 300)
        .iter()
        .chain(&ticks("b", 300))
        .map(|r| r.key_str())
        .collect();
    assert_eq!(keys, sent, "every record out at least once");
}
