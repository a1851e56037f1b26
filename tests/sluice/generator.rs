//! `stock_generator`: the tutorial producer's records, repeatable with a seed.

use sluice_tests::host;

fn generate(config: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["test", "-p", "stock_generator.wasm"];
    for c in config {
        args.extend(["--config", c]);
    }
    let run = host(&args, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tickers_and_prices(rows: &[serde_json::Value]) -> Vec<(String, f64)> {
    rows.iter()
        .map(|r| {
            (
                r["ticker"].as_str().unwrap().to_string(),
                r["price"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_ticks_different_seed_different_ticks() {
    let a = generate(&["stock_generator.seed=42", "stock_generator.count=50"]);
    let b = generate(&["stock_generator.seed=42", "stock_generator.count=50"]);
    let c = generate(&["stock_generator.seed=43", "stock_generator.count=50"]);
    assert_eq!(a.len(), 50);
    assert_eq!(tickers_and_prices(&a), tickers_and_prices(&b));
    assert_ne!(tickers_and_prices(&a), tickers_and_prices(&c));
}

#[test]
fn records_have_the_tutorial_producers_shape() {
    let run = host(
        &[
            "test",
            "-p",
            "stock_generator",
            "--config",
            "stock_generator.count=300",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.lines();
    assert_eq!(lines.len(), 300);
    let mut seen = std::collections::BTreeSet::new();
    for line in lines {
        // json.dumps layout: ", " and ": " separators, keys in this order.
        assert!(line.starts_with("{\"event_time\": \""), "{line}");
        assert!(
            line.contains("\", \"ticker\": \"") && line.contains("\", \"price\": "),
            "{line}"
        );
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let time = row["event_time"].as_str().unwrap();
        // datetime.now().isoformat(): YYYY-MM-DDTHH:MM:SS[.ffffff]
        let (date, clock) = time.split_once('T').unwrap();
        assert_eq!(date.len(), 10, "{time}");
        assert!(
            clock.len() == 8 || (clock.len() == 15 && clock.as_bytes()[8] == b'.'),
            "{time}"
        );
        let ticker = row["ticker"].as_str().unwrap();
        assert!(
            ["AAPL", "AMZN", "MSFT", "INTC", "TBV"].contains(&ticker),
            "{ticker}"
        );
        seen.insert(ticker.to_string());
        let price = row["price"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&price), "{price}");
        assert!(
            ((price * 100.0).round() - price * 100.0).abs() < 1e-6,
            "round(…, 2): {price}"
        );
    }
    assert_eq!(seen.len(), 5, "every ticker appears in 300 records");
}

#[test]
fn tickers_count_and_zone_are_configurable() {
    let rows = generate(&[
        "stock_generator.tickers=NVDA",
        "stock_generator.count=3",
        "stock_generator.utc_offset=+05:30",
    ]);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["ticker"] == "NVDA"));
    assert!(generate(&["stock_generator.count=0"]).is_empty());
    let run = host(
        &[
            "test",
            "-p",
            "stock_generator",
            "--config",
            "stock_generator.utc_offset=CET",
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("config utc_offset=\"CET\": expected +HH:MM or -HH:MM"),
        "{}",
        run.stderr
    );
}

#[test]
fn generator_output_feeds_the_chain() {
    let run = host(
        &[
            "test",
            "-p",
            "stock_generator",
            "-p",
            "parse_stock",
            "--config",
            "stock_generator.count=5",
            "-f",
            "table",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.lines();
    assert_eq!(lines[1], "|          event_time|ticker|price|");
    assert_eq!(lines.len(), 5 + 4 + 1, "{}", run.stdout);
}

#[test]
fn event_time_is_the_hosts_local_time() {
    // A POSIX TZ rule: five and a half hours east of UTC, no DST.
    let run = sluice_tests::host_with_env(
        &[
            "test",
            "-p",
            "stock_generator",
            "--config",
            "stock_generator.count=1",
        ],
        b"",
        &[("TZ", "IST-5:30")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row: serde_json::Value = serde_json::from_str(run.lines()[0]).unwrap();
    let time = row["event_time"].as_str().unwrap();
    let (hh, mm): (i64, i64) = (time[11..13].parse().unwrap(), time[14..16].parse().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expected = (now / 60 + 330) % (24 * 60);
    let got = hh * 60 + mm;
    let diff = (got - expected).rem_euclid(24 * 60);
    assert!(
        diff <= 1 || diff == 24 * 60 - 1,
        "event_time {time} is not UTC+05:30 (expected minute {expected} of the day)"
    );
}
