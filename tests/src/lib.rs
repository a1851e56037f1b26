//! Helpers for Sluice's integration tests: the real `host` binary, the
//! plugins it bundles (as files), and the hostile test guests.

pub mod audit;
mod broker;
pub mod kafka;

pub use broker::{Broker, Record, TestProducer, priced_ticks};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The test environment's Python (`$SLUICE_TEST_PYTHON`: scripts/test makes
/// target/py with kafka-python, prometheus-client, kubernetes-validate and
/// componentize-py; else `python3`), or with `tool`, a script of that venv.
pub fn test_python(tool: Option<&str>) -> PathBuf {
    let python =
        PathBuf::from(std::env::var("SLUICE_TEST_PYTHON").unwrap_or_else(|_| "python3".into()));
    match tool {
        Some(tool) => python.with_file_name(tool),
        None => python,
    }
}

/// Runs a Python script with the test environment's python (kafka-python
/// installed by scripts/test); returns what it printed, failing on an error.
pub fn python_script(script: &str) -> String {
    let out = Command::new(test_python(None))
        .args(["-c", script])
        .output()
        .expect("running python3 (scripts/test installs kafka-python)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Asks `done` every `every` until it holds or `limit` has passed; whether it held. The one
/// deadline loop of the harness: callers fail with what they waited for.
pub fn within(limit: Duration, every: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Held by the tests that start JVMs of their own beside the shared broker (a three-broker
/// cluster, PySpark): one such test at a time, so that on two cores a cluster's heartbeats
/// are not starved by a SparkSession (brokers fenced for missed heartbeats are not the fault
/// a test injects).
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A seed for a test's random moments (`$SLUICE_TEST_SEED`, else the clock),
/// printed with `what` so a failure can be run again with the same moments,
/// and a xorshift sequence from it.
pub fn seed(what: &str) -> (u64, impl FnMut() -> u64) {
    let seed = std::env::var("SLUICE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("{what}: seed {seed} (SLUICE_TEST_SEED={seed} repeats its random moments)");
    let mut state = seed;
    let next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (seed, next)
}

/// Starts `host ARGS` (with `SLUICE_LOG=info`) `kills` times; each time, once
/// `working()` has grown past what it was at the start (the run did work),
/// kills it with SIGKILL at a random moment up to 1.5 s later (drawn from a
/// [`seed`] printed as `what`), then calls `after(kill)`. Returns each killed run.
pub fn kill_repeatedly(
    args: &[&str],
    kills: usize,
    what: &str,
    working: impl Fn() -> i64,
    mut after: impl FnMut(usize),
    limit: Duration,
) -> Vec<Run> {
    let (_, mut random) = seed(what);
    (0..kills)
        .map(|kill| {
            let before = working();
            let host = spawn_host(args, &[("SLUICE_LOG", "info")]);
            host.wait_for("the run's first work", limit, |_| working() > before);
            std::thread::sleep(Duration::from_millis(random() % 1500));
            host.signal("KILL");
            let killed = host.wait(limit);
            assert_eq!(killed.code, -9, "kill {kill}: {}", killed.stderr);
            after(kill);
            killed
        })
        .collect()
}

/// Writes `text` to `path` beside it and renames it into place, as editors
/// and Kubernetes ConfigMaps do (a watcher never sees half a file).
pub fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The componentize-js that scripts/test installs into target/js (it builds
/// the JavaScript plugins of the tests).
pub fn componentize_js() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/js/node_modules/.bin/componentize-js"
    ))
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
        "reads_clock" => env!("GUEST_READS_CLOCK"),
        "opens_socket" => env!("GUEST_OPENS_SOCKET"),
        "slow" => env!("GUEST_SLOW"),
        "not_a_plugin" => env!("GUEST_NOT_A_PLUGIN"),
        "router" => env!("GUEST_ROUTER"),
        "old_contract" => env!("GUEST_OLD_CONTRACT"),
        "trapping_counter" => env!("GUEST_TRAPPING_COUNTER"),
        other => panic!("no test guest {other:?}"),
    }
}

/// Reads the first `n` bytes a child prints, then closes its stdout, as a
/// reader such as `head` does; returns them.
pub fn read_then_close_stdout(child: &mut Child, n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut first = vec![0u8; n];
    child
        .stdout
        .as_mut()
        .expect("stdout piped")
        .read_exact(&mut first)
        .expect("the first bytes of stdout");
    drop(child.stdout.take());
    first
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

/// The consumer group a `host run ARGS` joins (`--group`, else the default
/// `sluice-<first plugin>`), when it runs against the run's shared broker.
fn shared_group(args: &[&str]) -> Option<String> {
    let value = |flag: &str| {
        args.iter()
            .position(|a| *a == flag)
            .and_then(|i| args.get(i + 1))
            .copied()
    };
    if args.first() != Some(&"run") || !value("--brokers").is_some_and(broker::is_shared) {
        return None;
    }
    if let Some(group) = value("--group") {
        return Some(group.to_string());
    }
    let plugin = args
        .windows(2)
        .find(|w| w[0] == "-p" || w[0] == "--plugin")
        .map(|w| {
            Path::new(w[1])
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        });
    Some(format!(
        "sluice-{}",
        plugin.as_deref().unwrap_or("passthrough")
    ))
}

/// Fails the test when another test already ran a host in the same group on
/// the shared broker: members of one group in two tests would rebalance each
/// other (and a killed one would hold up the other's joins for a session).
fn claim_group(args: &[&str]) {
    static OWNERS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let (Some(group), Some(test)) = (
        shared_group(args),
        std::thread::current().name().map(String::from),
    ) else {
        return;
    };
    let other = {
        let mut owners = OWNERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match owners.iter().find(|(g, _)| *g == group) {
            Some((_, owner)) => Some(owner.clone()).filter(|o| *o != test),
            None => {
                owners.push((group.clone(), test));
                None
            }
        }
    };
    if let Some(owner) = other {
        panic!(
            "consumer group {group:?} is used by the test {owner} too: the tests share one \
             broker, so give this one a --group of its own"
        );
    }
}

/// Runs `host ARGS` with `stdin`, a shared compile cache, and the given
/// extra environment; waits for it to finish.
pub fn host_with_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    claim_group(args);
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

/// Runs `host ARGS` and kills it if it has not finished after `limit`.
pub fn host_bounded(args: &[&str], limit: Duration) -> Run {
    spawn_host(args, &[]).wait(limit)
}

/// A process (usually `host`) running in the background; killed when dropped.
pub struct Spawned {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Starts `host ARGS` with the shared compile cache and `env`, stdin closed,
/// collecting its output as it comes.
pub fn spawn_host(args: &[&str], env: &[(&str, &str)]) -> Spawned {
    claim_group(args);
    let mut cmd = Command::new(host_bin());
    cmd.args(args)
        .env("SLUICE_CACHE_DIR", cache_dir())
        .env_remove("SLUICE_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn(cmd)
}

/// Starts `cmd` with stdin closed, collecting its output as it comes.
pub fn spawn(mut cmd: Command) -> Spawned {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starting a process");
    let collect = |mut from: Box<dyn Read + Send>| {
        let into = Arc::new(Mutex::new(Vec::new()));
        let sink = into.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        (into, reader)
    };
    let (stdout, out_reader) = collect(Box::new(child.stdout.take().expect("stdout")));
    let (stderr, err_reader) = collect(Box::new(child.stderr.take().expect("stderr")));
    Spawned {
        child,
        stdout,
        stderr,
        readers: vec![out_reader, err_reader],
    }
}

impl Spawned {
    /// What it printed to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// What it printed to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The partitions of the last "assigned partitions: …" line it logged
    /// (with `SLUICE_LOG=info`): what it owns now.
    pub fn assigned(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter_map(|l| l.split("assigned partitions: ").nth(1))
            .next_back()
            .map(|l| l.split(", ").map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Waits up to `limit` for `done`; panics naming `what` (with stderr) if it never holds.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Spawned) -> bool) {
        assert!(
            within(limit, Duration::from_millis(50), || done(self)),
            "{what}: not within {limit:?}; stderr:\n{}",
            self.stderr()
        );
    }

    /// Whether it has exited (without waiting).
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().expect("polling host").is_some()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits for it to exit, killing it after `limit`.
    pub fn wait(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling host") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                break self.child.wait().expect("waiting for host");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in std::mem::take(&mut self.readers) {
            r.join().expect("output reader");
        }
        Run {
            code: status.code().unwrap_or(-9),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
