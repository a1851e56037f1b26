//! `schema_filter`: schema conformance as record errors, the `where`
//! predicate (grammar, SQL null logic) and its config errors with positions.

use sluice_tests::host;

const ROWS: &str = r#"{"ticker":"AAPL","price":60}
{"ticker":"MSFT","price":40}
{"ticker":"INTC","price":55}
{"ticker":"TBV","price":null}
{"ticker":"AMZN","price":100}
{"ticker":null,"price":70}
"#;

/// The tickers (or "null") of the rows that pass `predicate`.
fn passing(predicate: &str) -> Vec<String> {
    let config = format!("schema_filter.where={predicate}");
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "-p",
            "schema_filter",
            "--config",
            &config,
        ],
        ROWS,
    );
    assert_eq!(run.code, 0, "{predicate}: {}", run.stderr);
    assert!(run.errors().is_empty(), "{predicate}: {}", run.stderr);
    run.lines()
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["ticker"].as_str().unwrap_or("null").to_string()
        })
        .collect()
}

#[test]
fn predicate_grammar_and_sql_null_logic() {
    let cases: &[(&str, &[&str])] = &[
        ("price > 50 AND ticker IN ('AAPL','MSFT')", &["AAPL"]),
        (
            "price > 50 OR ticker = 'MSFT'",
            &["AAPL", "MSFT", "INTC", "AMZN", "null"],
        ),
        ("NOT (price >= 55)", &["MSFT"]),
        ("price IS NULL", &["TBV"]),
        (
            "ticker IS NOT NULL AND price <> 100",
            &["AAPL", "MSFT", "INTC"],
        ),
        ("ticker NOT IN ('AAPL')", &["MSFT", "INTC", "TBV", "AMZN"]),
        (
            "price != 40 AND price <= 60 AND price < 100",
            &["AAPL", "INTC"],
        ),
        ("ticker = \"AMZN\"", &["AMZN"]),
        (
            "price > 50 and ticker in ('AAPL') or `ticker` = 'TBV'",
            &["AAPL", "TBV"],
        ),
        (
            "(price > 90 OR price < 45) AND NOT ticker = 'X'",
            &["MSFT", "AMZN"],
        ),
        ("price >= 55.0 AND price <= 6e1", &["AAPL", "INTC"]),
        ("50 < price AND -1 < 0", &["AAPL", "INTC", "AMZN", "null"]),
        ("price IN (40, 100)", &["MSFT", "AMZN"]),
        ("ticker IN ('AAPL', NULL)", &["AAPL"]),
        ("ticker NOT IN ('AAPL', NULL)", &[]),
        ("ticker >= 'INTC'", &["MSFT", "INTC", "TBV"]),
    ];
    for (predicate, expected) in cases {
        assert_eq!(passing(predicate), *expected, "where {predicate}");
    }
}

#[test]
fn predicate_errors_name_the_problem_and_position() {
    let cases = [
        (
            "price >",
            "expected an expression, found the end at position 7",
        ),
        (
            "pricee > 5",
            "unknown column \"pricee\" (did you mean price?) at position 0",
        ),
        (
            "volume > 5",
            "unknown column \"volume\" (columns: event_time, ticker, price) at position 0",
        ),
        (
            "ticker > 5",
            "cannot compare ticker (string) with 5 (integer) at position 0",
        ),
        (
            "price + 'a' > 1",
            "cannot apply + to 'a' (string); CAST it to a number first at position 0",
        ),
        (
            "price > 50 AND",
            "expected an expression, found the end at position 14",
        ),
        ("ticker IN ('A'", "expected ), found the end at position 14"),
        ("ticker = 'abc", "unterminated string literal at position 9"),
        (
            "price > 50 ticker",
            "expected an operator or the end, found ticker at position 11",
        ),
        ("price ! 5", "unexpected '!' at position 6"),
        (
            "ticker",
            "a predicate must be boolean, but ticker is string at position 0",
        ),
        (
            "price IS 5",
            "expected NULL, NOT NULL, TRUE or FALSE after IS, found 5 at position 9",
        ),
        ("(price > 1", "expected ), found the end at position 10"),
        (
            "rond(price) > 1",
            "unknown function rond (did you mean round?) at position 0",
        ),
        (
            "price > 1 AND upper(ticker, 1) = 'A'",
            "upper takes 1 argument(s), got 2 at position 14",
        ),
    ];
    for (predicate, message) in cases {
        let config = format!("schema_filter.where={predicate}");
        let run = host(&["test", "-p", "schema_filter", "--config", &config], "");
        assert_eq!(run.code, 2, "{predicate}");
        let expected = format!(
            "error: plugin \"schema_filter\" rejected its config: config where={predicate:?}: {message} (set it with --config schema_filter.KEY=VALUE)\n"
        );
        assert_eq!(run.stderr, expected, "{predicate}");
    }
}

#[test]
fn nonconforming_records_are_record_errors_naming_the_field() {
    let input = r#"{"ticker":"A","price":1.5}
{"ticker":"A","price":"abc"}
not json
[1]
{"price":2}
{"ticker":7,"price":2}
{"ticker":"B","price":3,"extra":true}
"#;
    let run = host(
        &[
            "test",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.not_null=ticker",
        ],
        input,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [
            r#"{"ticker":"A","price":1.5}"#,
            r#"{"ticker":"B","price":3,"extra":true}"#
        ]
    );
    let errors: Vec<(u64, String)> = run
        .errors()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors[0],
        (
            2,
            "field \"price\": expected double, found string \"abc\"".to_string()
        )
    );
    assert_eq!(errors[1].0, 3);
    assert!(
        errors[1].1.starts_with("value is not valid JSON"),
        "{errors:?}"
    );
    assert_eq!(
        errors[2],
        (4, "expected a JSON object, found an array".to_string())
    );
    assert_eq!(
        errors[3],
        (
            5,
            "field \"ticker\" is missing but declared NOT NULL".to_string()
        )
    );
    assert_eq!(
        errors[4],
        (
            6,
            "field \"ticker\": expected string, found number 7".to_string()
        )
    );
    assert_eq!(errors.len(), 5);
}

#[test]
fn schema_config_is_spark_ddl_with_not_null() {
    let run = host(
        &[
            "test",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.schema=id BIGINT NOT NULL, ok boolean",
            "--config",
            "schema_filter.where=ok AND id >= 2",
        ],
        "{\"id\":1,\"ok\":true}\n{\"id\":2,\"ok\":true}\n{\"id\":3,\"ok\":false}\n{\"id\":null}\n{\"id\":1.5}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), [r#"{"id":2,"ok":true}"#]);
    let errors = run.errors();
    assert_eq!(
        errors[0]["error"],
        "field \"id\" is null but declared NOT NULL"
    );
    assert_eq!(
        errors[1]["error"],
        "field \"id\": expected long, found number 1.5"
    );
    let run = host(
        &[
            "test",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.schema=id BIGINT NOT NULL, ok boolean",
            "-f",
            "schema",
        ],
        "",
    );
    assert_eq!(
        run.stdout,
        "root\n |-- id: long (nullable = false)\n |-- ok: boolean (nullable = true)\n\n"
    );
}

#[test]
fn bad_schema_and_not_null_config_name_the_problem() {
    let run = host(
        &[
            "test",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.schema=ticker strin",
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "config schema=\"ticker strin\": unsupported type \"strin\" for column \"ticker\""
        ) && run.stderr.contains("at position 7"),
        "{}",
        run.stderr
    );
    let run = host(
        &[
            "test",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.not_null=tickr",
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("config not_null: unknown column \"tickr\""),
        "{}",
        run.stderr
    );
}
