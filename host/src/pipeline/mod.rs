//! The streaming pipeline behind `host run` and `host demo`: one thread
//! reads Kafka and hands each worker the batches of the partitions it owns;
//! each worker runs its own instances of the plugin chain and routes every
//! outcome (the sink, a plugin-chosen topic, the dead-letter topic); offsets
//! are committed as the [`Tracker`] sees outputs acknowledged.
//!
//! - here: read → lanes (workers) → chain → router → commit, and shutdown.
//! - `router`: where each outcome of a batch goes (sink, topic, dead letters).
//! - `available_now`: the end offsets `--available-now` runs to.

mod available_now;
mod router;

pub use router::{OnError, Output, Router};

use crate::offsets::{Ticket, Tracker};
use crate::plugin::Chain;
use crate::sink::console::ClosedStdout;
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::{KafkaSource, SourceBatch};
use anyhow::{Result, anyhow, bail};
use available_now::Targets;
use rdkafka::consumer::CommitMode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SendError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// How long shutdown waits for outstanding deliveries.
const DRAIN: Duration = Duration::from_secs(60);

/// How the pipeline runs.
pub struct Options {
    /// Stop once this many input records were read and handled.
    pub limit: Option<u64>,
    /// Stop once the partitions are read up to their end offsets at start.
    pub available_now: bool,
    /// The group starts at `latest` (nothing is available now on a first start).
    pub starting_latest: bool,
}

fn worker(
    mut chain: Chain,
    router: Arc<Router>,
    tracker: Arc<Tracker>,
    batches: Receiver<(SourceBatch, Arc<Ticket>)>,
    stop: Arc<AtomicBool>,
) {
    for (input, ticket) in batches {
        if tracker.failure().is_some() {
            // Stopping: output nothing more, commit nothing more.
            ticket.abandon();
            continue;
        }
        let done = chain
            .process(&input.batch)
            .and_then(|out| router.deliver(&input, out, &ticket));
        match done {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<ClosedStdout>().is_some() => {
                // The reader of the console went away (`host run | head`): stop as
                // on SIGINT; this batch was not printed, so it is not acknowledged.
                ticket.abandon();
                stop.store(true, Ordering::Relaxed);
            }
            Err(e) => ticket.fail(format!("{e:#}")),
        }
    }
}

/// How often acknowledged offsets are committed while running (also before
/// every revoke and at the end): often enough that a crash repeats little,
/// rarely enough that small batches do not become a commit each.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

/// Runs until `stop` is set, the `limit` is reached, the topics are drained
/// (`available_now`), or something fails. On the way out it stops reading,
/// lets the workers finish what they hold, waits for the deliveries and
/// commits.
pub fn run(
    mut source: KafkaSource,
    tracker: Arc<Tracker>,
    chains: Vec<Chain>,
    router: Arc<Router>,
    options: Options,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let lanes = chains.len();
    let mut senders: Vec<SyncSender<(SourceBatch, Arc<Ticket>)>> = Vec::new();
    let mut workers = Vec::new();
    for (i, chain) in chains.into_iter().enumerate() {
        let (tx, rx) = sync_channel(2);
        let (router, tracker, stop) = (router.clone(), tracker.clone(), stop.clone());
        senders.push(tx);
        workers.push(
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(chain, router, tracker, rx, stop))?,
        );
    }
    crate::kafka::warn_of_outages();
    let mut targets = Targets::default();
    let mut unowned_since: Option<Instant> = None;
    let mut read = 0u64;
    let started = Instant::now();
    let mut last_commit = started;
    let result = loop {
        if stop.load(Ordering::Relaxed) || tracker.failure().is_some() {
            break Ok(());
        }
        if options.limit.is_some_and(|limit| read >= limit) {
            // Read no more; what was read is finished on the way out.
            break Ok(());
        }
        let batches = match source.next_batch(lanes) {
            Ok(b) => b,
            Err(e) => break Err(e),
        };
        for (lane, input) in batches.into_iter().enumerate() {
            if input.positions.is_empty() {
                continue;
            }
            read += input.positions.len() as u64;
            let ticket = tracker.open(&input.positions);
            if let Err(SendError((_, ticket))) = senders[lane].send((input, ticket)) {
                ticket.fail(format!("worker {lane} stopped"));
            }
        }
        if last_commit.elapsed() >= COMMIT_EVERY {
            last_commit = Instant::now();
            if let Err(e) = source.commit(CommitMode::Async) {
                tracing::warn!("{e:#}");
            }
        }
        if options.available_now {
            let owned = tracker.assigned();
            if owned.is_empty() {
                // Between a revoke and the next assignment nothing is owned for a moment;
                // owning nothing for long means the others hold every partition.
                let idle = *unowned_since.get_or_insert_with(Instant::now);
                if !targets.ends.is_empty() && idle.elapsed() > Duration::from_secs(30) {
                    break Ok(());
                }
                if targets.ends.is_empty() && started.elapsed() > Duration::from_secs(120) {
                    break Err(anyhow!(
                        "no partition was assigned to this consumer within 120 s; is another member of the group holding them all, or is a killed member's session (session.timeout.ms) still open?"
                    ));
                }
            } else {
                unowned_since = None;
                if let Err(e) = targets.cover(&source, &owned, options.starting_latest) {
                    break Err(e);
                }
                if targets.reached(&tracker.acked(), &owned) {
                    break Ok(());
                }
            }
        }
    };
    drop(senders);
    for w in workers {
        if w.join().is_err() {
            tracker.fail("a worker thread panicked");
        }
    }
    let mut producers: Vec<&Arc<KafkaSink>> = router.dlq.iter().map(|(p, _)| p).collect();
    if let Output::Kafka { sink, .. } = &router.output
        && !producers.iter().any(|p| Arc::ptr_eq(p, sink))
    {
        producers.push(sink);
    }
    let flushed = producers.iter().try_for_each(|p| p.flush(DRAIN));
    if !tracker.wait_idle(DRAIN) && tracker.failure().is_none() {
        tracing::warn!(
            "some outputs were not acknowledged within {DRAIN:?}; their offsets are not committed"
        );
    }
    let closed = source.close();
    result?;
    if let Some(failure) = tracker.failure() {
        bail!("{failure}");
    }
    flushed?;
    closed
}
