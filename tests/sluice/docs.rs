//! docs/writing-plugins.md, docs/sql.md and docs/state.md are true: every `$` command in
//! them runs, in order (the guide's against a real broker), and shown
//! outputs are compared; and `host new`
//! writes a crate of each kind that builds and does what its comment says.

use sluice_tests::{Broker, Run, cache_dir, host, host_bin, spawn};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A clean directory under the target dir (so the repository's
/// rust-toolchain.toml, with the wasm32-wasip2 target, applies).
fn workdir(name: &str) -> PathBuf {
    let dir = host_bin().parent().unwrap().parent().unwrap().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a shell command line in `cwd` with `host` on the PATH; returns the
/// run and the directory it ended in (a line may `cd`).
fn shell(line: &str, cwd: &Path, env: &[(&str, &str)]) -> (Run, PathBuf) {
    let pwd = cwd.join(".pwd");
    let path = format!(
        "{}:{}",
        host_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-ec")
        .arg(format!("{line}\npwd > {:?}", pwd.display().to_string()))
        .current_dir(cwd)
        .env("PATH", path)
        .env("SLUICE_CACHE_DIR", cache_dir())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("SLUICE_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = spawn(cmd).wait(Duration::from_secs(600));
    let now = std::fs::read_to_string(&pwd).map_or(cwd.to_path_buf(), |p| PathBuf::from(p.trim()));
    (run, now)
}

/// One step of a guide: a `$` command of a ```sh block with the output
/// shown under it, or a file the reader writes (a block whose info string
/// names it, e.g. ```python file=PATH).
enum Step {
    Command(String, String),
    File(String, String),
}

/// The steps of `markdown`, in order.
fn steps(markdown: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut block: Option<&str> = None;
    for line in markdown.lines() {
        if let Some(info) = line.strip_prefix("```") {
            block = match (block, info.split_once(" file=")) {
                (Some(_), _) => None,
                (None, Some((_, path))) => {
                    out.push(Step::File(path.to_string(), String::new()));
                    Some("file")
                }
                (None, None) => Some(if info == "sh" { "sh" } else { "other" }),
            };
            continue;
        }
        match (block, out.last_mut()) {
            (Some("file"), Some(Step::File(_, text))) => {
                text.push_str(line);
                text.push('\n');
            }
            (Some("sh"), last) => match line.strip_prefix("$ ") {
                Some(command) => out.push(Step::Command(command.to_string(), String::new())),
                None => {
                    if let Some(Step::Command(_, shown)) = last {
                        shown.push_str(line);
                        shown.push('\n');
                    }
                }
            },
            _ => {}
        }
    }
    out
}

/// Follows `guide` (a path from the repository root) in a fresh work
/// directory `dir`: writes its files, runs its `$` commands in order with `env`,
/// each must exit 0 and print what the guide shows under it; `check` sees
/// every command's run too.
fn follow(guide: &str, dir: &str, env: &[(&str, &str)], check: impl Fn(&str, &Run)) {
    let path = format!("{}/../{guide}", env!("CARGO_MANIFEST_DIR"));
    let steps = steps(&std::fs::read_to_string(path).unwrap());
    assert!(steps.len() >= 3, "{guide}");
    let mut cwd = workdir(dir);
    for step in steps {
        let (command, shown) = match step {
            Step::Command(command, shown) => (command, shown),
            Step::File(path, text) => {
                std::fs::write(cwd.join(&path), text).unwrap_or_else(|e| panic!("{path}: {e}"));
                continue;
            }
        };
        let (run, now) = shell(&command, &cwd, env);
        assert_eq!(run.code, 0, "{guide}: $ {command}\n{}", run.stderr);
        if !shown.trim().is_empty() {
            assert_eq!(
                run.stdout.trim_end(),
                shown.trim_end(),
                "{guide}: $ {command}"
            );
        }
        check(&command, &run);
        cwd = now;
    }
}

#[test]
fn every_command_of_the_plugin_guide_works_as_shown() {
    // The guide's commands use the tutorial's topic and default groups: a broker of its own.
    let broker = Broker::start_own(1);
    // The Python and JavaScript sections' build.sh use the test environment's
    // componentize-py and componentize-js instead of installing one per plugin.
    let componentize_py = sluice_tests::test_python(Some("componentize-py"));
    let componentize_js = sluice_tests::componentize_js();
    let env = [
        ("SLUICE_BROKERS", broker.addr.as_str()),
        ("COMPONENTIZE_PY", componentize_py.to_str().unwrap()),
        ("COMPONENTIZE_JS", componentize_js.to_str().unwrap()),
    ];
    follow(
        "docs/writing-plugins.md",
        "docs-test",
        &env,
        |command, run| {
            if command.starts_with("host run") {
                assert!(
                    run.lines().len() > 10,
                    "the filter kept some of 100 ticks:\n{}",
                    run.stdout
                );
            }
        },
    );
}

#[test]
fn every_command_of_the_sql_guide_works_as_shown() {
    follow("docs/sql.md", "docs-test-sql", &[], |_, _| {});
}

#[test]
fn every_command_of_the_state_guide_works_as_shown() {
    follow("docs/state.md", "docs-test-state", &[], |_, _| {});
}

#[test]
fn host_new_writes_a_map_a_flat_map_and_a_generator_that_build_and_run() {
    let dir = workdir("host-new-test");
    let shared = dir.join("shared-target");
    let shared = shared.to_str().unwrap();
    let input = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../host/src/commands/new/input.jsonl"
    );
    for (kind, name) in [
        ("map", "a_map"),
        ("flat-map", "a_flat_map"),
        ("generator", "a_gen"),
    ] {
        let (run, _) = shell(&format!("host new {name} --kind {kind}"), &dir, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let (built, _) = shell(
            "cargo build --release",
            &dir.join(name),
            &[("CARGO_TARGET_DIR", shared)],
        );
        assert_eq!(built.code, 0, "{kind}: {}", built.stderr);
    }
    let wasm = |name: &str| format!("{shared}/wasm32-wasip2/release/{name}.wasm");
    let map = host(
        &["test", "-p", &wasm("a_map"), "-i", input, "-f", "table"],
        "",
    );
    assert_eq!(
        map.stdout,
        "+------+-----------+\n|ticker|price_cents|\n+------+-----------+\n|  AAPL|       4217|\n|  MSFT|       8750|\n|  INTC|       1225|\n+------+-----------+\n\n"
    );
    assert_eq!(
        map.errors().len(),
        1,
        "the array line is a record error: {}",
        map.stderr
    );
    let flat = host(&["test", "-p", &wasm("a_flat_map"), "-i", input], "");
    assert_eq!(
        flat.lines().len(),
        5,
        "three ticks and the array's two: {}",
        flat.stdout
    );
    assert!(flat.lines()[4].contains("\"TBV\""), "{}", flat.stdout);
    let generated = host(
        &["test", "-p", &wasm("a_gen"), "--config", "a_gen.count=3"],
        "",
    );
    assert_eq!(
        generated.lines(),
        [r#"{"n": 0}"#, r#"{"n": 1}"#, r#"{"n": 2}"#]
    );
    let bad = host(&["new", "Bad-Name"], "");
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("use lowercase letters, digits and `_`"),
        "{}",
        bad.stderr
    );
}
