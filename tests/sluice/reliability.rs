//! Failures the pipeline must ride out without losing a record: the broker
//! going away and coming back.

use crate::kafka::keyed_ticks;
use sluice_tests::{Broker, Record, spawn_host};
use std::collections::BTreeSet;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_broker_restart_mid_stream_loses_nothing_and_is_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start_persistent(dir.path());
    broker.create_topic("in", 2);
    broker.create_topic("out", 2);
    let records = keyed_ticks(400, 0);
    broker.produce("in", &records[..200]);
    let host = spawn_host(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "in",
            "--starting-offsets",
            "earliest",
            "--sink",
            "kafka",
            "--output-topic",
            "out",
            "--batch-linger-ms",
            "100",
        ],
        &[],
    );
    host.wait_for("the first records committed", LIMIT, |_| {
        broker
            .offsets("sluice-parse_stock", "in", 2)
            .iter()
            .map(|(c, _)| c.unwrap_or(0))
            .sum::<i64>()
            >= 200
    });
    broker.stop();
    std::thread::sleep(Duration::from_secs(5));
    broker.restart();
    broker.produce("in", &records[200..]);
    host.wait_for("the rest committed after the restart", LIMIT, |_| {
        broker
            .offsets("sluice-parse_stock", "in", 2)
            .iter()
            .map(|(c, _)| c.unwrap_or(0))
            .sum::<i64>()
            >= 400
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
    let out = broker.read("out", 400, LIMIT);
    let keys: BTreeSet<String> = out.iter().map(Record::key_str).collect();
    assert_eq!(keys.len(), 400, "every record reached the output");
}
