//! Windows and state: `window_agg` against Spark's own answers, and its
//! state through restarts, SIGKILLs and traps.
//!
//! `tests/windows/spark_reference.py` ran the tutorial's windowed query
//! (`withWatermark` + `groupBy(window(...), ticker).agg(...)`) with PySpark
//! 4.3 over `tests/windows/input.jsonl` (out-of-order and late ticks, a
//! null time, a null price), one micro-batch per `batch` lines, in append,
//! update (sliding windows) and complete mode, and wrote each console
//! output; `host test -f console` must print exactly that.

use serde_json::Value;
use sluice_tests::host;
use std::path::Path;

const SCHEMA: &str = "parse_stock.schema=event_time timestamp, ticker string, price double";

fn windows_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("windows")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `--config window_agg.KEY=VALUE` flags of a reference case.
pub fn case_config(case: &Value) -> Vec<String> {
    case["config"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("window_agg.{k}={}", v.as_str().unwrap()))
        .collect()
}

#[test]
fn console_output_equals_sparks_in_every_output_mode() {
    let cases: Value = serde_json::from_str(&windows_file("cases.json")).unwrap();
    let input = windows_file("input.jsonl");
    for (name, case) in cases.as_object().unwrap() {
        let batch = case["batch"].as_u64().unwrap().to_string();
        let config = case_config(case);
        let mut args = vec![
            "test",
            "-p",
            "parse_stock",
            "-p",
            "window_agg",
            "-f",
            "console",
        ];
        args.extend(["--batch-size", &batch, "--config", SCHEMA]);
        for c in &config {
            args.extend(["--config", c.as_str()]);
        }
        let run = host(&args, &input);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let expected = windows_file(&format!("expected-{name}.txt"));
        assert_eq!(
            run.stdout, expected,
            "{name} mode: Sluice's console differs from Spark's (tests/windows/expected-{name}.txt)"
        );
    }
}

#[test]
fn a_bad_window_config_names_the_key_and_the_fix() {
    let input = windows_file("input.jsonl");
    let cases = [
        ("window_agg.window=1 month", "unknown unit \"month\""),
        ("window_agg.output_mode=append", "without a watermark"),
        ("window_agg.agg=median(price)", "unknown aggregate"),
        (
            "window_agg.output_mode=sideways",
            "not append, update or complete",
        ),
    ];
    for (config, wanted) in cases {
        let run = host(
            &[
                "test",
                "-p",
                "parse_stock",
                "-p",
                "window_agg",
                "--config",
                SCHEMA,
                "--config",
                config,
            ],
            &input,
        );
        assert_eq!(run.code, 2, "{config}: {}", run.stderr);
        assert!(
            run.stderr.contains(wanted) && run.stderr.contains("window_agg"),
            "{config}: {}",
            run.stderr
        );
    }
    // The event time must be a timestamp: the tutorial's schema reads it as a string.
    let run = host(
        &[
            "test",
            "-p",
            "parse_stock",
            "-p",
            "window_agg",
            "--config",
            "window_agg.watermark=10 seconds",
        ],
        &input,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("\"event_time\"") && run.stderr.contains("timestamp"),
        "{}",
        run.stderr
    );
}
