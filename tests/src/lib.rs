//! Helpers for Sluice's integration tests: the real `host` binary, the
//! plugins it bundles (as files), and the hostile test guests.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `host` binary of this build (`target/<profile>/host`).
pub fn host_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps");
    let host = dir.join("host");
    assert!(
        host.exists(),
        "{} is missing: build it first with `cargo build --workspace` (the README's test command does)",
        host.display()
    );
    host
}

/// A compile cache shared by the tests of one build (under the target dir).
pub fn cache_dir() -> PathBuf {
    host_bin().parent().unwrap().join("sluice-test-cache")
}

/// The path of a plugin built from `plugins/` (bundled ones and `min_price`).
pub fn plugin_file(name: &str) -> String {
    format!("{}/{name}.wasm", host::plugin::bundled::BUILD_DIR)
}

/// The path of a test guest built from `tests/guests/`.
pub fn guest(name: &str) -> &'static str {
    match name {
        "hostile" => env!("GUEST_HOSTILE"),
        "reads_file" => env!("GUEST_READS_FILE"),
        "reads_env" => env!("GUEST_READS_ENV"),
        "reads_args" => env!("GUEST_READS_ARGS"),
        "not_a_plugin" => env!("GUEST_NOT_A_PLUGIN"),
        other => panic!("no test guest {other:?}"),
    }
}

/// What one run of `host` did.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Everything it printed to stdout.
    pub stdout: String,
    /// Everything it printed to stderr.
    pub stderr: String,
}

impl Run {
    /// stdout, one entry per line.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stderr's JSON lines (record errors), parsed.
    pub fn errors(&self) -> Vec<serde_json::Value> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad error line {l:?}: {e}"))
            })
            .collect()
    }
}

/// Runs `host ARGS` with `stdin`, a shared compile cache, and the given
/// extra environment; waits for it to finish.
pub fn host_with_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(host_bin());
    cmd.args(args)
        .env("SLUICE_CACHE_DIR", cache_dir())
        .env_remove("SLUICE_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starting host");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("waiting for host");
    writer.join().expect("stdin writer");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `host ARGS` with `stdin`.
pub fn host(args: &[&str], stdin: &str) -> Run {
    host_with_env(args, stdin.as_bytes(), &[])
}
