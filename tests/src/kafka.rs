//! The test broker: Apache Kafka 4.4 in KRaft mode, run from the jars that
//! scripts/test resolves from Maven Central (`tests/kafka/pom.xml` into
//! `target/kafka/libs`), with the machine's Java.
//!
//! A [`Cluster`] is one to three combined broker+controller nodes on free
//! loopback ports, each formatted into its own storage directory
//! (`kafka.tools.StorageTool format`, a static quorum) and started as
//! `kafka.Kafka` with a config written here. Each JVM runs under a small
//! `sh` that holds a pipe from this process: when the test binary exits,
//! however it exits, the pipe closes and the `sh` kills its broker and removes
//! its data, so no broker outlives the tests that started it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// The id every test cluster is formatted with (Kafka's base64 UUID form):
/// clusters are told apart by their ports and directories, not by this.
const CLUSTER_ID: &str = "duQlxJoTSi6Mz3ZhGgakhQ";

/// How long a node may take to format and answer (a cold JVM on 2 busy cores).
const START_LIMIT: Duration = Duration::from_secs(90);

/// The jars of Kafka 4.4 (`$SLUICE_KAFKA_LIBS`, else `target/kafka/libs`).
pub fn kafka_libs() -> PathBuf {
    std::env::var_os("SLUICE_KAFKA_LIBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/kafka/libs"))
        })
}

/// The `java -cp` class path of Kafka's jars, checked to be there.
pub fn kafka_class_path() -> String {
    let libs = kafka_libs();
    assert!(
        libs.join("kafka_2.13-4.4.0.jar").exists(),
        "Kafka 4.4's jars are missing from {}: resolve them with \
         `mvn -q -f tests/kafka/pom.xml dependency:copy-dependencies` (scripts/test does)",
        libs.display()
    );
    format!("{}/*", libs.display())
}

/// A free TCP port on 127.0.0.1 (free when asked; the broker binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One Kafka node (broker and controller in one JVM).
struct Node {
    id: usize,
    port: u16,
    config: PathBuf,
    log: PathBuf,
    running: Option<Jvm>,
}

/// A running `kafka.Kafka` JVM and the `sh` that kills it when we go.
struct Jvm {
    pid: u32,
    guard: Child,
    /// Held open: its end of file tells the guard to kill the JVM.
    _lifeline: ChildStdin,
}

/// Kafka brokers on loopback, stopped (and their data removed) when dropped.
pub struct Cluster {
    nodes: Vec<Node>,
    dir: PathBuf,
    /// `127.0.0.1:PORT,…` of every node, for `--brokers`.
    pub bootstrap: String,
}

impl Cluster {
    /// Formats and starts `nodes` nodes (1 to 3), replicating internal topics
    /// and new topics `nodes` times with `min.insync.replicas` of
    /// `min(2, nodes)`, and waits until every node is in the cluster's metadata.
    pub fn start(nodes: usize) -> Cluster {
        assert!((1..=3).contains(&nodes), "1 to 3 nodes, not {nodes}");
        let class_path = kafka_class_path();
        let dir = tempfile::Builder::new()
            .prefix("sluice-kafka-")
            .tempdir()
            .expect("a directory for the test broker")
            .keep();
        let ports: Vec<(u16, u16)> = (0..nodes).map(|_| (free_port(), free_port())).collect();
        let voters: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, controller))| format!("{}@127.0.0.1:{controller}", i + 1))
            .collect();
        let isr = nodes.min(2);
        let mut cluster = Cluster {
            bootstrap: ports
                .iter()
                .map(|(p, _)| format!("127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(","),
            nodes: Vec::new(),
            dir: dir.clone(),
        };
        for (i, (port, controller)) in ports.iter().enumerate() {
            let id = i + 1;
            let node_dir = dir.join(format!("node{id}"));
            std::fs::create_dir_all(&node_dir).unwrap();
            let config = node_dir.join("server.properties");
            let text = format!(
                "process.roles=broker,controller\n\
                 node.id={id}\n\
                 controller.quorum.voters={voters}\n\
                 listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
                 advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
                 controller.listener.names=CONTROLLER\n\
                 inter.broker.listener.name=PLAINTEXT\n\
                 listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
                 log.dirs={data}\n\
                 {template}\
                 default.replication.factor={nodes}\n\
                 min.insync.replicas={isr}\n\
                 offsets.topic.replication.factor={nodes}\n\
                 transaction.state.log.replication.factor={nodes}\n\
                 transaction.state.log.min.isr={isr}\n\
                 share.coordinator.state.topic.replication.factor={nodes}\n\
                 share.coordinator.state.topic.min.isr={isr}\n",
                voters = voters.join(","),
                data = node_dir.join("data").display(),
                template = include_str!("../kafka/server.properties"),
            );
            std::fs::write(&config, text).unwrap();
            let log = node_dir.join("server.log");
            format_storage(&class_path, &config, &log);
            cluster.nodes.push(Node {
                id,
                port: *port,
                config,
                log,
                running: None,
            });
        }
        for node in 0..nodes {
            cluster.spawn_node(node);
        }
        cluster.await_nodes(nodes);
        cluster
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no node (never: [`Cluster::start`] wants one).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s broker id (`node.id`, 1-based), as metadata names leaders.
    pub fn node_id(&self, i: usize) -> i32 {
        self.nodes[i].id as i32
    }

    /// Node `i`'s index, from its broker id.
    pub fn index_of(&self, id: i32) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id as i32 == id)
            .unwrap_or_else(|| panic!("no node with id {id}"))
    }

    /// Kills node `i` with SIGKILL, as a crash would; its data stays.
    pub fn kill(&mut self, i: usize) {
        self.signal(i, "KILL");
    }

    /// Stops node `i` with SIGTERM (a controlled shutdown: leaders move first)
    /// and waits until it has exited.
    pub fn stop(&mut self, i: usize) {
        self.signal(i, "TERM");
    }

    /// Starts node `i` again (same ports, same data) and waits until it is
    /// back in the cluster's metadata.
    pub fn restart(&mut self, i: usize) {
        self.signal(i, "KILL");
        self.spawn_node(i);
        self.await_nodes(self.nodes.len());
    }

    fn signal(&mut self, i: usize, signal: &str) {
        let Some(mut jvm) = self.nodes[i].running.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-s", signal, &jvm.pid.to_string()])
            .status();
        // The guard exits once its JVM has (it waits for it after our signal); a JVM that
        // has not stopped within a minute of a SIGTERM is killed.
        let exited = crate::within(Duration::from_secs(60), Duration::from_millis(20), || {
            jvm.guard.try_wait().ok().flatten().is_some()
        });
        if !exited {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &jvm.pid.to_string()])
                .status();
            let _ = jvm.guard.wait();
        }
    }

    fn spawn_node(&mut self, i: usize) {
        let node = &self.nodes[i];
        // The guard starts the JVM, prints its pid, waits for its stdin to
        // close (we exit or drop it) and then kills the JVM; it also exits
        // when the JVM does, whichever comes first.
        // (An asynchronous list's stdin is /dev/null, hence the pipe on fd 3.)
        let script = r#"
            exec 3<&0
            java "$@" >>"$SLUICE_KAFKA_LOG.out" 2>&1 </dev/null &
            jvm=$!
            echo "$jvm"
            ( read -r _ <&3; kill -9 "$jvm" 2>/dev/null; rm -rf "$SLUICE_KAFKA_NODE_DIR"; rmdir "${SLUICE_KAFKA_NODE_DIR%/*}" 2>/dev/null ) &
            watcher=$!
            exec 3<&-
            wait "$jvm"
            kill "$watcher" 2>/dev/null
        "#;
        let mut guard = Command::new("sh")
            .args(["-c", script, "sh"])
            .args([
                "-Xms128m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
            ])
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                concat!(env!("CARGO_MANIFEST_DIR"), "/kafka/log4j2.properties")
            ))
            .arg(format!("-Dsluice.kafka.log={}", node.log.display()))
            .args(["-cp", &kafka_class_path(), "kafka.Kafka"])
            .arg(&node.config)
            .env("SLUICE_KAFKA_LOG", &node.log)
            .env("SLUICE_KAFKA_NODE_DIR", node.log.parent().unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting java (OpenJDK 17 runs the test broker: apt-get install openjdk-17-jre-headless)");
        let mut line = String::new();
        BufReader::new(guard.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the broker's pid");
        let pid = line.trim().parse().expect("the broker's pid");
        let lifeline = guard.stdin.take().unwrap();
        self.nodes[i].running = Some(Jvm {
            pid,
            guard,
            _lifeline: lifeline,
        });
    }

    /// Waits until `count` brokers are in the metadata that node 1 (or any
    /// running node) answers.
    fn await_nodes(&mut self, count: usize) {
        let up = crate::within(START_LIMIT, Duration::from_millis(200), || {
            for i in 0..self.nodes.len() {
                if let Some(jvm) = &mut self.nodes[i].running
                    && let Ok(Some(status)) = jvm.guard.try_wait()
                {
                    panic!(
                        "Kafka node {} exited ({status}) while starting; its log ends:\n{}",
                        self.nodes[i].id,
                        self.log_tail(i)
                    );
                }
            }
            self.brokers_in_metadata() >= count
        });
        assert!(
            up,
            "Kafka ({} nodes at {}) was not up within {START_LIMIT:?}; node 1's log ends:\n{}",
            self.nodes.len(),
            self.bootstrap,
            self.log_tail(0)
        );
    }

    fn brokers_in_metadata(&self) -> usize {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let running: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.running.is_some())
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let Ok(client) = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", running.join(","))
            .set("log_level", "0")
            .create::<BaseConsumer>()
        else {
            return 0;
        };
        client
            .fetch_metadata(None, Duration::from_secs(2))
            .map(|m| m.brokers().len())
            .unwrap_or(0)
    }

    /// The last lines of node `i`'s log (for failure messages).
    pub fn log_tail(&self, i: usize) -> String {
        let node = &self.nodes[i];
        let mut text = String::new();
        for path in [node.log.clone(), with_suffix(&node.log, ".out")] {
            let body = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = body.lines().collect();
            let from = lines.len().saturating_sub(30);
            text.push_str(&lines[from..].join("\n"));
            text.push('\n');
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `kafka-storage.sh format` for one node of a static quorum.
fn format_storage(class_path: &str, config: &Path, log: &Path) {
    let out = Command::new("java")
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/kafka/log4j2.properties")
        ))
        .arg(format!("-Dsluice.kafka.log={}", log.display()))
        .args(["-cp", class_path, "kafka.tools.StorageTool", "format"])
        .args(["--cluster-id", CLUSTER_ID, "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .expect("running java (OpenJDK 17 runs the test broker: apt-get install openjdk-17-jre-headless)");
    assert!(
        out.status.success(),
        "formatting Kafka's storage ({}) failed: {}{}",
        config.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
