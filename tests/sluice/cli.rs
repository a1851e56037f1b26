//! The CLI's promises: bundled plugins work from any directory; every bad
//! input is one `error: …` line naming the plugin and the fix, exit code 2.

use sluice_tests::{guest, host, plugin_file};

fn fails_with(args: &[&str], needle: &str) {
    let run = host(args, "");
    assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "{args:?}\nexpected {needle:?} in\n{}",
        run.stderr
    );
}

#[test]
fn bundled_plugins_load_by_name_or_file_name_from_any_directory() {
    for plugin in ["parse_stock", "parse_stock.wasm"] {
        let out = std::process::Command::new(sluice_tests::host_bin())
            .args(["test", "--plugin", plugin])
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A path to an existing file loads that file.
    let run = host(
        &["test", "-p", &plugin_file("parse_stock")],
        "{\"ticker\":\"A\"}\n",
    );
    assert_eq!(run.lines(), [r#"{"ticker":"A"}"#]);
    let run = host(&["inspect", &plugin_file("parse_stock")], "");
    assert!(
        run.stdout.contains(&format!(
            "plugin:      parse_stock ({})",
            plugin_file("parse_stock")
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn missing_plugin_file() {
    fails_with(
        &["test", "-p", "nosuch.wasm"],
        "plugin \"nosuch.wasm\" not found: no such file, and no bundled plugin of that name (bundled: parse_stock, schema_filter, select, window_agg, stock_generator)",
    );
}

#[test]
fn file_that_is_not_webassembly() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "hello").unwrap();
    fails_with(
        &["test", "-p", text.to_str().unwrap()],
        "is not a WebAssembly file",
    );
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    fails_with(
        &["inspect", core.to_str().unwrap()],
        "is a core WebAssembly module, not a component; build it with `cargo build --release --target wasm32-wasip2`",
    );
}

#[test]
fn component_of_the_wrong_world() {
    fails_with(
        &["inspect", guest("not_a_plugin")],
        "is a component but not a Sluice plugin",
    );
    fails_with(
        &["test", "-p", "parse_stock", "-p", "stock_generator"],
        "plugin \"stock_generator\" is a generator; a `host test` --plugin after the first takes transforms",
    );
}

#[test]
fn bad_config_names_the_plugin_key_and_fix() {
    fails_with(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mode=LOOSE",
        ],
        "plugin \"parse_stock\" rejected its config: config mode=\"LOOSE\": expected PERMISSIVE, FAILFAST, DROP or DLQ (set it with --config parse_stock.KEY=VALUE)",
    );
    fails_with(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stock.mod=DLQ",
        ],
        "unknown config key \"mod\"; known keys: mode, corrupt_record_column, schema",
    );
    fails_with(
        &[
            "test",
            "-p",
            "parse_stock",
            "--config",
            "parse_stok.mode=DLQ",
        ],
        "--config \"parse_stok.mode=DLQ\": no plugin named \"parse_stok\" in this pipeline (plugins: parse_stock)",
    );
    fails_with(
        &["test", "-p", "parse_stock", "--config", "parse_stock.mode"],
        "--config \"parse_stock.mode\": expected PLUGIN.KEY=VALUE",
    );
}

#[test]
fn missing_input_file() {
    fails_with(
        &[
            "test",
            "-p",
            "parse_stock",
            "--input",
            "/nonexistent/ticks.jsonl",
        ],
        "cannot open input file \"/nonexistent/ticks.jsonl\"",
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let run = host(&["test", "-p", "parse_stock", "--format", "xml"], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid value 'xml' for '--format"),
        "{}",
        run.stderr
    );
    let run = host(
        &["test", "-p", "parse_stock", "--memory-limit", "12 parsecs"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown size unit \"parsecs\""),
        "{}",
        run.stderr
    );
}

#[test]
fn min_price_example_is_a_ten_line_plugin_that_works() {
    let source = include_str!("../../plugins/min_price/src/lib.rs");
    let code_lines = source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("use ") && *l != "}")
        .count();
    assert!(code_lines <= 10, "min_price is {code_lines} lines of code");
    let run = host(
        &[
            "test",
            "-p",
            &plugin_file("min_price"),
            "--config",
            "min_price.min=50",
        ],
        "{\"ticker\":\"A\",\"price\":49.99}\n{\"ticker\":\"B\",\"price\":50}\n{\"ticker\":\"C\"}\nnot json\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), [r#"{"ticker":"B","price":50}"#]);
    // A filter keeps or drops, as Spark's filter does: a row with no price (or no JSON
    // object at all) fails `price >= min` and is dropped, not reported.
    assert!(run.errors().is_empty(), "{}", run.stderr);
    // The same filter reads parse_stock's typed rows: cells, not JSON.
    let run = host(
        &["test", "-p", "parse_stock", "-p", &plugin_file("min_price")],
        "{\"ticker\":\"A\",\"price\":49.99}\n{\"ticker\":\"B\",\"price\":50}\n{\"ticker\":\"C\"}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), [r#"{"ticker":"B","price":50.0}"#]);
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = std::process::Command::new(sluice_tests::host_bin())
        .args([
            "test",
            "-p",
            "stock_generator",
            "--config",
            "stock_generator.count=100000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    sluice_tests::read_then_close_stdout(&mut child, 64);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_and_generate_flags_that_cannot_work_are_named_before_any_broker_is_contacted() {
    fn run<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [
            &["run", "-p", "parse_stock", "--brokers", "127.0.0.1:9"][..],
            extra,
        ]
        .concat()
    }
    fails_with(
        &run(&["--sink", "kafka"]),
        "--sink kafka needs --output-topic TOPIC",
    );
    fails_with(
        &run(&["--output-topic", "x"]),
        "--output-topic \"x\" is for --sink kafka; add --sink kafka",
    );
    fails_with(
        &run(&["--on-error", "dlq"]),
        "--on-error dlq needs --dlq-topic TOPIC",
    );
    fails_with(
        &run(&["--dlq-topic", "d", "--on-error", "drop"]),
        "--dlq-topic \"d\" is only used with --on-error dlq, not drop",
    );
    fails_with(
        &["run", "-p", "stock_generator", "--brokers", "127.0.0.1:9"],
        "plugin \"stock_generator\" is a generator; `host run` takes transforms",
    );
    fails_with(
        &["generate", "-p", "parse_stock", "--brokers", "127.0.0.1:9"],
        "plugin \"parse_stock\" is a transform; `host generate` takes a generator",
    );
    fails_with(
        &["run", "--pipeline", "/nonexistent/pipeline.toml"],
        "--pipeline \"/nonexistent/pipeline.toml\": cannot read the file",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, "plugin = \"parse_stock\"\ntopics = \"a\"\n").unwrap();
    fails_with(
        &["run", "--pipeline", file.to_str().unwrap()],
        "unknown setting \"topics\"; the settings are: kafka, plugin, topic, topic-pattern",
    );
}

#[test]
fn check_prints_the_resolved_pipeline_or_names_every_problem() {
    let ok = host(
        &[
            "run",
            "-p",
            "parse_stock.wasm",
            "--config",
            "parse_stock.mode=DLQ",
            "-p",
            "schema_filter",
            "--sink",
            "kafka",
            "--output-topic",
            "o",
            "--dlq-topic",
            "d",
            "--workers",
            "3",
            "--brokers",
            "127.0.0.1:9",
            "--check",
        ],
        "",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    for line in [
        "plugin 1:  parse_stock (bundled), transform; config: mode=DLQ; columns: event_time string, ticker string, price double",
        "plugin 2:  schema_filter (bundled), transform",
        "sink:      kafka topic \"o\"",
        "on error:  dead-letter topic \"d\"",
        "workers:   3",
    ] {
        assert!(ok.stdout.contains(line), "{line:?} in\n{}", ok.stdout);
    }

    let bad = host(
        &[
            "run",
            "-p",
            "parse_stock",
            "-p",
            "schema_filter",
            "-p",
            "nosuch.wasm",
            "--config",
            "schema_filter.schema=ticker string, price string",
            "--config",
            "parse_stock.colour=red",
            "--on-error",
            "dlq",
            "--check",
        ],
        "",
    );
    assert_eq!(bad.code, 2);
    for problem in [
        "error: 3 problems:",
        "--on-error dlq needs --dlq-topic TOPIC",
        "plugin \"parse_stock\" rejected its config: unknown config key \"colour\"",
        "plugin \"nosuch.wasm\" not found",
    ] {
        assert!(
            bad.stderr.contains(problem),
            "{problem:?} in\n{}",
            bad.stderr
        );
    }
    // With parse_stock configured right, the column types are compared.
    let mismatch = host(
        &[
            "run",
            "-p",
            "parse_stock",
            "-p",
            "schema_filter",
            "--config",
            "schema_filter.schema=ticker string, price string",
            "--check",
        ],
        "",
    );
    assert_eq!(mismatch.code, 2);
    assert_eq!(
        mismatch.stderr.trim(),
        "error: plugin \"schema_filter\" expects column \"price\" as string, but \"parse_stock\" produces it as double"
    );
    let generate = host(&["generate", "-p", "stock_generator", "--check"], "");
    assert_eq!(generate.code, 0, "{}", generate.stderr);
    assert!(
        generate
            .stdout
            .contains("plugin 1:  stock_generator (bundled), generator")
    );
}

#[test]
fn version_names_the_plugin_contract() {
    let run = host(&["--version"], "");
    assert_eq!(run.code, 0);
    let wit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/plugin.wit")).unwrap();
    assert!(wit.contains("package sluice:plugin@0.2.0;"));
    assert_eq!(
        run.stdout.trim(),
        format!(
            "host {} (plugin contract sluice:plugin@0.2.0)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn host_test_counts_rejected_records_and_fails_on_them_when_asked() {
    let input = "{\"ticker\":\"A\"}\nnot json\n[1]\n";
    let args = [
        "test",
        "-p",
        "parse_stock",
        "--config",
        "parse_stock.mode=DLQ",
    ];
    let run = host(&args, input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.errors().len(), 2);
    assert!(
        run.stderr.contains("2 records were rejected"),
        "{}",
        run.stderr
    );
    let mut failing = args.to_vec();
    failing.push("--fail-on-error");
    let run = host(&failing, input);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.lines(),
        [r#"{"ticker":"A"}"#],
        "the good rows still print"
    );
    assert!(
        run.stderr
            .contains("error: 2 records were rejected (their errors are above); failing as --fail-on-error says"),
        "{}",
        run.stderr
    );
}

#[test]
fn typed_rows_reach_a_raw_values_plugin_as_sparks_to_json() {
    // `router` reads value bytes (accepts raw): after parse_stock's typed rows the
    // host hands it each row as one JSON object, which it passes on.
    let run = host(
        &["test", "-p", "parse_stock", "-p", guest("router")],
        "{\"ticker\": \"A\", \"price\": 1e7, \"extra\": 1}\n{\"price\": null}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines(), [r#"{"ticker":"A","price":1.0E7}"#, "{}"]);
}

#[test]
fn inspect_names_the_contract_and_what_a_plugin_reads() {
    let run = host(&["inspect", "parse_stock"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("contract:    sluice:plugin@0.2.0\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("reads:       raw values (typed rows are given to it as JSON)\n"),
        "{}",
        run.stdout
    );
    let run = host(&["inspect", &plugin_file("min_price")], "");
    assert!(
        run.stdout
            .contains("reads:       typed rows or raw values, and the records' metadata\n"),
        "{}",
        run.stdout
    );
}
