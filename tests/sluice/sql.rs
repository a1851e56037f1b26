//! SQL expressions against Spark's own answers: every predicate of
//! `schema_filter.where` and every select list of `select.exprs` in
//! `tests/sql/expected.json` (written by `tests/sql/spark_reference.py` with
//! PySpark 4.3 over `tests/sql/corpus.jsonl`: nulls, NaN, -0.0, huge and
//! tiny doubles, int extremes, unicode). Kept rows must be Spark's; the
//! `select` table must be Spark's `show()` character for character; where
//! Spark's ANSI mode stops the query, Sluice must reject records with the
//! same error class and keep going.

use crate::kafka::to_kafka_args;
use serde_json::Value;
use sluice_sdk::value::java_double;
use sluice_tests::{Broker, Run, host, host_bounded, priced_ticks};
use std::path::Path;
use std::thread;
use std::time::Duration;

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn corpus() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/corpus.jsonl");
    std::fs::read_to_string(path).unwrap()
}

/// Runs `host test -p parse_stock -p PLUGIN` over the corpus with the
/// case's schema and `KEY=text`.
fn run(case: &Value, plugin: &str, key: &str, text: &str, format: &str) -> Run {
    let schema = case["schema"].as_str().unwrap();
    let ansi = case["ansi"].as_bool().unwrap();
    let configs = [
        format!("parse_stock.schema={schema}"),
        format!("{plugin}.schema={schema}"),
        format!("{plugin}.{key}={text}"),
        format!("{plugin}.ansi={ansi}"),
    ];
    let mut args = vec!["test", "-p", "parse_stock", "-p", plugin, "-f", format];
    for c in &configs {
        args.extend(["--config", c.as_str()]);
    }
    host(&args, &corpus())
}

/// Checks a Spark error case: Sluice rejects at least one record, each
/// with Spark's error class, and passes the others on.
fn check_error(what: &str, run: &Run, class: &str) -> Result<(), String> {
    let errors = run.errors();
    if run.code != 0 || errors.is_empty() {
        return Err(format!(
            "{what}: Spark fails with {class}; Sluice rejected nothing (exit {}): {}",
            run.code, run.stderr
        ));
    }
    for e in &errors {
        let message = e["error"].as_str().unwrap_or_default();
        if !message.contains(&format!("[{class}]")) {
            return Err(format!("{what}: expected [{class}], got {message}"));
        }
    }
    Ok(())
}

/// One kind of reference case: the plugin and key it configures, the
/// output format, the case's text, and how to judge a run Spark did not fail.
struct Kind {
    section: &'static str,
    plugin: &'static str,
    key: &'static str,
    format: &'static str,
    text: fn(&Value) -> String,
    judge: fn(&Value, &Run) -> Result<(), String>,
}

/// Runs every case of `kind`, four at a time, and reports every failure.
/// Where Spark failed the case, Sluice must reject records with its error class.
fn check_all(kind: &Kind, at_least: usize) {
    let reference = reference();
    let cases = reference[kind.section].as_array().unwrap();
    assert!(cases.len() >= at_least);
    let check = |case: &Value| -> Result<(), String> {
        let text = (kind.text)(case);
        let what = format!("{} {text} (ansi={})", kind.key, case["ansi"]);
        let run = run(case, kind.plugin, kind.key, &text, kind.format);
        if let Some(class) = case["error"].as_str() {
            return check_error(&what, &run, class);
        }
        if run.code != 0 || !run.errors().is_empty() {
            return Err(format!("{what}: exit {}: {}", run.code, run.stderr));
        }
        (kind.judge)(case, &run).map_err(|e| format!("{what}: {e}"))
    };
    let failures: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|c| check(c).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Spark:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn where_predicates_keep_the_rows_spark_keeps() {
    let kind = Kind {
        section: "filters",
        plugin: "schema_filter",
        key: "where",
        format: "json",
        text: |case| case["where"].as_str().unwrap().to_string(),
        judge: |case, run| {
            let id = |v: &Value| v["id"].as_i64().unwrap();
            let ids: Vec<i64> = run
                .lines()
                .iter()
                .map(|l| id(&serde_json::from_str(l).unwrap()))
                .collect();
            let ids_of = |v: &Value| v.as_i64().unwrap();
            let expected: Vec<i64> = case["ids"].as_array().unwrap().iter().map(ids_of).collect();
            if ids == expected {
                Ok(())
            } else {
                Err(format!("kept {ids:?}, Spark keeps {expected:?}"))
            }
        },
    };
    check_all(&kind, 40);
}

#[test]
fn select_tables_are_sparks_show() {
    let kind = Kind {
        section: "selects",
        plugin: "select",
        key: "exprs",
        format: "table",
        text: |case| {
            let exprs = case["exprs"].as_array().unwrap();
            let exprs: Vec<&str> = exprs.iter().map(|e| e.as_str().unwrap()).collect();
            exprs.join(", ")
        },
        judge: |case, run| {
            let show = case["show"].as_str().unwrap();
            if run.stdout.trim_end() == show.trim_end() {
                Ok(())
            } else {
                Err(format!("\n--- Sluice\n{}--- Spark\n{show}", run.stdout))
            }
        },
    };
    check_all(&kind, 10);
}

#[test]
fn select_columns_are_named_and_typed_as_spark_does() {
    let exprs = "select.exprs=ticker, round(price * 0.92, 2) AS price_eur, price > 50 AS high, length(ticker), CAST(price AS INT), floor(price)";
    let check = host(
        &[
            "run",
            "--check",
            "-p",
            "parse_stock",
            "-p",
            "select",
            "--config",
            exprs,
        ],
        "",
    );
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.stdout.contains("columns: ticker string, price_eur double, high boolean, length(ticker) integer, price integer, FLOOR(price) long\n"),
        "{}",
        check.stdout
    );
    let input = "{\"ticker\":\"AAPL\",\"price\":60.456}\n{\"ticker\":\"MSFT\",\"price\":40}\n";
    let schema = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "-p",
            "select",
            "--config",
            exprs,
            "-f",
            "schema",
        ],
        input,
    );
    assert_eq!(
        schema.stdout,
        "root\n |-- ticker: string (nullable = true)\n |-- price_eur: double (nullable = true)\n |-- high: boolean (nullable = true)\n |-- length(ticker): integer (nullable = true)\n |-- price: integer (nullable = true)\n |-- FLOOR(price): long (nullable = true)\n\n"
    );
    // Raw JSON straight into select, read against its schema, out as JSON.
    let json = host(&["test", "-p", "select", "--config", exprs], input);
    assert_eq!(
        json.lines(),
        [
            r#"{"ticker":"AAPL","price_eur":55.62,"high":true,"length(ticker)":4,"price":60,"FLOOR(price)":60}"#,
            r#"{"ticker":"MSFT","price_eur":36.8,"high":false,"length(ticker)":4,"price":40,"FLOOR(price)":40}"#,
        ]
    );
}

#[test]
fn select_is_described_and_loads_with_no_grant() {
    let run = host(&["inspect", "select"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "description: computes columns from Spark SQL expressions, like Spark's selectExpr\n",
        "grants:      none\n",
        "  exprs                  Spark SQL select list, e.g. ticker, round(price * 0.92, 2) AS price_eur (* for all input columns) [default: *]\n",
        "  ansi                   spark.sql.ansi.enabled: true makes an overflow, a division by zero or a malformed cast the record's error; false makes it NULL [default: true]\n",
        // The SQL parser's regex crate seeds a hash table: a constant, not entropy.
        "allowed, answered with a constant seed\n",
        // With no exprs, select * of its schema.
        " |-- price: double (nullable = true)\n",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
    }
}

#[test]
fn select_config_errors_name_the_problem_and_position() {
    let cases = [
        (
            "select.exprs=ticker, price * , 2",
            "config exprs=\"ticker, price * , 2\": expected an expression, found , at position 16",
        ),
        (
            "select.exprs=ticker, upper(tickr)",
            "config exprs=\"ticker, upper(tickr)\": unknown column \"tickr\" (did you mean ticker?) at position 14",
        ),
        (
            "select.exprs=ticker, price AS ticker",
            "config exprs=\"ticker, price AS ticker\": two columns are named \"ticker\"; give one another name with AS",
        ),
        (
            "select.exprs=current_timestamp()",
            "config exprs=\"current_timestamp()\": current_timestamp() is not available: a plugin has no clock unless granted, and expressions here are deterministic; use the record's event-time column at position 0",
        ),
    ];
    for (config, message) in cases {
        let run = host(&["test", "-p", "select", "--config", config], "");
        assert_eq!(run.code, 2, "{config}");
        assert_eq!(
            run.stderr,
            format!(
                "error: plugin \"select\" rejected its config: {message} (set it with --config select.KEY=VALUE)\n"
            ),
            "{config}"
        );
    }
}

#[test]
fn an_expression_error_rejects_only_its_record() {
    // ANSI mode (the default): 1/0 is the record's error, naming the column;
    // the other records pass. ansi=false makes it NULL, as in Spark.
    let input = "{\"ticker\":\"A\",\"price\":1}\n{\"ticker\":\"B\",\"price\":0}\n{\"ticker\":\"C\",\"price\":4}\n";
    let exprs = "select.exprs=ticker, 2 / price AS inverse";
    let ansi = host(&["test", "-p", "select", "--config", exprs], input);
    assert_eq!(ansi.code, 0, "{}", ansi.stderr);
    assert_eq!(
        ansi.lines(),
        [
            r#"{"ticker":"A","inverse":2.0}"#,
            r#"{"ticker":"C","inverse":0.5}"#
        ]
    );
    let errors = ansi.errors();
    assert_eq!(errors.len(), 1, "{}", ansi.stderr);
    assert_eq!(errors[0]["line"], 2);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("column \"inverse\": [DIVIDE_BY_ZERO] Division by zero"),
        "{}",
        ansi.stderr
    );
    let legacy = host(
        &[
            "test",
            "-p",
            "select",
            "--config",
            exprs,
            "--config",
            "select.ansi=false",
        ],
        input,
    );
    assert_eq!(legacy.errors().len(), 0, "{}", legacy.stderr);
    // Spark's to_json leaves a null field out.
    assert_eq!(legacy.lines()[1], r#"{"ticker":"B"}"#);
}

#[test]
fn filter_and_select_run_from_kafka_to_kafka() {
    // The tutorial's pipeline with SQL stages against Kafka: prices 0..99,
    // `where` keeps 10..=50 (41 records), `select` computes the euro price;
    // price 0 would divide by zero, but the filter drops it first.
    let broker = Broker::start();
    broker.create_topic("sql-in", 2);
    broker.create_topic("sql-out", 1);
    broker.produce("sql-in", &priced_ticks("k", 100, |i| i.to_string()));
    let chain = [
        "-p",
        "parse_stock",
        "-p",
        "schema_filter",
        "--config",
        "schema_filter.where=price BETWEEN 10 AND 50 AND ticker LIKE 'T%'",
        "-p",
        "select",
        "--config",
        "select.exprs=ticker, round(price * 0.92, 2) AS price_eur, 100 / price AS per_100",
    ];
    let args = to_kafka_args(
        &broker,
        &chain,
        "sql-in",
        "sql-out",
        &["--group", "sql", "--available-now"],
    );
    let run = host_bounded(&args, Duration::from_secs(120));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = broker.read("sql-out", 41, Duration::from_secs(60));
    let mut rows: Vec<(String, String)> = out
        .iter()
        .map(|r| {
            (
                r.key_str().to_string(),
                String::from_utf8(r.value.clone().unwrap()).unwrap(),
            )
        })
        .collect();
    rows.sort();
    let mut expected: Vec<(String, String)> = (10..=50)
        .map(|p: i32| {
            let eur = (f64::from(p) * 0.92 * 100.0).round() / 100.0;
            let per = 100.0 / f64::from(p);
            (
                format!("k{p}"),
                format!(
                    r#"{{"ticker":"T","price_eur":{},"per_100":{}}}"#,
                    java_double(eur),
                    java_double(per)
                ),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(rows, expected);
    assert_eq!(broker.committed_total("sql", "sql-in", 2), 100);
}
