//! A micro-batch on its way: opened by the reader with what it read, each
//! lane reported by its worker (outputs, rejected records, what each plugin
//! did), finished by the last lane.

use super::metrics::{ErrorLabels, PartitionLabels, PluginLabels, SinkLabels, TopicLabels};
use super::progress::iso8601;
use super::{IDLE_REPORT_EVERY, Observer, lock};
use crate::data::processed::ChainOutput;
use crate::data::{FieldType, Values, rows};
use crate::offsets::{Position, TopicPartition};
use crate::plugin::{Chain, StageStats};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One micro-batch on its way through the pipeline.
pub struct Trigger {
    pub(super) batch_id: u64,
    pub(super) started: Instant,
    pub(super) timestamp: String,
    pub(super) read: Duration,
    pub(super) input_rows: u64,
    pub(super) since_previous: Option<Duration>,
    pub(super) start_offsets: BTreeMap<TopicPartition, i64>,
    pub(super) end_offsets: BTreeMap<TopicPartition, i64>,
    pub(super) latest: BTreeMap<TopicPartition, i64>,
    pub(super) lanes_left: AtomicUsize,
    pub(super) done: Mutex<LaneTotals>,
}

/// What the lanes of a trigger did, added up.
#[derive(Default)]
pub(super) struct LaneTotals {
    pub(super) output_rows: u64,
    pub(super) plugins: BTreeMap<Arc<str>, StageStats>,
    pub(super) errors: BTreeMap<&'static str, u64>,
    pub(super) event_time: Option<EventTime>,
    /// A stateful chain's watermark after the batch: the least of its partitions'.
    pub(super) watermark: Option<i64>,
    /// A stateful chain's checkpoints written for the batch, bytes.
    pub(super) state_bytes: u64,
    /// The stateful plugin.
    pub(super) stateful: Option<Arc<str>>,
}

/// Event-time statistics of a batch, in µs since the epoch.
#[derive(Clone, Copy)]
pub(super) struct EventTime {
    pub(super) min: i64,
    pub(super) max: i64,
    pub(super) sum: i128,
    pub(super) count: u64,
}

impl EventTime {
    fn join(a: Option<EventTime>, b: EventTime) -> EventTime {
        match a {
            None => b,
            Some(a) => EventTime {
                min: a.min.min(b.min),
                max: a.max.max(b.max),
                sum: a.sum + b.sum,
                count: a.count + b.count,
            },
        }
    }
}

/// What a worker saw of one lane of a trigger, taken before it is delivered.
pub struct LaneReport {
    output_rows: u64,
    produced: BTreeMap<String, u64>,
    errors: BTreeMap<Arc<str>, u64>,
    event_time: Option<EventTime>,
    sink_topic: String,
}

impl LaneReport {
    /// Outputs rejected by `by` (the sink, after the chain), given as the
    /// topic each was routed to (`None`: the sink's own): not produced after all.
    pub fn rejected(&mut self, by: &str, topics: &[Option<String>]) {
        for topic in topics {
            let topic = topic.as_ref().unwrap_or(&self.sink_topic);
            if let Some(n) = self.produced.get_mut(topic) {
                *n -= 1;
            }
            self.output_rows -= 1;
            *self.errors.entry(by.into()).or_default() += 1;
        }
    }
}

/// A worker's view of its chain's counters between two batches.
pub struct ChainWatch {
    before: Vec<StageStats>,
}

impl ChainWatch {
    /// Starts watching `chain`.
    pub fn new(chain: &Chain) -> ChainWatch {
        ChainWatch {
            before: chain.stages().iter().map(|s| s.stats()).collect(),
        }
    }
}

fn stats_delta(after: StageStats, before: StageStats) -> StageStats {
    StageStats {
        batches: after.batches - before.batches,
        records_in: after.records_in - before.records_in,
        records_out: after.records_out - before.records_out,
        errors: after.errors - before.errors,
        traps: after.traps - before.traps,
        restarts: after.restarts - before.restarts,
        busy: after.busy.saturating_sub(before.busy),
        last_batch: after.last_batch,
        memory_high_water: after.memory_high_water,
        late_rows: after.late_rows - before.late_rows,
    }
}

pub(super) fn add_stats(acc: &mut StageStats, d: StageStats) {
    acc.batches += d.batches;
    acc.records_in += d.records_in;
    acc.records_out += d.records_out;
    acc.errors += d.errors;
    acc.traps += d.traps;
    acc.restarts += d.restarts;
    acc.busy += d.busy;
    acc.last_batch = acc.last_batch.max(d.last_batch);
    acc.memory_high_water = acc.memory_high_water.max(d.memory_high_water);
    acc.late_rows += d.late_rows;
}

impl Observer {
    /// A micro-batch was read: `lanes` hold its records, read in `read`
    /// from a trigger started at `started`; `latest` are the high
    /// watermarks known now. `None` when nothing was read (an idle report
    /// may be written then, at most every 10 s).
    pub fn trigger(
        &self,
        started: Instant,
        read: Duration,
        lanes: &[&[Position]],
        latest: BTreeMap<TopicPartition, i64>,
    ) -> Option<Arc<Trigger>> {
        let busy = lanes.iter().filter(|l| !l.is_empty()).count();
        let mut state = lock(&self.state);
        for (tp, o) in &latest {
            state.latest.insert(tp.clone(), *o);
        }
        if busy == 0 {
            let due = state
                .last_report
                .is_none_or(|t| t.elapsed() >= IDLE_REPORT_EVERY);
            if due {
                state.last_report = Some(Instant::now());
                if self.wants_reports() {
                    let report = self.idle_report(&state, read);
                    self.publish(&mut state, report);
                } else {
                    self.lag(&state.positions, &state.latest);
                }
            }
            return None;
        }
        let mut start_offsets = BTreeMap::new();
        let mut input_rows = 0u64;
        for lane in lanes {
            input_rows += lane.len() as u64;
            // Records of one partition come in order, mostly in long runs.
            let mut i = 0;
            while i < lane.len() {
                let first = &lane[i];
                let mut j = i + 1;
                while j < lane.len()
                    && lane[j].partition == first.partition
                    && Arc::ptr_eq(&lane[j].topic, &first.topic)
                {
                    j += 1;
                }
                let tp = TopicPartition {
                    topic: first.topic.clone(),
                    partition: first.partition,
                };
                self.metrics
                    .consumed
                    .get_or_create(&PartitionLabels {
                        topic: tp.topic.to_string(),
                        partition: tp.partition,
                    })
                    .inc_by((j - i) as u64);
                let known = state.positions.get(&tp).copied();
                start_offsets
                    .entry(tp.clone())
                    .or_insert(known.unwrap_or(first.offset));
                let end = lane[j - 1].offset + 1;
                let at = state.positions.entry(tp).or_insert(end);
                *at = (*at).max(end);
                i = j;
            }
        }
        let end_offsets = state.positions.clone();
        for (tp, o) in &state.positions {
            start_offsets.entry(tp.clone()).or_insert(*o);
        }
        let batch_id = state.next_batch_id;
        state.next_batch_id += 1;
        let since_previous = state.last_trigger.map(|t| started.duration_since(t));
        state.last_trigger = Some(started);
        let latest = state.latest.clone();
        Some(Arc::new(Trigger {
            batch_id,
            started,
            timestamp: iso8601(chrono::Utc::now() - (Instant::now() - started)),
            read,
            input_rows,
            since_previous,
            start_offsets,
            end_offsets,
            latest,
            lanes_left: AtomicUsize::new(busy),
            done: Mutex::default(),
        }))
    }

    /// What a lane's output holds, before it goes to the sink.
    pub fn lane(&self, out: &ChainOutput<'_>) -> LaneReport {
        let mut errors: BTreeMap<Arc<str>, u64> = BTreeMap::new();
        for e in &out.errors {
            *errors.entry(e.plugin.clone()).or_default() += 1;
        }
        let mut produced = BTreeMap::new();
        let description = self.description();
        let default = &description.sink_topic;
        if out.batch().records.iter().any(|r| r.topic.is_some()) {
            for i in 0..out.len() {
                let topic = out.topic(i).unwrap_or(default);
                *produced.entry(topic.to_string()).or_default() += 1;
            }
        } else if !out.is_empty() {
            produced.insert(default.clone(), out.len() as u64);
        }
        LaneReport {
            sink_topic: default.clone(),
            output_rows: out.len() as u64,
            produced,
            errors,
            event_time: self.event_time(out, description.event_time.as_deref()),
        }
    }

    fn event_time(&self, out: &ChainOutput<'_>, name: Option<&str>) -> Option<EventTime> {
        let name = name?;
        let typed = out.batch().rows.as_ref()?;
        let c = rows::children(&typed.fields, None).find(|c| {
            typed.fields[*c].name == name && typed.fields[*c].ty == FieldType::Timestamp
        })?;
        let column = &typed.columns[c];
        let Values::S64s(values) = &column.values else {
            return None;
        };
        let mut stats: Option<EventTime> = None;
        for (i, v) in values.iter().enumerate().take(out.len()) {
            if rows::is_valid(column, i) {
                let one = EventTime {
                    min: *v,
                    max: *v,
                    sum: i128::from(*v),
                    count: 1,
                };
                stats = Some(EventTime::join(stats, one));
            }
        }
        stats
    }

    /// A stateful chain checkpointed partition `tp` for `trigger`: its
    /// watermark (µs) and the checkpoint's size.
    pub fn state(
        &self,
        trigger: &Trigger,
        plugin: &Arc<str>,
        tp: &TopicPartition,
        watermark: Option<i64>,
        bytes: usize,
    ) {
        let labels = PartitionLabels {
            topic: tp.topic.to_string(),
            partition: tp.partition,
        };
        if let Some(w) = watermark {
            self.metrics
                .watermark
                .get_or_create(&labels)
                .set(w as f64 / 1e6);
        }
        self.metrics.state.get_or_create(&labels).set(bytes as i64);
        let mut done = lock(&trigger.done);
        if let Some(w) = watermark {
            done.watermark = Some(done.watermark.map_or(w, |d| d.min(w)));
        }
        done.state_bytes += bytes as u64;
        done.stateful.get_or_insert_with(|| plugin.clone());
    }

    /// A worker is done with its lane of `trigger` (delivered, or given up),
    /// which `chains` processed (one, or a stateful pipeline's one per
    /// partition); the last lane's worker writes the trigger's report.
    pub fn lane_done(
        &self,
        trigger: &Trigger,
        reports: Vec<LaneReport>,
        chains: &mut [(&Chain, &mut ChainWatch)],
    ) {
        let description = self.description();
        let action = description.on_error;
        let mut deltas = Vec::new();
        let stages = chains
            .iter_mut()
            .flat_map(|(chain, watch)| chain.stages().iter().zip(watch.before.iter_mut()));
        for (stage, before) in stages {
            let after = stage.stats();
            let d = stats_delta(after, *before);
            *before = after;
            let labels = PluginLabels {
                plugin: stage.plugin().name.to_string(),
            };
            let m = &self.metrics;
            if d.batches > 0 {
                m.plugin_call
                    .get_or_create(&labels)
                    .observe(d.last_batch.as_secs_f64());
            }
            m.plugin_in.get_or_create(&labels).inc_by(d.records_in);
            m.plugin_out.get_or_create(&labels).inc_by(d.records_out);
            m.plugin_traps.get_or_create(&labels).inc_by(d.traps);
            m.plugin_restarts.get_or_create(&labels).inc_by(d.restarts);
            if stage.stateful() {
                m.late_rows.get_or_create(&labels).inc_by(d.late_rows);
            }
            let memory = m.plugin_memory.get_or_create(&labels);
            memory.set(memory.get().max(d.memory_high_water as i64));
            deltas.push((stage.plugin().name.clone(), d));
        }
        {
            let mut done = lock(&trigger.done);
            for (name, d) in deltas {
                add_stats(done.plugins.entry(name).or_default(), d);
            }
            for r in reports {
                done.output_rows += r.output_rows;
                for (topic, n) in &r.produced {
                    let labels = SinkLabels {
                        sink: description.sink_kind.to_string(),
                        topic: topic.clone(),
                    };
                    self.metrics.produced.get_or_create(&labels).inc_by(*n);
                }
                for (plugin, n) in &r.errors {
                    let labels = ErrorLabels {
                        plugin: plugin.to_string(),
                        action: action.to_string(),
                    };
                    self.metrics.record_errors.get_or_create(&labels).inc_by(*n);
                    if let Some(topic) = &description.dlq_topic {
                        let labels = TopicLabels {
                            topic: topic.clone(),
                        };
                        self.metrics.dead_letters.get_or_create(&labels).inc_by(*n);
                    }
                    *done.errors.entry(action).or_default() += n;
                }
                if let Some(et) = r.event_time {
                    done.event_time = Some(EventTime::join(done.event_time, et));
                }
            }
        }
        if trigger.lanes_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finish(trigger);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::batch::empty_batch;
    use crate::data::processed::ChainOutput;
    use crate::data::{Column, Field, Rows};
    use crate::observe::{Description, ObservePlan};

    fn observer(event_time: Option<&str>) -> Observer {
        let description = Description {
            group: "g".into(),
            source: "KafkaV2[Subscribe[t]]".into(),
            sink: "Console[json]".into(),
            sink_kind: "console",
            sink_topic: String::new(),
            on_error: "failed",
            dlq_topic: None,
            plugins: Vec::new(),
            event_time: event_time.map(String::from),
        };
        Observer::new(description, &ObservePlan::default()).unwrap()
    }

    /// Rows of one timestamp column `ts` (µs), row 1 null.
    fn stamped(us: &[i64]) -> crate::data::Batch {
        let mut batch = empty_batch();
        batch.len = us.len() as u32;
        batch.rows = Some(Rows {
            fields: vec![Field {
                name: "ts".into(),
                ty: FieldType::Timestamp,
                nullable: true,
                parent: None,
            }],
            columns: vec![Column {
                valid: Some(vec![0b1111_1101]),
                values: Values::S64s(us.to_vec()),
            }],
        });
        batch
    }

    #[test]
    fn event_time_is_the_min_max_and_mean_of_the_declared_column_skipping_nulls() {
        let source = empty_batch();
        let out = ChainOutput::new(
            &source,
            Some(stamped(&[3_000, 1, 1_000, 2_000])),
            vec![0; 4],
            vec![],
        );
        let report = observer(Some("ts")).lane(&out);
        let et = report.event_time.expect("event time stats");
        assert_eq!((et.min, et.max, et.count), (1_000, 3_000, 3));
        assert_eq!(et.sum, 6_000);
        // Without a declared event-time column there are none.
        assert!(observer(None).lane(&out).event_time.is_none());
        assert!(observer(Some("other")).lane(&out).event_time.is_none());
    }
}
