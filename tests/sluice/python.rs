//! Plugins in Python: written by `host new --lang python`, built by the
//! folder's own `build.sh` (with the componentize-py that scripts/test installs
//! into target/py), run by `host test` and by `host run` against tansu, and
//! contained when they misbehave exactly as Rust plugins are.

use sluice_tests::{Broker, Run, host, host_bin, host_bounded, host_with_env, priced_ticks};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const INPUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../host/src/commands/new/input.jsonl"
);

/// The Python plugins of this test run, each built once.
struct Built {
    dir: PathBuf,
}

impl Built {
    fn wasm(&self, name: &str) -> String {
        self.dir
            .join(name)
            .join(format!("{name}.wasm"))
            .display()
            .to_string()
    }
}

fn componentize_py() -> PathBuf {
    let tool = sluice_tests::test_python(Some("componentize-py"));
    assert!(
        tool.exists(),
        "{} is missing: run the tests with scripts/test, which installs componentize-py into target/py",
        tool.display()
    );
    tool
}

/// `host new NAME --lang python --kind KIND` in `dir`, then its `build.sh`.
fn new_and_build(dir: &Path, name: &str, kind: &str, source: Option<&str>) {
    let new = Command::new(host_bin())
        .args(["new", name, "--lang", "python", "--kind", kind])
        .current_dir(dir)
        .output()
        .expect("running host new");
    assert!(
        new.status.success(),
        "host new {name}: {}",
        String::from_utf8_lossy(&new.stderr)
    );
    let stdout = String::from_utf8_lossy(&new.stdout);
    assert!(
        stdout.contains(&format!("cd {name} && ./build.sh")),
        "{stdout}"
    );
    if let Some(source) = source {
        std::fs::write(dir.join(name).join(format!("{name}.py")), source).unwrap();
    }
    let build = Command::new("./build.sh")
        .current_dir(dir.join(name))
        .env("COMPONENTIZE_PY", componentize_py())
        .output()
        .expect("running build.sh");
    assert!(
        build.status.success(),
        "{name}/build.sh: {}{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = host_bin().parent().unwrap().join("python-plugins");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let hostile = include_str!("../guests/python/hostile.py");
        let structs = include_str!("../guests/python/structs.py");
        std::thread::scope(|s| {
            s.spawn(|| new_and_build(&dir, "my_filter", "filter", None));
            s.spawn(|| new_and_build(&dir, "my_map", "map", None));
            s.spawn(|| new_and_build(&dir, "hostile", "filter", Some(hostile)));
            s.spawn(|| new_and_build(&dir, "structs", "flat-map", Some(structs)));
        });
        Built { dir }
    })
}

#[test]
fn python_filter_and_map_from_the_templates_run_in_host_test() {
    let b = built();
    let (filter, map) = (b.wasm("my_filter"), b.wasm("my_map"));

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
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    assert_eq!(
        kept.stdout,
        "+--------------------+------+-----+\n|          event_time|ticker|price|\n+--------------------+------+-----+\n|2026-11-25T12:00:...|  AAPL|42.17|\n|2026-11-25T12:00:...|  MSFT| 87.5|\n+--------------------+------+-----+\n\n"
    );
    // On raw values it reads the JSON object's fields, and passes the record on unchanged.
    let raw = host(&["test", "-p", &filter, "-i", INPUT], "");
    assert_eq!(
        raw.lines(),
        [r#"{"event_time": "2026-11-25T12:00:01.000002", "ticker": "MSFT", "price": 87.5}"#],
        "{}",
        raw.stderr
    );

    // The map writes typed rows of the columns it declares.
    let mapped = host(&["test", "-p", &map, "-i", INPUT, "-f", "table"], "");
    assert_eq!(
        mapped.stdout,
        "+------+-----------+\n|ticker|price_cents|\n+------+-----------+\n|  AAPL|       4217|\n|  MSFT|       8750|\n|  INTC|       1225|\n+------+-----------+\n\n"
    );
    let errors = mapped.errors();
    assert_eq!(errors.len(), 1, "the array line: {}", mapped.stderr);
    assert_eq!(errors[0]["line"], 4);
    assert_eq!(errors[0]["error"], "no ticker or no numeric price");
    let schema = host(&["test", "-p", &map, "-f", "schema"], "");
    assert_eq!(
        schema.stdout,
        "root\n |-- ticker: string (nullable = true)\n |-- price_cents: long (nullable = true)\n\n"
    );

    // A typo in a config key names the close match; a bad value names the key.
    let typo = host(
        &[
            "test",
            "-p",
            &filter,
            "-i",
            INPUT,
            "--config",
            "my_filter.mni=3",
        ],
        "",
    );
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains(
            "plugin \"my_filter\" rejected its config: unknown config key 'mni' (did you mean 'min'?); known keys: min"
        ),
        "{}",
        typo.stderr
    );
    let bad = host(
        &[
            "test",
            "-p",
            &filter,
            "-i",
            INPUT,
            "--config",
            "my_filter.min=lots",
        ],
        "",
    );
    assert!(
        bad.stderr
            .contains("config min='lots': could not convert string to float: 'lots'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_python_plugin_may_not_be_named_after_a_module_it_would_hide() {
    let dir = &built().dir;
    for (name, hidden) in [
        ("sluice", "the Sluice SDK"),
        ("json", "the Python standard library's module of that name"),
    ] {
        let new = Command::new(host_bin())
            .args(["new", name, "--lang", "python"])
            .current_dir(dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&new.stderr);
        assert!(
            !new.status.success() && stderr.contains(hidden),
            "{name}: {stderr}"
        );
        assert!(!dir.join(name).exists(), "{name}: nothing written");
    }
}

#[test]
fn a_python_plugin_imports_nothing_but_the_contract_and_is_cached() {
    let filter = built().wasm("my_filter");
    let first = host(&["inspect", &filter], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
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
        "no WASI import at all (built with --stub-wasi):\n{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("description: Keeps the records whose price is at least min."),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("min") && first.stdout.contains("the lowest price kept"),
        "{}",
        first.stdout
    );
    let again = host(&["inspect", &filter], "");
    assert!(
        again.stdout.contains("cache:       hit"),
        "the second load comes from the compile cache:\n{}",
        again.stdout
    );
    // Python starts with ~13 MiB of heap: a limit below that says which flag to raise.
    let small = host(
        &["test", "-p", &filter, "-i", INPUT, "--memory-limit", "8MiB"],
        "",
    );
    assert_eq!(small.code, 2);
    assert!(
        small.stderr.contains("MiB of memory at start, more than --memory-limit allows (8 MiB); raise it to --memory-limit")
            && small.stderr.contains("(the default, 64MiB, admits it)"),
        "{}",
        small.stderr
    );
}

#[test]
fn a_python_plugin_writes_structs_and_a_cell_of_the_wrong_type_is_that_records_error() {
    let wasm = built().wasm("structs");
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
        "{}",
        table.stderr
    );
    let schema = host(&["test", "-p", &wasm, "-f", "schema"], "");
    assert!(
        schema
            .stdout
            .contains(" |-- w: struct (nullable = true)\n |    |-- start: timestamp (nullable = true)\n |    |-- n: integer (nullable = true)\n"),
        "{}",
        schema.stdout
    );
    let errors: Vec<String> = table
        .errors()
        .iter()
        .map(|e| e["error"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "column 't' is a string, but the plugin gave int 5",
            "the plugin gave column(s) 'extra' that the schema does not declare (it has b, ok, t, w)",
            "column 'n' is a 32-bit integer, but the plugin gave int 1099511627776",
        ]
    );
}

/// `host test` of the hostile Python plugin in `mode` on three records, the
/// second of which (price 13) it misbehaves on.
fn hostile(mode: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let wasm = built().wasm("hostile");
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
fn a_misbehaving_python_plugin_is_contained_as_a_rust_one() {
    for (mode, extra, error) in [
        ("raise", &[][..], "price 13 is unlucky"),
        (
            "crash",
            &[],
            "plugin \"hostile\" trapped: panicked (wasm `unreachable`): KeyError: 'no such key' at hostile.py:22 in keep (in process)",
        ),
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
        (
            "open",
            &[],
            "PermissionError: cannot open '/etc/hostname': a plugin has no filesystem",
        ),
    ] {
        let run = hostile(mode, extra, &[]);
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        assert_eq!(
            run.lines(),
            [r#"{"price":1}"#, r#"{"price":2}"#],
            "{mode}: the other records go on"
        );
        let errors = run.errors();
        assert_eq!(errors.len(), 1, "{mode}: {}", run.stderr);
        assert_eq!(errors[0]["line"], 2, "{mode}");
        let message = errors[0]["error"].as_str().unwrap();
        assert!(message.contains(error), "{mode}: {message}");
    }
    // print() goes to the host's log.
    let printed = hostile("print", &[], &[("SLUICE_LOG", "info")]);
    assert_eq!(printed.lines().len(), 3, "{}", printed.stderr);
    assert!(
        printed
            .stderr
            .lines()
            .any(|l| l.contains("printed by the plugin") && l.contains("plugin=\"hostile\"")),
        "{}",
        printed.stderr
    );
}

#[test]
fn python_filter_and_map_run_in_a_kafka_pipeline() {
    let b = built();
    let broker = Broker::start();
    broker.create_topic("py-in", 2);
    broker.create_topic("py-out", 1);
    // Prices 0..99: the filter keeps the 50 of at least 50.
    broker.produce("py-in", &priced_ticks("k", 100, |i| i.to_string()));
    let (filter, map) = (b.wasm("my_filter"), b.wasm("my_map"));
    let run = host_bounded(
        &[
            "run",
            "-p",
            "parse_stock",
            "-p",
            &filter,
            "-p",
            &map,
            "--brokers",
            &broker.addr,
            "--topic",
            "py-in",
            "--group",
            "py",
            "--starting-offsets",
            "earliest",
            "--available-now",
            "--sink",
            "kafka",
            "--output-topic",
            "py-out",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = broker.read("py-out", 50, Duration::from_secs(60));
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
    assert_eq!(broker.committed_total("py", "py-in", 2), 100);
}
