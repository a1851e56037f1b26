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

/// Runs `host ARGS` and kills it if it has not finished after `limit`.
pub fn host_bounded(args: &[&str], limit: std::time::Duration) -> Run {
    let mut child = Command::new(host_bin())
        .args(args)
        .env("SLUICE_CACHE_DIR", cache_dir())
        .env_remove("SLUICE_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting host");
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let status = child.wait().expect("waiting for host");
    let _ = done_tx.send(());
    watchdog.join().expect("watchdog");
    Run {
        code: status.code().unwrap_or(-9),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A real Kafka-protocol broker (tansu, in-memory storage) on a free
/// loopback port, stopped when dropped.
pub struct Broker {
    child: std::process::Child,
    /// `127.0.0.1:PORT`, for `--brokers`.
    pub addr: String,
}

impl Broker {
    /// Starts tansu and waits until it accepts connections.
    pub fn start() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new("tansu")
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu: install it with `cargo install tansu --locked --features dynostore,libsql` (scripts/test does)");
        let addr = format!("127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "tansu did not listen on {addr} within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Broker { child, addr }
    }

    /// Creates a topic with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let status = Command::new("tansu")
            .args([
                "topic",
                "create",
                name,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://{}", self.addr)])
            .stdout(Stdio::null())
            .status()
            .expect("running tansu topic create");
        assert!(status.success(), "tansu topic create {name} failed");
    }

    /// (committed offset of `group`, end offset) for each partition of `topic`.
    pub fn offsets(&self, group: &str, topic: &str, partitions: i32) -> Vec<(Option<i64>, i64)> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("group.id", group)
            .create()
            .expect("a consumer");
        let timeout = std::time::Duration::from_secs(10);
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(tpl, timeout)
            .expect("committed offsets");
        (0..partitions)
            .map(|p| {
                let offset = committed
                    .find_partition(topic, p)
                    .and_then(|e| e.offset().to_raw())
                    .filter(|o| *o >= 0);
                let (_, high) = consumer
                    .fetch_watermarks(topic, p, timeout)
                    .expect("watermarks");
                (offset, high)
            })
            .collect()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
