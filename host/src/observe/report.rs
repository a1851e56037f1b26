//! Progress reports: built when a trigger's last lane is done (or, with no
//! data, at most every 10 s), written as JSON lines and kept for the page.

use super::metrics::PartitionLabels;
use super::progress::{PluginProgress, Progress, SinkProgress, Sluice, SourceProgress, iso8601};
use super::trigger::{Trigger, add_stats};
use super::{Observer, RECENT, State, lock};
use crate::offsets::TopicPartition;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Offsets as Spark writes them: `{"topic":{"0":n}}`.
fn offsets_json(
    offsets: &BTreeMap<TopicPartition, i64>,
) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (tp, o) in offsets {
        out.entry(tp.topic.to_string())
            .or_default()
            .insert(tp.partition.to_string(), *o);
    }
    out
}

impl Observer {
    pub(super) fn lag(
        &self,
        end: &BTreeMap<TopicPartition, i64>,
        latest: &BTreeMap<TopicPartition, i64>,
    ) -> BTreeMap<TopicPartition, i64> {
        let mut lag = BTreeMap::new();
        for (tp, e) in end {
            let l = latest.get(tp).copied().unwrap_or(*e).max(*e);
            lag.insert(tp.clone(), l - e);
            self.metrics
                .lag
                .get_or_create(&PartitionLabels {
                    topic: tp.topic.to_string(),
                    partition: tp.partition,
                })
                .set(l - e);
        }
        lag
    }

    fn source(
        &self,
        start: &BTreeMap<TopicPartition, i64>,
        end: &BTreeMap<TopicPartition, i64>,
        latest: &BTreeMap<TopicPartition, i64>,
        rows: u64,
        input_rate: Option<f64>,
        processed_rate: Option<f64>,
    ) -> SourceProgress {
        let lag = self.lag(end, latest);
        let latest: BTreeMap<TopicPartition, i64> = end
            .iter()
            .map(|(tp, e)| (tp.clone(), latest.get(tp).copied().unwrap_or(*e).max(*e)))
            .collect();
        let mut metrics = BTreeMap::new();
        if !lag.is_empty() {
            let (min, max) = (lag.values().min(), lag.values().max());
            let avg = lag.values().sum::<i64>() as f64 / lag.len() as f64;
            metrics.insert("avgOffsetsBehindLatest", format!("{avg:?}"));
            metrics.insert("maxOffsetsBehindLatest", max.unwrap_or(&0).to_string());
            metrics.insert("minOffsetsBehindLatest", min.unwrap_or(&0).to_string());
        }
        SourceProgress {
            description: self.description().source.clone(),
            start_offset: (!start.is_empty()).then(|| offsets_json(start)),
            end_offset: offsets_json(end),
            latest_offset: offsets_json(&latest),
            num_input_rows: rows,
            input_rows_per_second: input_rate,
            processed_rows_per_second: processed_rate,
            metrics,
        }
    }

    pub(super) fn idle_report(&self, state: &State, read: Duration) -> Progress {
        let positions = &state.positions;
        let source = self.source(positions, positions, &state.latest, 0, Some(0.0), Some(0.0));
        Progress {
            id: self.id.clone(),
            run_id: self.run_id.clone(),
            name: None,
            timestamp: iso8601(chrono::Utc::now()),
            batch_id: state.next_batch_id,
            num_input_rows: 0,
            input_rows_per_second: Some(0.0),
            processed_rows_per_second: Some(0.0),
            duration_ms: BTreeMap::from([
                ("latestOffset", read.as_millis() as u64),
                ("triggerExecution", read.as_millis() as u64),
            ]),
            event_time: BTreeMap::new(),
            state_operators: Vec::new(),
            sources: vec![source],
            sink: SinkProgress {
                description: self.description().sink.clone(),
                num_output_rows: 0,
            },
            sluice: Sluice {
                plugins: Vec::new(),
                errors: BTreeMap::new(),
                committed_offsets: offsets_json(&state.committed),
            },
        }
    }

    pub(super) fn finish(&self, trigger: &Trigger) {
        let took = trigger.started.elapsed();
        let done = std::mem::take(&mut *lock(&trigger.done));
        let rows = trigger.input_rows;
        let rate = |d: Duration| (d > Duration::ZERO).then(|| rows as f64 / d.as_secs_f64());
        let input_rate = trigger.since_previous.and_then(rate);
        let processed_rate = rate(took);
        self.metrics.batches.inc();
        self.metrics.batch_duration.observe(took.as_secs_f64());
        let mut state = lock(&self.state);
        state.last_report = Some(Instant::now());
        state.records_in += rows;
        state.records_out += done.output_rows;
        for (action, n) in &done.errors {
            *state.errors.entry(action).or_default() += n;
        }
        for (name, d) in &done.plugins {
            add_stats(state.plugins.entry(name.clone()).or_default(), *d);
        }
        if !self.wants_reports() {
            // Only the metrics: no report is written, served or logged.
            self.lag(&trigger.end_offsets, &trigger.latest);
            return;
        }
        let source = self.source(
            &trigger.start_offsets,
            &trigger.end_offsets,
            &trigger.latest,
            rows,
            input_rate,
            processed_rate,
        );
        let mut event_time = BTreeMap::new();
        if let Some(et) = done.event_time {
            let us = |v: i64| chrono::DateTime::from_timestamp_micros(v).map(iso8601);
            for (key, v) in [
                ("min", et.min),
                ("max", et.max),
                ("avg", (et.sum / i128::from(et.count.max(1))) as i64),
            ] {
                if let Some(text) = us(v) {
                    event_time.insert(key, text);
                }
            }
        }
        if let Some(text) = done
            .watermark
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(iso8601)
        {
            event_time.insert("watermark", text);
        }
        // Spark's stateOperators, as far as the host knows them.
        let state_operators = match &done.stateful {
            None => Vec::new(),
            Some(plugin) => vec![serde_json::json!({
                "operatorName": &**plugin,
                "memoryUsedBytes": done.state_bytes,
                "numRowsDroppedByWatermark": done.plugins.get(plugin).map_or(0, |s| s.late_rows),
            })],
        };
        let add_batch = took.saturating_sub(trigger.read);
        let report = Progress {
            id: self.id.clone(),
            run_id: self.run_id.clone(),
            name: None,
            timestamp: trigger.timestamp.clone(),
            batch_id: trigger.batch_id,
            num_input_rows: rows,
            input_rows_per_second: input_rate,
            processed_rows_per_second: processed_rate,
            duration_ms: BTreeMap::from([
                ("addBatch", add_batch.as_millis() as u64),
                ("commitOffsets", state.last_commit.as_millis() as u64),
                ("latestOffset", trigger.read.as_millis() as u64),
                ("triggerExecution", took.as_millis() as u64),
            ]),
            event_time,
            state_operators,
            sources: vec![source],
            sink: SinkProgress {
                description: self.description().sink.clone(),
                num_output_rows: done.output_rows,
            },
            sluice: Sluice {
                plugins: done
                    .plugins
                    .iter()
                    .map(|(name, d)| PluginProgress::new(name, d))
                    .collect(),
                errors: done.errors.clone(),
                committed_offsets: offsets_json(&state.committed),
            },
        };
        tracing::info!(
            "Streaming query made progress: batch {}, {rows} rows in {} ms ({:.0} rows/s), {} out, max lag {}",
            trigger.batch_id,
            took.as_millis(),
            processed_rate.unwrap_or(0.0),
            done.output_rows,
            report.sources[0]
                .metrics
                .get("maxOffsetsBehindLatest")
                .map_or("0", String::as_str)
        );
        self.publish(&mut state, report);
    }

    pub(super) fn publish(&self, state: &mut State, report: Progress) {
        // Written from the struct, so the keys keep Spark's order.
        let (Ok(mut line), Ok(json)) = (
            serde_json::to_string(&report),
            serde_json::to_value(&report),
        ) else {
            return tracing::warn!("a progress report could not be encoded");
        };
        if let Some(out) = &self.progress {
            line.push('\n');
            if let Err(e) = lock(out).write_all(line.as_bytes()) {
                tracing::warn!("writing a progress report: {e}");
            }
        }
        if state.recent.len() == RECENT {
            state.recent.pop_front();
        }
        state.recent.push_back(Arc::new(json));
    }
}
