//! The streaming pipeline behind `host run` and `host demo`: one thread
//! reads Kafka and hands each worker the batches of the partitions it owns;
//! each worker runs its own instances of the plugin chain and routes every
//! outcome (the sink, a plugin-chosen topic, the dead-letter topic); offsets
//! are committed as the [`Tracker`] sees outputs acknowledged.

use crate::data::Field;
use crate::data::batch::{bytes, headers, value};
use crate::offsets::{Ticket, TopicPartition, Tracker};
use crate::plugin::{Chain, ChainOutput};
use crate::sink::console::{
    ClosedStdout, RunFormat, TableStyle, batch_header, json_lines, table_rows, write_stdout,
};
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::{KafkaSource, SourceBatch};
use anyhow::{Result, anyhow, bail};
use rdkafka::consumer::CommitMode;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SendError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// How long shutdown waits for outstanding deliveries.
const DRAIN: Duration = Duration::from_secs(60);

/// What a record a plugin rejects does (`--on-error`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Send the original record to `--dlq-topic` with `sluice.*` headers saying why.
    Dlq,
    /// Skip it, logging one JSON line on stderr.
    Drop,
    /// Stop, committing only the offsets before it.
    Fail,
}

/// Where the chain's outputs go.
pub enum Output {
    /// Printed as Spark's console sink prints, or as JSON lines.
    Console {
        /// Table or JSON lines.
        format: RunFormat,
        /// How tables are shown.
        table: TableStyle,
        /// The table's columns.
        fields: Vec<Field>,
        /// Whether the chain declared a schema (else one `value` column).
        declared: bool,
        /// The next `Batch: N`.
        batches: AtomicU64,
    },
    /// Produced to a topic (or the topic a plugin names per record).
    Kafka {
        /// The producer.
        sink: Arc<KafkaSink>,
        /// The default topic.
        topic: String,
    },
}

/// Sends each outcome of a batch where it belongs.
pub struct Router {
    /// Where outputs go.
    pub output: Output,
    /// The dead-letter producer and topic, when there is one.
    pub dlq: Option<(Arc<KafkaSink>, String)>,
    /// What a failed record does.
    pub on_error: OnError,
}

impl Router {
    /// Routes one processed batch. Returns an error only for what must stop
    /// the pipeline (`--on-error fail`, a producer that refuses a record).
    pub fn deliver(
        &self,
        input: &SourceBatch,
        out: ChainOutput<'_>,
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        for e in &out.errors {
            let (topic, partition, offset) = &input.positions[e.input as usize];
            match (self.on_error, &self.dlq) {
                (OnError::Fail, _) => bail!(
                    "record {topic}[{partition}]@{offset} failed in plugin {:?}: {}; stopping as --on-error fail says (offsets before it are committed, so a restart reads it again); pass --dlq-topic to keep bad records in a dead-letter topic, or --on-error drop",
                    &*e.plugin,
                    e.message
                ),
                (OnError::Dlq, Some((sink, dlq))) => {
                    let i = e.input as usize;
                    let meta = &input.batch.records[i];
                    let (partition, offset) = (partition.to_string(), offset.to_string());
                    let sluice = [
                        (&b"sluice.error"[..], Some(e.message.as_bytes())),
                        (b"sluice.plugin", Some(e.plugin.as_bytes())),
                        (b"sluice.source.topic", Some(topic.as_bytes())),
                        (b"sluice.source.partition", Some(partition.as_bytes())),
                        (b"sluice.source.offset", Some(offset.as_bytes())),
                    ];
                    sink.send(
                        dlq,
                        meta.key.map(|k| bytes(&input.batch, k)),
                        value(&input.batch, i),
                        headers(&input.batch, i).chain(sluice),
                        meta.timestamp,
                        ticket,
                    )?;
                }
                _ => {
                    let line = serde_json::json!({
                        "topic": &**topic, "partition": partition, "offset": offset,
                        "plugin": &*e.plugin, "error": e.message, "dropped": true,
                    });
                    writeln!(std::io::stderr().lock(), "{line}")?;
                }
            }
        }
        match &self.output {
            Output::Console {
                format,
                table,
                fields,
                declared,
                batches,
            } => {
                let text = match format {
                    RunFormat::Table => {
                        let rows = table_rows(&out, fields, *declared, table.num_rows + 1);
                        let id = batches.fetch_add(1, Ordering::SeqCst);
                        let mut text = batch_header(id).into_bytes();
                        text.extend_from_slice(table.render(fields, &rows).as_bytes());
                        text
                    }
                    RunFormat::Json => json_lines(&out),
                };
                write_stdout(&text)?;
            }
            Output::Kafka { sink, topic } => {
                let mut values = out.values();
                for i in 0..out.len() {
                    sink.send(
                        out.topic(i).unwrap_or(topic),
                        out.key(i),
                        values.get(i),
                        out.headers(i),
                        out.timestamp(i),
                        ticket,
                    )?;
                }
            }
        }
        Ok(())
    }
}

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

/// What `--available-now` waits for: every owned partition read to the end
/// offset it had when this consumer was first given it.
#[derive(Default)]
struct Targets {
    ends: BTreeMap<TopicPartition, i64>,
    start: BTreeMap<TopicPartition, i64>,
}

impl Targets {
    /// Takes the end offsets (and the group's positions) of owned partitions
    /// not seen before: the first assignment, and any a rebalance adds.
    fn cover(
        &mut self,
        source: &KafkaSource,
        owned: &BTreeSet<TopicPartition>,
        starting_latest: bool,
    ) -> Result<()> {
        if owned.iter().all(|tp| self.ends.contains_key(tp)) {
            return Ok(());
        }
        let ends = source.end_offsets()?;
        let committed = source.committed()?;
        for (tp, end) in ends {
            if self.ends.contains_key(&tp) {
                continue;
            }
            let position = committed
                .iter()
                .find(|(c, _)| *c == tp)
                .and_then(|(_, o)| *o);
            // A new group starting at the end has nothing available now.
            if let Some(start) = position.or(starting_latest.then_some(end)) {
                self.start.insert(tp.clone(), start);
            }
            self.ends.insert(tp, end);
        }
        Ok(())
    }

    /// Whether every partition still owned is acknowledged up to its target.
    fn reached(
        &self,
        acked: &BTreeMap<TopicPartition, i64>,
        owned: &BTreeSet<TopicPartition>,
    ) -> bool {
        let mut owned_ends = self.ends.iter().filter(|(tp, _)| owned.contains(*tp));
        owned_ends.all(|(tp, end)| {
            let at = acked.get(tp).max(self.start.get(tp)).copied().unwrap_or(0);
            *end == 0 || at >= *end
        })
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
