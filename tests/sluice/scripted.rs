//! Plugins in Python and JavaScript: written by `host new --lang python|js`,
//! built by the folder's own `build.sh` (with the componentize-py and
//! componentize-js that scripts/test installs into target/py and target/js),
//! run by `host test` and by `host run` against Kafka, and contained when they
//! misbehave exactly as Rust plugins are.

use crate::kafka::to_kafka_args;
use sluice_tests::{Broker, Run, host, host_bin, host_bounded, host_with_env, priced_ticks};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const INPUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../host/src/commands/new/input.jsonl"
);

/// A language plugins are written in besides Rust, and what its SDK says
/// where the two differ.
struct Lang {
    /// `--lang`.
    flag: &'static str,
    /// The build script's variable naming the componentizer, and where it is.
    tool: (&'static str, fn() -> PathBuf),
    /// The hostile test plugin (tests/guests/LANG/hostile.*).
    hostile: &'static str,
    /// The struct-writing test plugin.
    structs: &'static str,
    /// What `--config my_filter.mni=3` says.
    typo: &'static str,
    /// What `--config my_filter.min=lots` says.
    bad_value: &'static str,
    /// The type of `5` in the language's words.
    int: &'static str,
    /// How the hostile plugin's crash reaches its record error.
    crash: &'static str,
}

fn componentize_py() -> PathBuf {
    sluice_tests::test_python(Some("componentize-py"))
}

const PYTHON: Lang = Lang {
    flag: "python",
    tool: ("COMPONENTIZE_PY", componentize_py),
    hostile: include_str!("../guests/python/hostile.py"),
    structs: include_str!("../guests/python/structs.py"),
    typo: "unknown config key 'mni' (did you mean 'min'?); known keys: min",
    bad_value: "config min='lots': could not convert string to float: 'lots'",
    int: "int",
    crash: "panicked (wasm `unreachable`): KeyError: 'no such key' at hostile.py:22 in keep (in process)",
};

const JS: Lang = Lang {
    flag: "js",
    tool: ("COMPONENTIZE_JS", sluice_tests::componentize_js),
    hostile: include_str!("../guests/js/hostile.js"),
    structs: include_str!("../guests/js/structs.js"),
    typo: "unknown config key 'mni'; known keys: min",
    bad_value: "config min='lots': 'lots' is not a number",
    int: "number",
    crash: "panicked (wasm `unreachable`): TypeError: can't access property \"such\", row.no is undefined at keep@hostile.js:20:9 (in process)",
};

const LANGS: [&Lang; 2] = [&PYTHON, &JS];

/// Where this test run's plugins are built (each once): `DIR/LANG/NAME/NAME.wasm`.
fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = host_bin().parent().unwrap().join("plugins-in-languages");
        let _ = std::fs::remove_dir_all(&dir);
        let dirs: Vec<PathBuf> = LANGS.iter().map(|l| dir.join(l.flag)).collect();
        std::thread::scope(|s| {
            for (lang, dir) in LANGS.into_iter().zip(&dirs) {
                std::fs::create_dir_all(dir).unwrap();
                s.spawn(move || new_and_build(lang, dir, "my_filter", "filter", None));
                s.spawn(move || new_and_build(lang, dir, "my_map", "map", None));
                s.spawn(move || new_and_build(lang, dir, "hostile", "filter", Some(lang.hostile)));
                s.spawn(move || {
                    new_and_build(lang, dir, "structs", "flat-map", Some(lang.structs))
                });
            }
        });
        dir
    })
}

fn wasm(lang: &Lang, name: &str) -> String {
    built()
        .join(lang.flag)
        .join(name)
        .join(format!("{name}.wasm"))
        .display()
        .to_string()
}

/// `host new NAME --lang LANG --kind KIND` in `dir` (its module replaced by
/// `source`, if given), then its `build.sh`.
fn new_and_build(lang: &Lang, dir: &Path, name: &str, kind: &str, source: Option<&str>) {
    let new = Command::new(host_bin())
        .args(["new", name, "--lang", lang.flag, "--kind", kind])
        .current_dir(dir)
        .output()
        .expect("running host new");
    assert!(
        new.status.success(),
        "host new {name} --lang {}: {}",
        lang.flag,
        String::from_utf8_lossy(&new.stderr)
    );
    let stdout = String::from_utf8_lossy(&new.stdout);
    assert!(
        stdout.contains(&format!("cd {name} && ./build.sh")),
        "{stdout}"
    );
    if let Some(source) = source {
        let module = std::fs::read_dir(dir.join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_stem().is_some_and(|s| s == name))
            .expect("the plugin's module");
        std::fs::write(module, source).unwrap();
    }
    let (variable, tool) = lang.tool;
    let tool = tool();
    assert!(
        tool.exists(),
        "{} is missing: run the tests with scripts/test, which installs it",
        tool.display()
    );
    let build = Command::new("./build.sh")
        .current_dir(dir.join(name))
        .env(variable, tool)
        .output()
        .expect("running build.sh");
    assert!(
        build.status.success(),
        "{}/{name}/build.sh: {}{}",
        lang.flag,
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
}

#[test]
fn filters_and_maps_from_the_templates_run_in_host_test() {
    for lang in LANGS {
        let (filter, map) = (wasm(lang, "my_filter"), wasm(lang, "my_map"));
        let l = lang.flag;

        // The filter after parse_stock keeps typed rows: the table shows their columns.
        let kept = host(
            &[
                "test",
                "-p",
                "parse_stock",
                "-p",
                &filter,
                "-i",
                INPUT,
                "-f",
                "table",
                "--config",
                "my_filter.min=40",
            ],
            "",
        );
        assert_eq!(kept.code, 0, "{l}: {}", kept.stderr);
        assert_eq!(
            kept.stdout,
            "+--------------------+------+-----+\n|          event_time|ticker|price|\n+--------------------+------+-----+\n|2026-11-25T12:00:...|  AAPL|42.17|\n|2026-11-25T12:00:...|  MSFT| 87.5|\n+--------------------+------+-----+\n\n",
            "{l}"
        );
        // On raw values it reads the JSON object's fields, and passes the record on unchanged.
        let raw = host(&["test", "-p", &filter, "-i", INPUT], "");
        assert_eq!(
            raw.lines(),
            [r#"{"event_time": "2026-11-25T12:00:01.000002", "ticker": "MSFT", "price": 87.5}"#],
            "{l}: {}",
            raw.stderr
        );

        // The map writes typed rows of the columns it declares.
        let mapped = host(&["test", "-p", &map, "-i", INPUT, "-f", "table"], "");
        assert_eq!(
            mapped.stdout,
            "+------+-----------+\n|ticker|price_cents|\n+------+-----------+\n|  AAPL|       4217|\n|  MSFT|       8750|\n|  INTC|       1225|\n+------+-----------+\n\n",
            "{l}"
        );
        let errors = mapped.errors();
        assert_eq!(errors.len(), 1, "{l}: the array line: {}", mapped.stderr);
        assert_eq!(errors[0]["line"], 4);
        assert_eq!(errors[0]["error"], "no ticker or no numeric price");
        let schema = host(&["test", "-p", &map, "-f", "schema"], "");
        assert_eq!(
            schema.stdout,
            "root\n |-- ticker: string (nullable = true)\n |-- price_cents: long (nullable = true)\n\n",
            "{l}"
        );

        // A typo in a config key is named; a bad value names the key.
        for (setting, says) in [
            ("my_filter.mni=3", lang.typo),
            ("my_filter.min=lots", lang.bad_value),
        ] {
            let bad = host(
                &["test", "-p", &filter, "-i", INPUT, "--config", setting],
                "",
            );
            assert_eq!(bad.code, 2, "{l}");
            assert!(
                bad.stderr
                    .contains(&format!("plugin \"my_filter\" rejected its config: {says}")),
                "{l}: {}",
                bad.stderr
            );
        }
    }
}

#[test]
fn a_plugin_may_not_be_named_after_a_module_it_would_hide() {
    let dir = built();
    for (lang, name, hidden) in [
        ("python", "sluice", "the Sluice SDK"),
        (
            "python",
            "json",
            "the Python standard library's module of that name",
        ),
        ("js", "sluice", "the Sluice SDK"),
    ] {
        let new = Command::new(host_bin())
            .args(["new", name, "--lang", lang])
            .current_dir(dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&new.stderr);
        assert!(
            !new.status.success() && stderr.contains(hidden),
            "{lang} {name}: {stderr}"
        );
        assert!(!dir.join(name).exists(), "{lang} {name}: nothing written");
    }
}

#[test]
fn a_plugin_imports_nothing_but_the_contract_and_is_cached() {
    for lang in LANGS {
        let filter = wasm(lang, "my_filter");
        let l = lang.flag;
        let first = host(&["inspect", &filter], "");
        assert_eq!(first.code, 0, "{l}: {}", first.stderr);
        let imports: Vec<&str> = first
            .stdout
            .lines()
            .skip_while(|l| *l != "imports:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        assert!(
            !imports.is_empty()
                && imports
                    .iter()
                    .all(|l| l.trim().starts_with("sluice:plugin/")),
            "{l}: no WASI import at all (build.sh stubs or disables them):\n{}",
            first.stdout
        );
        assert!(
            first
                .stdout
                .contains("description: Keeps the records whose price is at least min."),
            "{l}: {}",
            first.stdout
        );
        assert!(
            first.stdout.contains("min") && first.stdout.contains("the lowest price kept"),
            "{l}: {}",
            first.stdout
        );
        let again = host(&["inspect", &filter], "");
        assert!(
            again.stdout.contains("cache:       hit"),
            "{l}: the second load comes from the compile cache:\n{}",
            again.stdout
        );
        // Python starts with 13.5 MiB of heap, JavaScript 9: a limit below that says which
        // flag to raise.
        let small = host(
            &["test", "-p", &filter, "-i", INPUT, "--memory-limit", "8MiB"],
            "",
        );
        assert_eq!(small.code, 2, "{l}");
        assert!(
            small.stderr.contains("MiB of memory at start, more than --memory-limit allows (8 MiB); raise it to --memory-limit")
                && small.stderr.contains("(the default, 64MiB, admits it)"),
            "{l}: {}",
            small.stderr
        );
    }
}

#[test]
fn a_plugin_writes_structs_and_a_cell_of_the_wrong_type_is_that_records_error() {
    for lang in LANGS {
        let wasm = wasm(lang, "structs");
        let l = lang.flag;
        let input = "{\"price\":1}\n{\"price\":2}\n{\"price\":3}\n{\"price\":4}\n";
        // Timestamps are shown in the local time zone, as Spark's session time zone.
        let table = host_with_env(
            &["test", "-p", &wasm, "-f", "table", "--truncate", "false"],
            input.as_bytes(),
            &[("TZ", "UTC")],
        );
        assert_eq!(
            table.stdout,
            "+---+------------------------+----+-------+\n|t  |w                       |ok  |b      |\n+---+------------------------+----+-------+\n|a  |{2026-11-25 12:00:00, 3}|true|[00 01]|\n|b  |NULL                    |NULL|NULL   |\n+---+------------------------+----+-------+\n\n",
            "{l}: {}",
            table.stderr
        );
        let schema = host(&["test", "-p", &wasm, "-f", "schema"], "");
        assert!(
            schema
                .stdout
                .contains(" |-- w: struct (nullable = true)\n |    |-- start: timestamp (nullable = true)\n |    |-- n: integer (nullable = true)\n"),
            "{l}: {}",
            schema.stdout
        );
        let errors: Vec<String> = table
            .errors()
            .iter()
            .map(|e| e["error"].as_str().unwrap().to_string())
            .collect();
        let int = lang.int;
        assert_eq!(
            errors,
            [
                format!("column 't' is a string, but the plugin gave {int} 5"),
                "the plugin gave column(s) 'extra' that the schema does not declare (it has b, ok, t, w)".to_string(),
                format!("column 'n' is a 32-bit integer, but the plugin gave {int} 1099511627776"),
            ],
            "{l}"
        );
    }
}

/// `host test` of a hostile plugin in `mode` on three records, the second of
/// which (price 13) it misbehaves on.
fn hostile(lang: &Lang, mode: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let wasm = wasm(lang, "hostile");
    let config = format!("hostile.mode={mode}");
    let mut args = vec!["test", "-p", &wasm, "--config", &config];
    args.extend(extra);
    host_with_env(
        &args,
        b"{\"price\":1}\n{\"price\":13}\n{\"price\":2}\n",
        env,
    )
}

#[test]
fn a_misbehaving_plugin_is_contained_as_a_rust_one() {
    for lang in LANGS {
        let mut modes = vec![
            ("raise", &[][..], "price 13 is unlucky"),
            ("crash", &[], lang.crash),
            (
                "loop",
                &["--deadline-ms", "300"],
                "plugin \"hostile\" trapped: deadline of 300 ms exceeded (raise it with --deadline-ms)",
            ),
            (
                "alloc",
                &[],
                "plugin \"hostile\" trapped: memory limit of 64 MiB exceeded (raise it with --memory-limit)",
            ),
        ];
        if lang.flag == "python" {
            modes.push((
                "open",
                &[],
                "PermissionError: cannot open '/etc/hostname': a plugin has no filesystem",
            ));
        }
        for (mode, extra, error) in modes {
            let l = lang.flag;
            let run = hostile(lang, mode, extra, &[]);
            assert_eq!(run.code, 0, "{l} {mode}: {}", run.stderr);
            assert_eq!(
                run.lines(),
                [r#"{"price":1}"#, r#"{"price":2}"#],
                "{l} {mode}: the other records go on"
            );
            let errors = run.errors();
            assert_eq!(errors.len(), 1, "{l} {mode}: {}", run.stderr);
            assert_eq!(errors[0]["line"], 2, "{l} {mode}");
            let message = errors[0]["error"].as_str().unwrap();
            assert!(message.contains(error), "{l} {mode}: {message}");
        }
        // print() and console.log() go to the host's log.
        let printed = hostile(lang, "print", &[], &[("SLUICE_LOG", "info")]);
        assert_eq!(printed.lines().len(), 3, "{}", printed.stderr);
        assert!(
            printed
                .stderr
                .lines()
                .any(|l| l.contains("printed by the plugin") && l.contains("plugin=\"hostile\"")),
            "{}: {}",
            lang.flag,
            printed.stderr
        );
    }
}

#[test]
fn a_python_filter_and_a_javascript_map_run_in_a_kafka_pipeline() {
    let broker = Broker::start();
    broker.create_topic("langs-in", 2);
    broker.create_topic("langs-out", 1);
    // Prices 0..99: the filter keeps the 50 of at least 50.
    broker.produce("langs-in", &priced_ticks("k", 100, |i| i.to_string()));
    let (filter, map) = (wasm(&PYTHON, "my_filter"), wasm(&JS, "my_map"));
    let args = to_kafka_args(
        &broker,
        &["-p", "parse_stock", "-p", &filter, "-p", &map],
        "langs-in",
        "langs-out",
        &["--group", "langs", "--available-now"],
    );
    let run = host_bounded(&args, Duration::from_secs(120));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = broker.read("langs-out", 50, Duration::from_secs(60));
    let mut cents: Vec<i64> = out
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
            assert_eq!(v["ticker"], "T", "{v}");
            v["price_cents"].as_i64().unwrap()
        })
        .collect();
    cents.sort_unstable();
    assert_eq!(cents, (50..100).map(|p| p * 100).collect::<Vec<i64>>());
    // The key of each record is the input's.
    assert!(
        out.iter().all(|r| r.key_str().starts_with('k')),
        "keys kept"
    );
    assert_eq!(broker.committed_total("langs", "langs-in", 2), 100);
}
