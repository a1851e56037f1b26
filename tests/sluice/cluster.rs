//! A pipeline on a three-broker Kafka (replication factor 3, `min.insync.replicas=2`) rides
//! out what happens to clusters: the leader of the partitions it reads and writes killed and
//! brought back, and a rolling restart of every broker, all under load. Nothing is lost, the
//! host never exits, and the test prints how long the pipeline stalled.

use crate::kafka::{keyed_ticks, to_kafka_args};
use sluice_tests::{Broker, Spawned, seed, spawn_host};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(180);
const TOPICS: [&str; 2] = ["cl-in", "cl-out"];

/// A producer thread sending 500 keyed ticks every 100 ms until stopped; its count.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl Load {
    fn start(addr: &str) -> Load {
        let (stop, sent) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let thread = {
            let (addr, stop, sent) = (addr.to_string(), stop.clone(), sent.clone());
            std::thread::spawn(move || {
                let broker = Broker::attach(&addr);
                while !stop.load(Ordering::Relaxed) {
                    let from = sent.load(Ordering::Relaxed);
                    broker.produce("cl-in", &keyed_ticks(from + 500, 0)[from..]);
                    sent.store(from + 500, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Load { stop, sent, thread }
    }

    fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the load thread");
        self.sent.load(Ordering::Relaxed)
    }
}

/// Samples the group's committed offset of each input partition every 100 ms; the longest
/// time one of them stood still with records after it is the pipeline's stall.
struct StallWatch {
    stop: Arc<AtomicBool>,
    longest: Arc<Mutex<Duration>>,
    thread: std::thread::JoinHandle<()>,
}

impl StallWatch {
    fn start(addr: &str) -> StallWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let longest: Arc<Mutex<Duration>> = Arc::default();
        let thread = {
            let (addr, stop, longest) = (addr.to_string(), stop.clone(), Arc::clone(&longest));
            std::thread::spawn(move || {
                let broker = Broker::attach(&addr);
                let mut last = [(None, Instant::now()); 3];
                while !stop.load(Ordering::Relaxed) {
                    // No answer (no leader yet) is no progress.
                    let offsets = broker.try_offsets("cl", "cl-in", 3).unwrap_or_default();
                    for (p, (committed, end)) in offsets.into_iter().enumerate() {
                        let (seen, since) = &mut last[p];
                        if *seen != committed || committed.unwrap_or(0) >= end {
                            (*seen, *since) = (committed, Instant::now());
                        }
                    }
                    let mut l = longest.lock().unwrap();
                    *l = last
                        .iter()
                        .map(|(_, since)| since.elapsed())
                        .fold(*l, Duration::max);
                    drop(l);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        StallWatch {
            stop,
            longest,
            thread,
        }
    }

    fn finish(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the stall watcher");
        *self.longest.lock().unwrap()
    }
}

/// Waits until the host has committed `more` records past what it had.
fn progress(host: &Spawned, broker: &Broker, more: i64, what: &str) {
    let from = broker.committed_total("cl", "cl-in", 3);
    host.wait_for(what, LIMIT, |_| {
        broker.committed_total("cl", "cl-in", 3) >= from + more
    });
}

#[test]
fn a_leader_killed_and_a_rolling_restart_of_three_brokers_lose_nothing() {
    let _heavy = sluice_tests::heavy();
    let mut broker = Broker::start_own(3);
    for t in TOPICS {
        broker.create_topic(t, 3);
    }
    let (seed, mut next) = seed("cluster");
    let load = Load::start(&broker.addr);
    let chain = ["-p", "parse_stock", "-p", "schema_filter"];
    let flags = [
        "--config",
        "schema_filter.where=price > 50",
        "--group",
        "cl",
    ];
    let args = to_kafka_args(&broker, &chain, "cl-in", "cl-out", &flags);
    let mut host = spawn_host(&args, &[("SLUICE_LOG", "info")]);
    progress(&host, &broker, 5_000, "the pipeline under way");
    let stalls = StallWatch::start(&broker.addr);

    // The leader of the partition it reads first (and, with three brokers and three
    // partitions, of some of the partitions it writes): SIGKILL, a while, then back.
    let leader = broker.leader("cl-in", 0);
    let node = broker.cluster().index_of(leader);
    std::thread::sleep(Duration::from_millis(next() % 2000));
    eprintln!("seed {seed}: SIGKILL broker {leader}, the leader of cl-in[0]");
    broker.cluster().kill(node);
    progress(
        &host,
        &broker,
        5_000,
        "the pipeline going on without the killed leader",
    );
    assert!(
        !host.exited(),
        "the host rode out the leader's death:\n{}",
        host.stderr()
    );
    broker.cluster().restart(node);
    broker.await_in_sync(&TOPICS, LIMIT);
    progress(
        &host,
        &broker,
        5_000,
        "the pipeline going on after the leader came back",
    );

    // A rolling restart: each broker stopped (controlled shutdown) and started again,
    // the next one only once every replica is back in sync, at a random moment under load.
    for node in 0..broker.cluster().len() {
        std::thread::sleep(Duration::from_millis(next() % 1500));
        eprintln!("rolling restart: broker {}", broker.cluster().node_id(node));
        broker.cluster().stop(node);
        broker.cluster().restart(node);
        broker.await_in_sync(&TOPICS, LIMIT);
        assert!(
            !host.exited(),
            "the host rode out the restart:\n{}",
            host.stderr()
        );
    }
    progress(
        &host,
        &broker,
        5_000,
        "the pipeline going on after the rolling restart",
    );

    let sent = load.finish();
    host.wait_for("every record committed", LIMIT, |_| {
        broker.committed_total("cl", "cl-in", 3) == sent as i64
    });
    let stalled = stalls.finish();
    assert!(!host.exited(), "the host never exited:\n{}", host.stderr());
    host.signal("TERM");
    let run = host.wait(LIMIT);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Every tick priced above 50 (`price` is i % 100 + 0.5) is in the output topic.
    let want: BTreeSet<String> = (0..sent)
        .filter(|i| i % 100 >= 50)
        .map(|i| format!("k{i}"))
        .collect();
    let got = broker.read_keys("cl-out", want.len(), LIMIT);
    assert_eq!(
        got.len(),
        want.len(),
        "as many distinct outputs as expected"
    );
    assert_eq!(got, want, "every expected output, nothing else");
    eprintln!(
        "{sent} records through a leader's SIGKILL and a rolling restart of 3 brokers; the \
         pipeline stalled at most {stalled:?} (the longest an input partition's committed \
         offset stood still with records after it)"
    );
}
