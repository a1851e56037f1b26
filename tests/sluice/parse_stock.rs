//! `parse_stock` is Spark's `from_json(value, "event_time string, ticker
//! string, price double")`: every rule of design.md §5, each with its row.

use sluice_tests::host;

/// (input line, the exact row Spark's from_json + select("value.*") gives, as JSON)
const CASES: &[(&str, &str)] = &[
    // The tutorial's record, as the Python producer writes it.
    (
        r#"{"event_time": "2026-11-25T12:00:00.123456", "ticker": "AAPL", "price": 42.17}"#,
        r#"{"event_time":"2026-11-25T12:00:00.123456","ticker":"AAPL","price":42.17}"#,
    ),
    // double takes JSON integers and floats
    (
        r#"{"ticker":"A","price":42}"#,
        r#"{"event_time":null,"ticker":"A","price":42.0}"#,
    ),
    (
        r#"{"price":0.05}"#,
        r#"{"event_time":null,"ticker":null,"price":0.05}"#,
    ),
    (
        r#"{"price":-0.0}"#,
        r#"{"event_time":null,"ticker":null,"price":-0.0}"#,
    ),
    (
        r#"{"price":12345678901234567890}"#,
        r#"{"event_time":null,"ticker":null,"price":1.2345678901234567e+19}"#,
    ),
    (
        r#"{"price":1e400}"#,
        r#"{"event_time":null,"ticker":null,"price":"Infinity"}"#,
    ),
    // double takes exactly these strings
    (
        r#"{"price":"NaN"}"#,
        r#"{"event_time":null,"ticker":null,"price":"NaN"}"#,
    ),
    (
        r#"{"price":"Infinity"}"#,
        r#"{"event_time":null,"ticker":null,"price":"Infinity"}"#,
    ),
    (
        r#"{"price":"+Infinity"}"#,
        r#"{"event_time":null,"ticker":null,"price":"Infinity"}"#,
    ),
    (
        r#"{"price":"+INF"}"#,
        r#"{"event_time":null,"ticker":null,"price":"Infinity"}"#,
    ),
    (
        r#"{"price":"-Infinity"}"#,
        r#"{"event_time":null,"ticker":null,"price":"-Infinity"}"#,
    ),
    (
        r#"{"price":"-INF"}"#,
        r#"{"event_time":null,"ticker":null,"price":"-Infinity"}"#,
    ),
    // a field of the wrong type is null, the others are kept
    (
        r#"{"ticker":"MSFT","price":"abc"}"#,
        r#"{"event_time":null,"ticker":"MSFT","price":null}"#,
    ),
    (
        r#"{"ticker":"A","price":"42.5"}"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
    (
        r#"{"ticker":"A","price":"nan"}"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
    (
        r#"{"ticker":"A","price":true}"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
    (
        r#"{"price":{"a":1},"ticker":"A"}"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
    // null and missing fields are null
    (
        r#"{"price":null,"ticker":"A"}"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
    (
        r#"{"ticker":null}"#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    (r#"{}"#, r#"{"event_time":null,"ticker":null,"price":null}"#),
    // extra fields are ignored; names match case-sensitively; last duplicate wins
    (
        r#"{"ticker":"A","volume":100,"extra":{"x":[1,2]}}"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
    (
        r#"{"Ticker":"A","PRICE":1.5}"#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    (
        r#"{"ticker":"A","ticker":"B"}"#,
        r#"{"event_time":null,"ticker":"B","price":null}"#,
    ),
    // a string field keeps any JSON value as its JSON text
    (
        r#"{"ticker":7}"#,
        r#"{"event_time":null,"ticker":"7","price":null}"#,
    ),
    (
        r#"{"ticker":1.50}"#,
        r#"{"event_time":null,"ticker":"1.5","price":null}"#,
    ),
    (
        r#"{"ticker":1e3}"#,
        r#"{"event_time":null,"ticker":"1000.0","price":null}"#,
    ),
    (
        r#"{"ticker":true}"#,
        r#"{"event_time":null,"ticker":"true","price":null}"#,
    ),
    (
        r#"{"ticker":{"a": 1, "b": [1, 2]}}"#,
        r#"{"event_time":null,"ticker":"{\"a\":1,\"b\":[1,2]}","price":null}"#,
    ),
    (
        r#"{"ticker":[1, "x y"]}"#,
        r#"{"event_time":null,"ticker":"[1,\"x y\"]","price":null}"#,
    ),
    (
        r#"{"ticker":"A\"B\u00e9\n"}"#,
        r#"{"event_time":null,"ticker":"A\"Bé\n","price":null}"#,
    ),
    (
        r#"{"ticker":"日本"}"#,
        r#"{"event_time":null,"ticker":"日本","price":null}"#,
    ),
    // JSON syntax errors: every field null
    (
        r#"{"ticker":"A","price":"#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    (
        r#"not json"#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    (
        r#"{'ticker':'A'"#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    // a top-level array or scalar is a bad record: every field null
    (
        r#"[{"ticker":"A"}]"#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    (
        r#""AAPL""#,
        r#"{"event_time":null,"ticker":null,"price":null}"#,
    ),
    (r#"42"#, r#"{"event_time":null,"ticker":null,"price":null}"#),
    // empty, whitespace and JSON null are a null row
    ("", r#"{"event_time":null,"ticker":null,"price":null}"#),
    ("   ", r#"{"event_time":null,"ticker":null,"price":null}"#),
    ("null", r#"{"event_time":null,"ticker":null,"price":null}"#),
    // like Jackson, the first JSON value is read and what follows is ignored
    (
        r#"  {"ticker":"A"}  trailing"#,
        r#"{"event_time":null,"ticker":"A","price":null}"#,
    ),
];

fn input() -> String {
    CASES.iter().map(|(i, _)| format!("{i}\n")).collect()
}

#[test]
fn every_from_json_rule_gives_sparks_row() {
    assert!(CASES.len() >= 30);
    let run = host(&["test", "--plugin", "parse_stock.wasm"], &input());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.lines();
    assert_eq!(
        lines.len(),
        CASES.len(),
        "one row per input:\n{}",
        run.stdout
    );
    for ((input, expected), got) in CASES.iter().zip(lines) {
        assert_eq!(got, *expected, "input: {input}");
    }
    // PERMISSIVE reports nothing: bad records are rows of nulls.
    assert!(run.errors().is_empty(), "{}", run.stderr);
}

#[test]
fn invalid_utf8_is_a_malformed_record() {
    let run = sluice_tests::host_with_env(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mode=DLQ",
        ],
        b"{\"ticker\":\"\xff\"}\n{\"ticker\":\"ok\"}\n",
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [r#"{"event_time":null,"ticker":"ok","price":null}"#]
    );
    assert_eq!(run.errors()[0]["line"], 1);
}

#[test]
fn corrupt_record_column_holds_the_raw_text_of_bad_records() {
    let input =
        "{\"ticker\":\"A\",\"price\":1}\nnot json\n{\"ticker\":\"B\",\"price\":\"abc\"}\n\n";
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.corrupt_record_column=_corrupt_record",
        ],
        input,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [
            r#"{"event_time":null,"ticker":"A","price":1.0,"_corrupt_record":null}"#,
            r#"{"event_time":null,"ticker":null,"price":null,"_corrupt_record":"not json"}"#,
            r#"{"event_time":null,"ticker":"B","price":null,"_corrupt_record":"{\"ticker\":\"B\",\"price\":\"abc\"}"}"#,
            r#"{"event_time":null,"ticker":null,"price":null,"_corrupt_record":null}"#,
        ]
    );
}

#[test]
fn failfast_stops_with_sparks_message() {
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mode=FAILFAST",
        ],
        "{\"ticker\":\"A\"}\nnot json\n",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "error: plugin \"parse_stock\" stopped: [MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: not json. Parse Mode: FAILFAST. To process malformed records as null result, try setting the option 'mode' as 'PERMISSIVE'."
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn drop_mode_drops_bad_records_silently() {
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mode=DROP",
        ],
        "{\"ticker\":\"A\"}\nnot json\n{\"price\":\"x\"}\n\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [
            r#"{"event_time":null,"ticker":"A","price":null}"#,
            r#"{"event_time":null,"ticker":null,"price":null}"#
        ]
    );
    assert!(run.errors().is_empty());
}

#[test]
fn dlq_mode_reports_each_bad_record_with_its_reason() {
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mode=dlq",
        ],
        "{\"ticker\":\"A\"}\nnot json\n[1]\n{\"ticker\":\"B\",\"price\":\"abc\"}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [r#"{"event_time":null,"ticker":"A","price":null}"#]
    );
    let errors = run.errors();
    let lines: Vec<_> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 4]);
    assert!(errors.iter().all(|e| e["plugin"] == "parse_stock"));
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON"),
        "{errors:?}"
    );
    assert_eq!(errors[1]["error"], "expected a JSON object, found an array");
    assert_eq!(
        errors[2]["error"],
        "field \"price\": expected double, found string \"abc\""
    );
}

#[test]
fn table_format_is_sparks_console_table() {
    let input = "{\"event_time\": \"2026-11-25T12:00:00.123456\", \"ticker\": \"AAPL\", \"price\": 42.17}\nnot json\n{\"ticker\":\"MSFT\",\"price\":100}\n";
    let run = host(&["test", "-p", "parse_stock", "--format", "table"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "+--------------------+------+-----+\n\
         |          event_time|ticker|price|\n\
         +--------------------+------+-----+\n\
         |2026-11-25T12:00:...|  AAPL|42.17|\n\
         |                NULL|  NULL| NULL|\n\
         |                NULL|  MSFT|100.0|\n\
         +--------------------+------+-----+\n\n"
    );
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "-f",
            "table",
            "--truncate",
            "false",
            "--num-rows",
            "1",
        ],
        input,
    );
    assert_eq!(
        run.stdout,
        "+--------------------------+------+-----+\n\
         |event_time                |ticker|price|\n\
         +--------------------------+------+-----+\n\
         |2026-11-25T12:00:00.123456|AAPL  |42.17|\n\
         +--------------------------+------+-----+\n\
         only showing top 1 row\n\n"
    );
}

#[test]
fn schema_format_is_sparks_print_schema() {
    let run = host(&["test", "-p", "parse_stock", "--format", "schema"], "");
    assert_eq!(
        run.stdout,
        "root\n |-- event_time: string (nullable = true)\n |-- ticker: string (nullable = true)\n |-- price: double (nullable = true)\n\n"
    );
}
