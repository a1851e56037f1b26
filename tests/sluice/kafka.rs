//! The tutorial's whole flow against a real Kafka-protocol broker (tansu):
//! `host generate` → topic → `host run --plugin parse_stock.wasm` → console.

use sluice_tests::{Broker, Run, host_bounded};
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

/// `host run --plugin parse_stock.wasm` on `topic`, with `extra` flags.
fn run_parse_stock(broker: &Broker, topic: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "run",
        "-p",
        "parse_stock.wasm",
        "--brokers",
        &broker.addr,
        "--topic",
        topic,
    ];
    args.extend(extra);
    host_bounded(&args, LIMIT)
}

#[test]
fn tutorial_flow_generate_then_run_prints_spark_tables_and_commits() {
    let broker = Broker::start();
    broker.create_topic("ticks", 3);
    let generate = generate(&broker, "ticks", 30, &["--verbose"]);
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
    let run = run_parse_stock(&broker, "ticks", &args);
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
    // --available-now commits everything it printed: offsets per partition start at 0 here, so
    // the committed offsets add up to the record count. (tansu 0.6's ListOffsets answers the
    // last batch's base offset + 1 as the end offset, so the watermarks cannot be compared.)
    let offsets = broker.offsets("tutorial", "ticks", 3);
    assert_eq!(
        offsets.iter().map(|(c, _)| c.unwrap_or(0)).sum::<i64>(),
        30,
        "{offsets:?}"
    );
    // So the same group, run again, has nothing left to print.
    let again = run_parse_stock(&broker, "ticks", &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stdout.contains("Batch:"), "{}", again.stdout);
}

#[test]
fn unreachable_broker_and_missing_topic_say_what_to_do() {
    let broker = Broker::start();
    let run = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "--brokers",
            &broker.addr,
            "--topic",
            "nosuch",
            "--available-now",
        ],
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
}

#[test]
fn available_now_from_latest_has_nothing_to_do_and_exits() {
    let broker = Broker::start();
    broker.create_topic("late", 2);
    generate(&broker, "late", 5, &[]);
    let run = run_parse_stock(
        &broker,
        "late",
        &["--available-now", "--batch-linger-ms", "200"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stdout.contains("Batch:"),
        "latest means only records produced from now on:\n{}",
        run.stdout
    );
}
