//! Helpers for Sluice's integration tests: the real `host` binary, the
//! plugins it bundles (as files), and the hostile test guests.

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
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

/// Starts `host ARGS` (with `SLUICE_LOG=info`) `kills` times, each time
/// waiting until it owns partitions of `topic`, then killing it with
/// SIGKILL at a random moment `first_ms` to `first_ms + 1500` ms later
/// (a fixed xorshift sequence from `seed`). Returns each killed run.
pub fn kill_repeatedly(
    args: &[&str],
    topic: &str,
    kills: usize,
    (seed, first_ms): (u64, u64),
    limit: Duration,
) -> Vec<Run> {
    let mut seed = seed;
    let assigned = format!("assigned partitions: {topic}[");
    (0..kills)
        .map(|kill| {
            let host = spawn_host(args, &[("SLUICE_LOG", "info")]);
            host.wait_for("partitions assigned", limit, |h| {
                h.stderr().contains(&assigned)
            });
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(first_ms + seed % 1500));
            host.signal("KILL");
            let killed = host.wait(limit);
            assert_eq!(killed.code, -9, "kill {kill}: {}", killed.stderr);
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

    /// Waits up to `limit` for `done`; panics naming `what` (with stderr) if it never holds.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Spawned) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
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

/// A Kafka record as the tests produce and read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Partition: where to produce (`None`: the partitioner decides), where it was read.
    pub partition: Option<i32>,
    /// Offset it was read at.
    pub offset: i64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<i64>,
}

impl Record {
    /// A record with this key and value.
    pub fn new(key: &str, value: &[u8]) -> Record {
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.to_vec()),
            ..Default::default()
        }
    }

    /// The value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The key, as text.
    pub fn key_str(&self) -> String {
        String::from_utf8_lossy(self.key.as_deref().unwrap_or_default()).into_owned()
    }
}

/// A real Kafka-protocol broker (tansu, in-memory storage) on a free
/// loopback port, stopped when dropped.
pub struct Broker {
    child: Option<Child>,
    storage: String,
    dir: PathBuf,
    /// `127.0.0.1:PORT`, for `--brokers`.
    pub addr: String,
}

impl Broker {
    /// Starts tansu with in-memory storage and waits until it accepts connections.
    pub fn start() -> Broker {
        Broker::start_with("memory://tansu/", &std::env::temp_dir())
    }

    /// Starts tansu storing its data in SQLite under `dir`, which survives
    /// [`Broker::restart`].
    pub fn start_persistent(dir: &std::path::Path) -> Broker {
        Broker::start_with("sqlite://tansu.db", dir)
    }

    /// Starts tansu with `storage` (relative paths in it are under `dir`).
    fn start_with(storage: &str, dir: &std::path::Path) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut broker = Broker {
            child: None,
            addr: format!("127.0.0.1:{port}"),
            storage: storage.to_string(),
            dir: dir.to_path_buf(),
        };
        broker.restart();
        broker
    }

    /// Stops the broker (SIGKILL), as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same address and storage.
    pub fn restart(&mut self) {
        self.stop();
        let url = format!("tcp://{}", self.addr);
        let child = Command::new("tansu")
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", &self.storage])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu: install it with `cargo install tansu --locked --features dynostore,libsql` (scripts/test does)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {} within 30 s",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A handle on a broker someone else started (not stopped when dropped).
    pub fn attach(addr: &str) -> Broker {
        Broker {
            child: None,
            addr: addr.to_string(),
            storage: String::new(),
            dir: PathBuf::new(),
        }
    }

    /// Creates a topic with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.topic_command(&["create", name, "--partitions", &partitions.to_string()]);
    }

    /// Deletes a topic, as an operator would with `kafka-topics --delete`.
    pub fn delete_topic(&self, name: &str) {
        self.topic_command(&["delete", name]);
    }

    fn topic_command(&self, args: &[&str]) {
        let status = Command::new("tansu")
            .arg("topic")
            .args(args)
            .args(["--broker", &format!("tcp://{}", self.addr)])
            .stdout(Stdio::null())
            .status()
            .expect("running tansu topic");
        assert!(status.success(), "tansu topic {} failed", args.join(" "));
    }

    /// Produces `records` to `topic` and waits until all are acknowledged.
    /// Each record is its own batch: tansu 0.6 answers ListOffsets(latest)
    /// with the last batch's base offset + 1, which is the true end offset
    /// only then (Kafka and Redpanda answer it right either way).
    pub fn produce(&self, topic: &str, records: &[Record]) {
        self.produce_with(topic, records, &[]);
    }

    /// [`Broker::produce`] in large batches (fast; tansu's end offsets are then approximate).
    pub fn produce_fast(&self, topic: &str, records: &[Record]) {
        self.produce_with(
            topic,
            records,
            &[("linger.ms", "20"), ("batch.num.messages", "10000")],
        );
    }

    /// [`Broker::produce`] for records up to 32 MiB.
    pub fn produce_large(&self, topic: &str, records: &[Record]) {
        self.produce_with(topic, records, &[("message.max.bytes", "33554432")]);
    }

    fn produce_with(&self, topic: &str, records: &[Record], config: &[(&str, &str)]) {
        let mut client = rdkafka::ClientConfig::new();
        client
            .set("bootstrap.servers", &self.addr)
            .set("linger.ms", "0")
            .set("batch.num.messages", "1");
        for (k, v) in config {
            client.set(*k, *v);
        }
        let producer: BaseProducer = client.create().expect("a producer");
        for r in records {
            let mut headers = OwnedHeaders::new();
            for (key, value) in &r.headers {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            let mut record = BaseRecord::<[u8], [u8]>::to(topic).headers(headers);
            if let Some(key) = &r.key {
                record = record.key(key);
            }
            if let Some(value) = &r.value {
                record = record.payload(value);
            }
            if let Some(p) = r.partition {
                record = record.partition(p);
            }
            if let Some(ts) = r.timestamp {
                record = record.timestamp(ts);
            }
            producer
                .send(record)
                .map_err(|(e, _)| e)
                .expect("producing");
            producer.poll(Duration::ZERO);
        }
        producer
            .flush(Duration::from_secs(30))
            .expect("records acknowledged");
    }

    /// A consumer (no group commits) assigned every partition of `topic` from the beginning.
    pub fn reader(&self, topic: &str) -> BaseConsumer {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("group.id", "sluice-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in metadata.topics()[0].partitions() {
            tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning)
                .expect("a partition");
        }
        consumer.assign(&tpl).expect("assigning");
        consumer
    }

    /// Every record of `topic` (all partitions, from the beginning): reads
    /// until at least `expect` came and then one second passes with no more,
    /// or until `limit`.
    pub fn read(&self, topic: &str, expect: usize, limit: Duration) -> Vec<Record> {
        let consumer = self.reader(topic);
        let deadline = Instant::now() + limit;
        let mut quiet_since = Instant::now();
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(m) => {
                    let m = m.expect("reading");
                    out.push(Record {
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers: m
                            .headers()
                            .map(|h| {
                                h.iter()
                                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        partition: Some(m.partition()),
                        offset: m.offset(),
                        timestamp: m.timestamp().to_millis(),
                    });
                    quiet_since = Instant::now();
                }
                None if out.len() >= expect && quiet_since.elapsed() > Duration::from_secs(1) => {
                    break;
                }
                None => {}
            }
        }
        out.sort_by_key(|r| (r.partition, r.offset));
        out
    }

    /// The distinct keys of what [`Broker::read`] reads: whether every record
    /// reached a topic, whatever was repeated.
    pub fn read_keys(
        &self,
        topic: &str,
        expect: usize,
        limit: Duration,
    ) -> std::collections::BTreeSet<String> {
        self.read(topic, expect, limit)
            .iter()
            .map(Record::key_str)
            .collect()
    }

    /// The committed offsets of `group` on `topic`'s partitions, added up
    /// (the records consumed when every partition starts at offset 0).
    pub fn committed_total(&self, group: &str, topic: &str, partitions: i32) -> i64 {
        self.offsets(group, topic, partitions)
            .iter()
            .map(|(c, _)| c.unwrap_or(0))
            .sum()
    }

    /// (committed offset of `group`, end offset) for each partition of `topic`.
    pub fn offsets(&self, group: &str, topic: &str, partitions: i32) -> Vec<(Option<i64>, i64)> {
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
        self.stop();
    }
}

/// `n` stock ticks as the tutorial's producer writes them, keyed `{prefix}{i}`,
/// priced `price(i)` (JSON number text).
pub fn priced_ticks(prefix: &str, n: usize, price: impl Fn(usize) -> String) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let value = format!(
                r#"{{"event_time":"2026-11-29T06:00:00","ticker":"T","price":{}}}"#,
                price(i)
            );
            Record::new(&format!("{prefix}{i}"), value.as_bytes())
        })
        .collect()
}
