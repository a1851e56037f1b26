//! docs/writing-plugins.md is true: every `$` command in it runs, in order,
//! against a real broker, and shown outputs are compared; and `host new`
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

/// The `$` commands of the ```sh blocks and the output shown under each.
fn commands(markdown: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_sh = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        match line.strip_prefix("$ ") {
            Some(command) => out.push((command.to_string(), String::new())),
            None => {
                if let Some((_, shown)) = out.last_mut() {
                    shown.push_str(line);
                    shown.push('\n');
                }
            }
        }
    }
    out
}

#[test]
fn every_command_of_the_plugin_guide_works_as_shown() {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/writing-plugins.md"
    ))
    .unwrap();
    let steps = commands(&guide);
    assert!(steps.len() >= 6, "{steps:?}");
    let broker = Broker::start();
    let mut cwd = workdir("docs-test");
    for (command, shown) in steps {
        let (run, now) = shell(&command, &cwd, &[("SLUICE_BROKERS", &broker.addr)]);
        assert_eq!(run.code, 0, "$ {command}\n{}", run.stderr);
        if !shown.trim().is_empty() {
            assert_eq!(run.stdout.trim_end(), shown.trim_end(), "$ {command}");
        }
        if command.starts_with("host run") {
            assert!(
                run.lines().len() > 10,
                "the filter kept some of 100 ticks:\n{}",
                run.stdout
            );
        }
        cwd = now;
    }
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
