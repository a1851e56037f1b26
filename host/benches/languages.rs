//! P9: plugins written in Python and JavaScript beside the same plugins in Rust.
//!
//! Writes the filter and the map of `host new` in the three languages
//! (`--lang python` built with componentize-py, `--lang js` with
//! componentize-js, Rust with cargo into the plugins' shared target dir),
//! then measures for each: µs per record in memory on one
//! core (batches of 1024, on raw JSON values and on typed rows after
//! parse_stock), component size, compile time, the start of `host test` with
//! the compiled plugin cached, and the memory one more live instance takes.
//!
//! Run: `cargo bench -p host --bench languages -- [RECORDS] --componentize-py PATH --componentize-js PATH`.

use host::plugin::{Chain, Limits, PluginSpec, Runtime, Stage};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

mod common;
use common::{batch, median, per_record, records};

const HOST: &str = env!("CARGO_BIN_EXE_host");
const BATCH: usize = 1024;

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes plugin `name` of `kind` in `lang` under `dir` and builds it (with
/// `componentizer`, the build script's `(variable, path)`, for Python and
/// JavaScript); its .wasm.
fn build(
    dir: &Path,
    name: &str,
    kind: &str,
    lang: &str,
    componentizer: Option<&(&str, String)>,
) -> PathBuf {
    run(
        Command::new(HOST)
            .args(["new", name, "--kind", kind, "--lang", lang])
            .current_dir(dir),
        "host new",
    );
    let folder = dir.join(name);
    if let Some((variable, path)) = componentizer {
        run(
            Command::new("./build.sh")
                .current_dir(&folder)
                .env(variable, path),
            "build.sh",
        );
        return folder.join(format!("{name}.wasm"));
    }
    // The plugins' own target dir: the SDK and its dependencies are built there already.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm-plugins");
    run(
        Command::new("cargo")
            .args(["build", "--release", "--quiet"])
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .current_dir(&folder),
        "cargo build",
    );
    target.join(format!("wasm32-wasip2/release/{name}.wasm"))
}

fn spec(source: &Path) -> PluginSpec {
    PluginSpec {
        source: source.display().to_string(),
        ..Default::default()
    }
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Wall time of `host test` with the plugin compiled and cached, on one record.
fn cached_start(wasm: &Path, cache: &Path) -> f64 {
    let once = || {
        let start = Instant::now();
        let mut child = Command::new(HOST)
            .args(["test", "-p", &wasm.display().to_string(), "-i", "-"])
            .env("SLUICE_CACHE_DIR", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("host test");
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"{\"ticker\":\"AAPL\",\"price\":60.5}\n")
            .unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success());
        start.elapsed().as_secs_f64()
    };
    once(); // compiles and stores
    median((0..5).map(|_| once()).collect())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = common::count(&args, 100_000);
    let path_arg = |flag: &str| {
        let at = args.iter().position(|a| a == flag);
        at.and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| panic!("{flag} PATH (bench/run passes the one it installs)"))
    };
    let componentize_py = ("COMPONENTIZE_PY", path_arg("--componentize-py"));
    let componentize_js = ("COMPONENTIZE_JS", path_arg("--componentize-js"));
    let dir = tempfile::tempdir().expect("a temp dir");
    let input = records(n);
    let raw: Vec<_> = input.chunks(BATCH).map(batch).collect();
    let runtime = Runtime::new(Limits::default(), None).expect("engine");
    let parse = Arc::new(runtime.load(&spec(Path::new("parse_stock"))).unwrap());
    let mut parse_only = Chain::new(std::slice::from_ref(&parse)).unwrap();
    let parsing = per_record(&mut parse_only, &raw, n);

    println!(
        "P9: plugins in Python and JavaScript beside the same plugins in Rust (the `host new` templates), {n} records in memory, batches of {BATCH}, one core, median of 3 runs"
    );
    println!(
        "| plugin | µs/record, raw JSON in | µs/record, typed rows in (after parse_stock) | component | compile | `host test` start, cached | memory per instance |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for kind in ["filter", "map"] {
        for (lang, componentizer) in [
            ("rust", None),
            ("python", Some(&componentize_py)),
            ("js", Some(&componentize_js)),
        ] {
            let name = format!("{lang}_{kind}");
            let wasm = build(dir.path(), &name, kind, lang, componentizer);
            let size = std::fs::metadata(&wasm).unwrap().len();
            let start = Instant::now();
            let plugin = Arc::new(runtime.load(&spec(&wasm)).unwrap());
            let compile = start.elapsed().as_secs_f64();
            let on_raw = per_record(
                &mut Chain::new(std::slice::from_ref(&plugin)).unwrap(),
                &raw,
                n,
            );
            let mut typed = Chain::new(&[parse.clone(), plugin.clone()]).unwrap();
            let on_typed = per_record(&mut typed, &raw, n) - parsing;
            // One more live instance, having processed a batch: what a worker costs.
            let before = rss();
            let stages: Vec<Stage> = (0..8)
                .map(|_| {
                    let mut stage = Stage::new(plugin.clone()).unwrap();
                    stage.process(&raw[0]).unwrap();
                    stage
                })
                .collect();
            let per_instance = rss().saturating_sub(before) / 8;
            drop(stages);
            let start_s = cached_start(&wasm, &dir.path().join("cache"));
            println!(
                "| {lang} {kind} | {:.2} | {:.2} | {:.1} MB | {:.2} s | {:.0} ms | {:.1} MiB |",
                on_raw * 1e6,
                on_typed * 1e6,
                size as f64 / 1e6,
                compile,
                start_s * 1e3,
                per_instance as f64 / f64::from(1 << 20)
            );
        }
    }
}
