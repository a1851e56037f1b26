//! A pipeline whose chain holds a stateful plugin: one chain per input
//! partition, each with that partition's state, restored from its newest
//! checkpoint when the partition is assigned (see `checkpoint`).
//!
//! Per batch and partition: records the state already reflects (read again
//! after a crash between a checkpoint and its commit) are skipped; the rest
//! run through the partition's chain and its outputs go to the sink; the
//! checkpoint writer writes the partition's state once those outputs are
//! acknowledged (in order, while the worker goes on), and the batch's
//! offsets are committed once the checkpoint is acknowledged. When the source is idle, a
//! partition whose watermark moved gets Spark's no-data batch, so windows
//! close even when no record arrives.

use super::DRAIN;
use super::checkpoint::{Checkpoint, Checkpoints};
use super::router::{self, Router};
use crate::data::batch::{self, empty_batch};
use crate::observe::{ChainWatch, Observer, Trigger};
use crate::offsets::{Position, Ticket, TopicPartition, Tracker};
use crate::plugin::{Chain, Plugin};
use crate::source::kafka::{SourceBatch, lane};
use anyhow::{Result, anyhow, bail};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Instant;

/// One partition's chain and where its state stands.
struct Owned {
    chain: Chain,
    watch: ChainWatch,
    /// The assignment the state belongs to ([`Tracker::epoch`]).
    epoch: u64,
    /// The next input offset: the state reflects every record below it.
    next: i64,
}

/// A worker's chains of a stateful pipeline, one per partition it owns.
pub(super) struct Partitioned {
    /// This worker's lane, of `lanes`: which partitions it owns.
    lane: usize,
    lanes: usize,
    plugins: Vec<Arc<Plugin>>,
    owned: BTreeMap<TopicPartition, Owned>,
    checkpoints: Arc<Checkpoints>,
    writer: Arc<Writer>,
    tracker: Arc<Tracker>,
}

impl Partitioned {
    pub(super) fn new(
        (lane, lanes): (usize, usize),
        plugins: Vec<Arc<Plugin>>,
        checkpoints: Arc<Checkpoints>,
        tracker: Arc<Tracker>,
    ) -> Partitioned {
        Partitioned {
            lane,
            lanes,
            plugins,
            owned: BTreeMap::new(),
            writer: Arc::new(Writer::start(checkpoints.clone())),
            checkpoints,
            tracker,
        }
    }

    /// The chain of `tp`, restored from its checkpoint when this assignment
    /// of it is new; `None` when this consumer no longer owns it.
    fn chain(&mut self, tp: &TopicPartition) -> Result<Option<&mut Owned>> {
        let Some(epoch) = self.tracker.epoch(tp) else {
            self.owned.remove(tp);
            return Ok(None);
        };
        if self.owned.get(tp).is_none_or(|o| o.epoch != epoch) {
            let started = Instant::now();
            let mut chain = Chain::new(&self.plugins)?;
            let made = started.elapsed();
            let next = match self.checkpoints.restore(tp)? {
                Some(Checkpoint { offset, memory }) => {
                    let bytes = memory.snapshot.as_ref().map_or(0, Vec::len);
                    if let Some(stage) = chain.stateful_mut() {
                        stage.set_memory(memory)?;
                    }
                    tracing::info!(
                        "restored the state of {tp} as of offset {offset} ({bytes} bytes) from {:?} in {} ms ({} ms of it making the chain)",
                        self.checkpoints.topic,
                        started.elapsed().as_millis(),
                        made.as_millis()
                    );
                    offset
                }
                None => 0,
            };
            let watch = ChainWatch::new(&chain);
            let owned = Owned {
                chain,
                watch,
                epoch,
                next,
            };
            self.owned.insert(tp.clone(), owned);
        }
        Ok(self.owned.get_mut(tp))
    }

    /// Processes `input`, partition by partition (see the module doc).
    pub(super) fn process(
        &mut self,
        input: &SourceBatch,
        ticket: &Arc<Ticket>,
        trigger: &Trigger,
        router: &Router,
        observer: &Observer,
    ) -> Result<()> {
        let mut groups: BTreeMap<TopicPartition, Vec<u32>> = BTreeMap::new();
        for (i, p) in input.positions.iter().enumerate() {
            let tp = TopicPartition {
                topic: p.topic.clone(),
                partition: p.partition,
            };
            groups.entry(tp).or_default().push(i as u32);
        }
        let mut reports = Vec::new();
        let mut done = Vec::new();
        let writer = self.writer.clone();
        for (tp, rows) in groups {
            // Records of a partition taken away are its new owner's to read.
            let Some(owned) = self.chain(&tp)? else {
                continue;
            };
            let rows: Vec<u32> = rows
                .into_iter()
                .filter(|&i| input.positions[i as usize].offset >= owned.next)
                .collect();
            let Some(&last) = rows.last() else {
                continue;
            };
            let part = batch::take(&input.batch, &rows);
            let positions: Vec<Position> = rows
                .iter()
                .map(|&i| input.positions[i as usize].clone())
                .collect();
            owned.next = input.positions[last as usize].offset + 1;
            let (plugin, watermark, bytes) =
                writer.after(&tp, owned, ticket, |chain, outputs| {
                    chain.process_parts(&part, 0, &mut |p, first, out| {
                        let mut report = observer.lane(&out);
                        let at = &positions[first..first + p.len as usize];
                        let refused = router.deliver(p, at, out, outputs)?;
                        report.rejected(router::SINK, &refused);
                        reports.push(report);
                        Ok(())
                    })
                })?;
            observer.state(trigger, &plugin, &tp, watermark, bytes);
            done.push(tp);
        }
        let mut chains: Vec<(&Chain, &mut ChainWatch)> = self
            .owned
            .iter_mut()
            .filter(|(tp, _)| done.contains(tp))
            .map(|(_, o)| (&o.chain, &mut o.watch))
            .collect();
        observer.lane_done(trigger, reports, &mut chains);
        Ok(())
    }

    /// Spark's no-data batch for every owned partition whose watermark
    /// moved (restoring the state of those not read since they were
    /// assigned: a restarted host closes the windows its predecessor's
    /// last records moved the watermark past).
    pub(super) fn tick(&mut self, router: &Router) -> Result<()> {
        // Chains of partitions taken away: their state is their new owner's.
        let tracker = &self.tracker;
        self.owned
            .retain(|tp, o| tracker.epoch(tp) == Some(o.epoch));
        for tp in self.tracker.assigned() {
            if lane(&tp.topic, tp.partition, self.lanes) == self.lane {
                self.chain(&tp)?;
            }
        }
        let empty = empty_batch();
        for (tp, owned) in &mut self.owned {
            if !owned.chain.due() {
                continue;
            }
            // It covers no input offsets: it commits nothing.
            let ticket = self.tracker.open(&[]);
            self.writer.after(tp, owned, &ticket, |chain, outputs| {
                match chain.tick(&empty)? {
                    Some(out) => router.deliver(&empty, &[], out, outputs).map(drop),
                    None => Ok(()),
                }
            })?;
        }
        Ok(())
    }
}

/// A checkpoint waiting for the outputs of its batch.
struct Due {
    tp: TopicPartition,
    at: Checkpoint,
    /// Holds the batch's outputs' tickets: idle when all are acknowledged.
    outputs: Arc<Tracker>,
    /// The batch's own ticket (its offsets), kept until the checkpoint is.
    ticket: Arc<Ticket>,
}

/// Writes each partition's checkpoints in the order they were made, each
/// once every output of its batch is acknowledged: a checkpoint never gets
/// ahead of its outputs, and the worker goes on with the next batch
/// meanwhile. A failed output fails the batch (no checkpoint, no commit).
struct Writer {
    queue: Option<SyncSender<Due>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(checkpoints: Arc<Checkpoints>) -> Writer {
        let (queue, due) = sync_channel::<Due>(64);
        let thread = std::thread::Builder::new()
            .name("checkpoints".into())
            .spawn(move || {
                for Due {
                    tp,
                    at,
                    outputs,
                    ticket,
                } in due
                {
                    if !outputs.wait_idle(DRAIN) {
                        ticket.fail(format!(
                            "the outputs of {tp} were not acknowledged within {DRAIN:?}"
                        ));
                    } else if let Some(failure) = outputs.failure() {
                        ticket.fail(failure);
                    } else if let Err(e) = checkpoints.write(&tp, &at, &ticket) {
                        ticket.fail(format!("{e:#}"));
                    }
                }
            })
            .expect("spawning the checkpoint writer");
        Writer {
            queue: Some(queue),
            thread: Some(thread),
        }
    }

    /// Runs `send` with a ticket of its own for the outputs it sends, then
    /// queues `tp`'s checkpoint as of `owned.next` behind them. Returns the
    /// stateful plugin, its watermark and the snapshot's size.
    fn after(
        &self,
        tp: &TopicPartition,
        owned: &mut Owned,
        ticket: &Arc<Ticket>,
        send: impl FnOnce(&mut Chain, &Arc<Ticket>) -> Result<()>,
    ) -> Result<(Arc<str>, Option<i64>, usize)> {
        let outputs = Arc::new(Tracker::default());
        send(&mut owned.chain, &outputs.open(&[]))?;
        let Some(stage) = owned.chain.stateful() else {
            bail!("the chain of {tp} has no stateful plugin");
        };
        let memory = stage.memory().clone();
        let facts = (
            stage.plugin().name.clone(),
            memory.clock.watermark,
            memory.snapshot.as_ref().map_or(0, Vec::len),
        );
        let due = Due {
            tp: tp.clone(),
            at: Checkpoint {
                offset: owned.next,
                memory,
            },
            outputs,
            ticket: ticket.clone(),
        };
        let queue = self.queue.as_ref().expect("open until dropped");
        queue
            .send(due)
            .map_err(|_| anyhow!("the checkpoint writer stopped"))?;
        Ok(facts)
    }
}

impl Drop for Writer {
    /// Writes what is queued, then stops.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
