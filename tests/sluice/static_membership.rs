//! Static membership (`--instance-id`, Kafka's `group.instance.id`) on a real Kafka: a member
//! killed and restarted under load takes its own partitions back and goes on, and the other
//! members of the group never see a rebalance.

use crate::kafka::{keyed_ticks_in, parse_stock_to_kafka_args};
use sluice_tests::audit::SteadyLoad;
use sluice_tests::{Broker, Spawned, seed, spawn_host};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

/// How many times a host's partitions were assigned or revoked: one assignment is a host that
/// never saw a rebalance after it joined.
fn rebalances(host: &Spawned) -> usize {
    host.stderr()
        .lines()
        .filter(|l| l.contains("assigned partitions: ") || l.contains("revoked partitions: "))
        .count()
}

/// The committed offset of `group` on each of `partitions` (`topic[N]` names).
fn committed(broker: &Broker, group: &str, topic: &str, partitions: &[String]) -> Vec<i64> {
    let all = broker.offsets(group, topic, 6);
    partitions
        .iter()
        .map(|p| {
            let n: usize = p
                .trim_start_matches(topic)
                .trim_matches(|c| c == '[' || c == ']')
                .parse()
                .expect("a partition number");
            all[n].0.unwrap_or(0)
        })
        .collect()
}

#[test]
fn three_static_members_one_killed_and_restarted_takes_its_partitions_back_and_no_one_rebalances() {
    let broker = Broker::start();
    broker.create_topic("sm-in", 6);
    broker.create_topic("sm-out", 1);
    let (seed, mut next) = seed("static membership");
    // A steady load, 100 keyed ticks every 100 ms, until the test has seen what it needs.
    let load = SteadyLoad::start(&broker, "sm-in", Duration::from_millis(100), |next| {
        keyed_ticks_in(next..next + 100, 0)
    });
    let member = |id: &str| {
        // A session longer than the test's deadline: only static membership can give a
        // restarted member its partitions back in time (a dynamic one waits out the session).
        let flags = [
            "--group",
            "sm",
            "--instance-id",
            id,
            "-X",
            "session.timeout.ms=300000",
        ];
        let args = parse_stock_to_kafka_args(&broker, "sm-in", "sm-out", &flags);
        spawn_host(&args, &[("SLUICE_LOG", "info")])
    };
    let (a, b) = (member("a"), member("b"));
    let mut c = member("c");
    let members = |c: &Spawned| [a.assigned(), b.assigned(), c.assigned()];
    c.wait_for("the three members split the six partitions", LIMIT, |c| {
        let all: BTreeSet<String> = members(c).concat().into_iter().collect();
        members(c).iter().all(|m| m.len() == 2) && all.len() == 6
    });
    let before = (rebalances(&a), rebalances(&b));
    let c_owns = c.assigned();

    // SIGKILL c at a random moment under load, then start it again with the same id.
    std::thread::sleep(Duration::from_millis(500 + next() % 2000));
    c.signal("KILL");
    drop(c);
    let at_kill = committed(&broker, "sm", "sm-in", &c_owns);
    let restarted = Instant::now();
    c = member("c");
    c.wait_for(
        "the restarted member owns its partitions and commits past the kill",
        LIMIT,
        |c| {
            c.assigned() == c_owns
                && committed(&broker, "sm", "sm-in", &c_owns)
                    .iter()
                    .zip(&at_kill)
                    .all(|(now, then)| now > then)
        },
    );
    eprintln!(
        "seed {seed}: the restarted member had its partitions {c_owns:?} back and processed \
         records after {:?}",
        restarted.elapsed()
    );

    let sent = load.finish();
    c.wait_for("every record committed", LIMIT, |_| {
        broker.committed_total("sm", "sm-in", 6) == sent as i64
    });
    let after = (rebalances(&a), rebalances(&b));
    assert_eq!(
        after, before,
        "a and b saw no rebalance while c was killed and restarted (assignments and revocations \
         logged before and after)"
    );
    for host in [a, b, c] {
        host.signal("TERM");
        let run = host.wait(LIMIT);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let keys = broker.read_keys("sm-out", sent, LIMIT);
    let want: BTreeSet<String> = (0..sent).map(|i| format!("k{i}")).collect();
    assert_eq!(keys, want, "every record reached the output");
}
