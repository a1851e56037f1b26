//! The streaming pipeline behind `host run` and `host demo`, built from a
//! resolved [`Plan`]: one thread reads Kafka and hands each worker the
//! batches of the partitions it owns; each worker runs its own instances of
//! the plugin chain and routes every outcome (the sink, the dead-letter
//! route); offsets are committed as the [`Tracker`] sees outputs acknowledged.
//!
//! - here: build; read → lanes (workers) → chain → router → commit; shutdown.
//! - `plan`: what a pipeline is built from.
//! - `router`: where each outcome of a batch goes (sink, dead letters, a stop).
//! - `available_now`: the end offsets `--available-now` runs to.
//! - `swap`: a new chain taken over at a batch boundary (SIGHUP, `--watch`).
//!
//! The [`Observer`] is told what happens at each seam (a trigger read, a
//! lane done, a commit): progress reports, metrics and the live page.

mod available_now;
mod checkpoint;
mod plan;
mod router;
mod stateful;
mod swap;

pub use checkpoint::changelog_topic;
pub use plan::{Plan, RejectPlan, SinkPlan};
pub use router::{OnError, Rejected, Router};
pub use swap::{Reload, plugin_files};

use crate::data::Field;
use crate::data::batch;
use crate::data::processed::ChainError;
use crate::kafka::ensure_topics;
use crate::kafka::producer::KafkaProducer;
use crate::observe::{ChainWatch, Observer, Servers, Trigger};
use crate::offsets::{Position, Ticket, Tracker};
use crate::plugin::{Chain, Plugin, Runtime, World};
use crate::sink::Sink;
use crate::sink::console::{ClosedStdout, ConsoleSink};
use crate::sink::dead_letter::DeadLetters;
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::{KafkaSource, SourceBatch, StartingOffsets};
use anyhow::{Result, bail};
use available_now::Targets;
use checkpoint::Checkpoints;
use rdkafka::consumer::CommitMode;
use stateful::Partitioned;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SendError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// How long shutdown waits for outstanding deliveries.
const DRAIN: Duration = Duration::from_secs(60);

/// A pipeline ready to run: plugins loaded and initialised, the consumer
/// subscribed, the sink open.
pub struct Pipeline {
    plan: Plan,
    runtime: Runtime,
    source: KafkaSource,
    tracker: Arc<Tracker>,
    lanes: Vec<Lane>,
    /// The chain's output columns.
    schema: Option<Vec<Field>>,
    router: Arc<Router>,
    observer: Arc<Observer>,
    servers: Servers,
    limit: Option<u64>,
    available_now: Option<Duration>,
    starting_latest: bool,
}

impl Pipeline {
    /// Loads and initialises the plugins (one chain per worker), connects
    /// the source, checks (or creates) the output topics and opens the sink.
    pub fn build(plan: &Plan) -> Result<Pipeline> {
        let runtime = Runtime::new(plan.limits, plan.cache_dir.clone())?;
        let (plugins, chains) = load_chains(&runtime, plan)?;
        // The endpoints are bound before anything is read: a busy port fails the start.
        let observer = Arc::new(Observer::new(
            plan.describe(&plugins, &chains[0]),
            &plan.observe,
        )?);
        let servers = Servers::start(observer.clone(), &plan.observe)?;
        if let Some(at) = servers.ui {
            eprintln!("Sluice live view: http://{at}/");
        }
        let tracker = Arc::new(Tracker::default());
        let source = KafkaSource::connect(plan.source.clone(), tracker.clone())?;
        let (brokers, properties) = (&plan.source.brokers, &plan.source.properties);
        let outputs = plan.output_topics();
        let stateful = chains[0].stateful().map(|s| s.plugin().name.clone());
        let producer = match outputs.is_empty() && stateful.is_none() {
            true => None,
            false => {
                let producer = Arc::new(KafkaProducer::new(brokers, properties)?);
                let create = plan.source.create_topics;
                ensure_topics(producer.client(), brokers, properties, &outputs, create)?;
                Some(producer)
            }
        };
        let producer = || producer.clone().expect("a producer for the output topics");
        let schema = chains[0].schema().map(<[_]>::to_vec);
        let lanes = match stateful {
            None => chains.into_iter().map(Lane::Stateless).collect(),
            Some(plugin) => {
                // As many changelog partitions as the widest input topic has.
                let partitions = source.partitions()?;
                let widest = partitions.iter().map(|tp| tp.partition + 1).max();
                let checkpoints = Arc::new(Checkpoints::open(
                    producer(),
                    brokers,
                    properties,
                    changelog_topic(&plan.source.group, &plugin),
                    widest.unwrap_or(1),
                )?);
                let lanes = chains.len();
                (0..lanes)
                    .map(|i| {
                        let (plugins, tracker) = (plugins.clone(), tracker.clone());
                        let lane =
                            Partitioned::new((i, lanes), plugins, checkpoints.clone(), tracker);
                        Lane::Stateful(lane)
                    })
                    .collect()
            }
        };
        let sink: Box<dyn Sink> = match &plan.sink {
            SinkPlan::Kafka {
                topic,
                routes,
                key_by,
            } => {
                if let Some(column) = key_by {
                    let found = schema.as_deref().unwrap_or_default();
                    if !found
                        .iter()
                        .any(|f| f.parent.is_none() && &f.name == column)
                    {
                        bail!(
                            "--key-by {column:?}: the chain's output has no such column (its columns: {}); name one of them",
                            crate::plugin::chain::ddl(found)
                        );
                    }
                }
                Box::new(KafkaSink {
                    producer: producer(),
                    topic: topic.clone(),
                    routes: routes.iter().cloned().collect(),
                    key_by: key_by.clone(),
                })
            }
            SinkPlan::Console { format, table } => {
                Box::new(ConsoleSink::open(*format, *table, schema.as_deref())?)
            }
        };
        let rejected = match &plan.rejected {
            RejectPlan::Fail => Rejected::Fail,
            RejectPlan::Drop => Rejected::Drop,
            RejectPlan::DeadLetter(topic) => Rejected::DeadLetter(DeadLetters {
                producer: producer(),
                topic: topic.clone(),
            }),
        };
        Ok(Pipeline {
            plan: plan.clone(),
            runtime,
            source,
            tracker,
            lanes,
            schema,
            router: Arc::new(Router { sink, rejected }),
            observer,
            servers,
            limit: plan.limit,
            available_now: plan.available_now,
            starting_latest: plan.source.starting_offsets == StartingOffsets::Latest,
        })
    }

    /// The plugin runtime (to load more plugins into the same engine).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

/// The plan's plugins, loaded and checked to be transforms, and one chain of
/// their instances (initialised) per worker.
fn load_chains(runtime: &Runtime, plan: &Plan) -> Result<(Vec<Arc<Plugin>>, Vec<Chain>)> {
    let plugins = runtime.load_all(&plan.plugins)?;
    for p in &plugins {
        p.expect(World::Transform, "`host run`")?;
    }
    let chains = (0..plan.workers.max(1))
        .map(|_| Chain::new(&plugins))
        .collect::<Result<Vec<_>>>()?;
    Ok((plugins, chains))
}

/// What a worker is handed, in order.
enum Work {
    /// One lane's batch: its records, its acknowledgement ticket, and the
    /// micro-batch it belongs to.
    Batch(Box<SourceBatch>, Arc<Ticket>, Arc<Trigger>),
    /// A new chain, taken between two batches.
    Swap(Box<Chain>),
    /// The source is idle: a stateful chain's no-data batch, where due.
    Tick,
}

/// A worker's plugin instances.
enum Lane {
    /// One chain for all its partitions.
    Stateless(Chain),
    /// A stateful chain per partition.
    Stateful(Partitioned),
}

fn worker(
    lane: Lane,
    router: Arc<Router>,
    tracker: Arc<Tracker>,
    observer: Arc<Observer>,
    work: Receiver<Work>,
    stop: Arc<AtomicBool>,
) {
    let mut chain = match lane {
        Lane::Stateless(chain) => chain,
        Lane::Stateful(partitioned) => {
            return stateful_worker(partitioned, &router, &tracker, &observer, work, &stop);
        }
    };
    let mut watch = ChainWatch::new(&chain);
    for work in work {
        let (input, ticket, trigger) = match work {
            Work::Batch(input, ticket, trigger) => (input, ticket, trigger),
            Work::Swap(new) => {
                chain = *new;
                watch = ChainWatch::new(&chain);
                continue;
            }
            Work::Tick => continue,
        };
        let mut reports = Vec::new();
        let input = match screen(&router, *input, &ticket) {
            Ok(input) => input,
            Err(e) => {
                ticket.fail(format!("{e:#}"));
                observer.lane_done(&trigger, reports, &mut [(&chain, &mut watch)]);
                continue;
            }
        };
        if tracker.failure().is_some() {
            // Stopping: output nothing more, commit nothing more.
            ticket.abandon();
        } else {
            // In parts where a plugin's output is more than the host holds at once.
            let done = chain.process_parts(&input.batch, 0, &mut |part, first, out| {
                let mut report = observer.lane(&out);
                let positions = &input.positions[first..first + part.len as usize];
                let refused = router.deliver(part, positions, out, &ticket)?;
                report.rejected(router::SINK, &refused);
                reports.push(report);
                Ok(())
            });
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
        observer.lane_done(&trigger, reports, &mut [(&chain, &mut watch)]);
    }
}

/// Rejects the records the source could not read, as `--on-error` says
/// (they never reach the plugins); returns the rest.
fn screen(router: &Router, input: SourceBatch, ticket: &Arc<Ticket>) -> Result<SourceBatch> {
    if input.unreadable.is_empty() {
        return Ok(input);
    }
    let bad: Vec<u32> = input.unreadable.iter().map(|(i, _)| *i as u32).collect();
    let good: Vec<u32> = (0..input.batch.len).filter(|i| !bad.contains(i)).collect();
    let at = |rows: &[u32]| -> Vec<Position> {
        rows.iter()
            .map(|&i| input.positions[i as usize].clone())
            .collect()
    };
    let errors: Vec<ChainError> = input
        .unreadable
        .iter()
        .enumerate()
        .map(|(k, (_, why))| ChainError {
            input: k as u32,
            plugin: router::SOURCE.into(),
            message: why.clone(),
        })
        .collect();
    router.reject_unreadable(&batch::take(&input.batch, &bad), &at(&bad), &errors, ticket)?;
    Ok(SourceBatch {
        batch: batch::take(&input.batch, &good),
        positions: at(&good),
        unreadable: Vec::new(),
    })
}

/// [`worker`] for a stateful pipeline (no hot swap: see `swap`).
fn stateful_worker(
    mut lane: Partitioned,
    router: &Router,
    tracker: &Tracker,
    observer: &Observer,
    work: Receiver<Work>,
    stop: &AtomicBool,
) {
    for work in work {
        match work {
            Work::Batch(input, ticket, trigger) => {
                let input = match screen(router, *input, &ticket) {
                    Ok(input) => input,
                    Err(e) => {
                        ticket.fail(format!("{e:#}"));
                        observer.lane_done(&trigger, Vec::new(), &mut []);
                        continue;
                    }
                };
                if tracker.failure().is_some() {
                    ticket.abandon();
                    observer.lane_done(&trigger, Vec::new(), &mut []);
                    continue;
                }
                match lane.process(&input, &ticket, &trigger, router, observer) {
                    Ok(()) => {}
                    Err(e) if e.downcast_ref::<ClosedStdout>().is_some() => {
                        ticket.abandon();
                        stop.store(true, Ordering::Relaxed);
                        observer.lane_done(&trigger, Vec::new(), &mut []);
                    }
                    Err(e) => {
                        ticket.fail(format!("{e:#}"));
                        observer.lane_done(&trigger, Vec::new(), &mut []);
                    }
                }
            }
            Work::Tick if tracker.failure().is_none() => {
                if let Err(e) = lane.tick(router) {
                    tracker.fail(format!("{e:#}"));
                }
            }
            Work::Tick | Work::Swap(_) => {}
        }
    }
}

/// How often acknowledged offsets are committed while running (also before
/// every revoke and at the end): often enough that a crash repeats little,
/// rarely enough that small batches do not become a commit each.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

impl Pipeline {
    /// Runs until `stop` is set, the `limit` is reached, the topics are drained
    /// (`available_now`), or something fails. On the way out it stops reading,
    /// lets the workers finish what they hold, waits for the deliveries and
    /// commits.
    pub fn run(self, stop: Arc<AtomicBool>, reload: Option<Reload>) -> Result<()> {
        let Pipeline {
            mut plan,
            runtime,
            mut source,
            tracker,
            lanes: lane_list,
            schema,
            router,
            observer,
            servers: _servers,
            limit,
            available_now,
            starting_latest,
        } = self;
        let lanes = lane_list.len();
        let stateful = lane_list.iter().any(|l| matches!(l, Lane::Stateful(_)));
        let mut running = schema;
        let mut senders: Vec<SyncSender<Work>> = Vec::new();
        let mut workers = Vec::new();
        for (i, chain) in lane_list.into_iter().enumerate() {
            let (tx, rx) = sync_channel(2);
            let (router, tracker, stop) = (router.clone(), tracker.clone(), stop.clone());
            let observer = observer.clone();
            senders.push(tx);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || worker(chain, router, tracker, observer, rx, stop))?,
            );
        }
        crate::kafka::warn_of_outages();
        let mut targets = Targets::new(available_now.unwrap_or_default());
        let mut read = 0u64;
        let mut last_commit = Instant::now();
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                tracing::info!(
                    "stopping: finishing the batches in hand, then committing (a second signal exits at once)"
                );
                break Ok(());
            }
            if tracker.failure().is_some() {
                break Ok(());
            }
            if limit.is_some_and(|limit| read >= limit) {
                // Read no more; what was read is finished on the way out.
                break Ok(());
            }
            let started = Instant::now();
            let batches = match source.next_batch(lanes) {
                Ok(b) => b,
                Err(e) => break Err(e),
            };
            let positions: Vec<&[Position]> = batches.iter().map(|b| &b.positions[..]).collect();
            let trigger = observer.trigger(started, started.elapsed(), &positions, source.latest());
            for (lane, input) in batches.into_iter().enumerate() {
                let Some(trigger) = trigger.as_ref().filter(|_| !input.positions.is_empty()) else {
                    if stateful {
                        // Idle: windows the watermark closed are emitted without new records.
                        let _ = senders[lane].try_send(Work::Tick);
                    }
                    continue;
                };
                read += input.positions.len() as u64;
                let ticket = tracker.open(&input.positions);
                let sent =
                    senders[lane].send(Work::Batch(Box::new(input), ticket, trigger.clone()));
                if let Err(SendError(Work::Batch(_, ticket, _))) = sent {
                    ticket.fail(format!("worker {lane} stopped"));
                }
            }
            if let Some(reload) = &reload {
                let swap = swap::Running {
                    stateful,
                    runtime: &runtime,
                    plan: &mut plan,
                    schema: &mut running,
                    workers: &senders,
                    observer: &observer,
                };
                swap.reload_if_asked(reload);
            }
            if last_commit.elapsed() >= COMMIT_EVERY {
                last_commit = Instant::now();
                match source.commit(CommitMode::Async) {
                    Ok(committed) => observer.committed(&committed, last_commit.elapsed()),
                    Err(e) => tracing::warn!("{e:#}"),
                }
            }
            if available_now.is_some() {
                match targets.drained(&source, &tracker, starting_latest) {
                    Ok(true) => {
                        if stateful {
                            // Spark's availableNow ends with a no-data batch too.
                            for lane in &senders {
                                let _ = lane.send(Work::Tick);
                            }
                        }
                        break Ok(());
                    }
                    Ok(false) => {}
                    Err(e) => break Err(e),
                }
            }
        };
        drop(senders);
        for w in workers {
            if w.join().is_err() {
                tracker.fail("a worker thread panicked");
            }
        }
        let flushed = router.flush(DRAIN);
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
}
