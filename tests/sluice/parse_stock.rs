//! `parse_stock` is Spark's `from_json(value, "event_time string, ticker
//! string, price double")`: every rule of design.md §5, each with its row.

use sluice_tests::host;

/// (input line, the exact row Spark's from_json + select("value.*") gives, as
/// Spark's to_json writes it: null fields left out, doubles as Java prints them)
const CASES: &[(&str, &str)] = &[
    // The tutorial's record, as the Python producer writes it.
    (
        r#"{"event_time": "2026-11-25T12:00:00.123456", "ticker": "AAPL", "price": 42.17}"#,
        r#"{"event_time":"2026-11-25T12:00:00.123456","ticker":"AAPL","price":42.17}"#,
    ),
    // double takes JSON integers and floats
    (
        r#"{"ticker":"A","price":42}"#,
        r#"{"ticker":"A","price":42.0}"#,
    ),
    (r#"{"price":0.05}"#, r#"{"price":0.05}"#),
    (r#"{"price":-0.0}"#, r#"{"price":-0.0}"#),
    (
        r#"{"price":12345678901234567890}"#,
        r#"{"price":1.2345678901234567E19}"#,
    ),
    (r#"{"price":1e400}"#, r#"{"price":"Infinity"}"#),
    // double takes exactly these strings
    (r#"{"price":"NaN"}"#, r#"{"price":"NaN"}"#),
    (r#"{"price":"Infinity"}"#, r#"{"price":"Infinity"}"#),
    (r#"{"price":"+Infinity"}"#, r#"{"price":"Infinity"}"#),
    (r#"{"price":"+INF"}"#, r#"{"price":"Infinity"}"#),
    (r#"{"price":"-Infinity"}"#, r#"{"price":"-Infinity"}"#),
    (r#"{"price":"-INF"}"#, r#"{"price":"-Infinity"}"#),
    // a field of the wrong type is null, the others are kept
    (r#"{"ticker":"MSFT","price":"abc"}"#, r#"{"ticker":"MSFT"}"#),
    (r#"{"ticker":"A","price":"42.5"}"#, r#"{"ticker":"A"}"#),
    (r#"{"ticker":"A","price":"nan"}"#, r#"{"ticker":"A"}"#),
    (r#"{"ticker":"A","price":true}"#, r#"{"ticker":"A"}"#),
    (r#"{"price":{"a":1},"ticker":"A"}"#, r#"{"ticker":"A"}"#),
    // null and missing fields are null
    (r#"{"price":null,"ticker":"A"}"#, r#"{"ticker":"A"}"#),
    (r#"{"ticker":null}"#, r#"{}"#),
    (r#"{}"#, r#"{}"#),
    // extra fields are ignored; names match case-sensitively; last duplicate wins
    (
        r#"{"ticker":"A","volume":100,"extra":{"x":[1,2]}}"#,
        r#"{"ticker":"A"}"#,
    ),
    (r#"{"Ticker":"A","PRICE":1.5}"#, r#"{}"#),
    (r#"{"ticker":"A","ticker":"B"}"#, r#"{"ticker":"B"}"#),
    // a string field keeps any JSON value as its JSON text
    (r#"{"ticker":7}"#, r#"{"ticker":"7"}"#),
    (r#"{"ticker":1.50}"#, r#"{"ticker":"1.5"}"#),
    (r#"{"ticker":1e3}"#, r#"{"ticker":"1000.0"}"#),
    (r#"{"ticker":true}"#, r#"{"ticker":"true"}"#),
    (
        r#"{"ticker":{"a": 1, "b": [1, 2]}}"#,
        r#"{"ticker":"{\"a\":1,\"b\":[1,2]}"}"#,
    ),
    (r#"{"ticker":[1, "x y"]}"#, r#"{"ticker":"[1,\"x y\"]"}"#),
    (r#"{"ticker":"A\"B\u00e9\n"}"#, r#"{"ticker":"A\"Bé\n"}"#),
    (r#"{"ticker":"日本"}"#, r#"{"ticker":"日本"}"#),
    // JSON syntax errors: every field null
    (r#"{"ticker":"A","price":"#, r#"{}"#),
    (r#"not json"#, r#"{}"#),
    (r#"{'ticker':'A'"#, r#"{}"#),
    // a top-level array or scalar is a bad record: every field null
    (r#"[{"ticker":"A"}]"#, r#"{}"#),
    (r#""AAPL""#, r#"{}"#),
    (r#"42"#, r#"{}"#),
    // empty, whitespace and JSON null are a null row
    ("", r#"{}"#),
    ("   ", r#"{}"#),
    ("null", r#"{}"#),
    // like Jackson, the first JSON value is read and what follows is ignored
    (r#"  {"ticker":"A"}  trailing"#, r#"{"ticker":"A"}"#),
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
    assert_eq!(run.lines(), [r#"{"ticker":"ok"}"#]);
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
            r#"{"ticker":"A","price":1.0}"#,
            r#"{"_corrupt_record":"not json"}"#,
            r#"{"ticker":"B","_corrupt_record":"{\"ticker\":\"B\",\"price\":\"abc\"}"}"#,
            r#"{}"#,
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
    assert_eq!(run.lines(), [r#"{"ticker":"A"}"#, r#"{}"#]);
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
    assert_eq!(run.lines(), [r#"{"ticker":"A"}"#]);
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
         only showing top 1 row\n"
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

#[test]
fn reader_options_follow_sparks_json_options_and_each_can_be_set() {
    let input = "{'ticker':'A','price':NaN}\n{\"ticker\":\"B\",\"price\":-Infinity}\n{ticker:\"C\"}\n{\"ticker\":\"D\",\"price\":007}\n{\"ticker\":\"E\" /* c */}\n{\"ticker\":\"\\q\"}\n";
    // Spark's defaults: single quotes and NaN/Infinity on; the rest off (a syntax error: all null).
    let run = host(&["test", "-p", "parse_stock"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [
            r#"{"ticker":"A","price":"NaN"}"#,
            r#"{"ticker":"B","price":"-Infinity"}"#,
            "{}",
            "{}",
            "{}",
            "{}"
        ]
    );
    let flipped = [
        "parse_stock.allowSingleQuotes=false",
        "parse_stock.allowNonNumericNumbers=false",
        "parse_stock.allowUnquotedFieldNames=true",
        "parse_stock.allowNumericLeadingZeros=true",
        "parse_stock.allowComments=true",
        "parse_stock.allowBackslashEscapingAnyCharacter=true",
    ];
    let mut args = vec!["test", "-p", "parse_stock"];
    for option in flipped {
        args.extend(["--config", option]);
    }
    let run = host(&args, input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [
            "{}",
            "{}",
            r#"{"ticker":"C"}"#,
            r#"{"ticker":"D","price":7.0}"#,
            r#"{"ticker":"E"}"#,
            r#"{"ticker":"q"}"#
        ]
    );
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.allowComments=yes",
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("config allowComments=\"yes\": expected true or false"),
        "{}",
        run.stderr
    );
}
