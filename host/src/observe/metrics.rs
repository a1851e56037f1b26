//! The Prometheus metrics (prometheus-client; OpenMetrics text at
//! `/metrics`). Base units, `_total` counters, histograms. Every metric is
//! listed in the README.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

/// A topic partition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// Where outputs went.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    /// `console` or `kafka`.
    pub sink: String,
    /// The topic (empty for the console).
    pub topic: String,
}

/// A plugin.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// The plugin's name (as `--config` names it).
    pub plugin: String,
}

/// A rejected record's plugin and what became of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The plugin that rejected it.
    pub plugin: String,
    /// `dlq`, `dropped` or `failed`.
    pub action: String,
}

/// A topic.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// The topic.
    pub topic: String,
}

/// How a reload ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `swapped` or `refused`.
    pub result: String,
}

fn seconds() -> Histogram {
    // 50 µs … about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// Every metric the host exports.
pub struct Metrics {
    pub(super) consumed: Family<PartitionLabels, Counter>,
    pub(super) produced: Family<SinkLabels, Counter>,
    pub(super) record_errors: Family<ErrorLabels, Counter>,
    pub(super) dead_letters: Family<TopicLabels, Counter>,
    pub(super) batches: Counter,
    pub(super) batch_duration: Histogram,
    pub(super) plugin_call: Family<PluginLabels, Histogram, fn() -> Histogram>,
    pub(super) plugin_in: Family<PluginLabels, Counter>,
    pub(super) plugin_out: Family<PluginLabels, Counter>,
    pub(super) plugin_traps: Family<PluginLabels, Counter>,
    pub(super) plugin_restarts: Family<PluginLabels, Counter>,
    pub(super) plugin_memory: Family<PluginLabels, Gauge>,
    pub(super) lag: Family<PartitionLabels, Gauge>,
    pub(super) committed: Family<PartitionLabels, Gauge>,
    pub(super) rss: Gauge,
    pub(super) reloads: Family<ReloadLabels, Counter>,
    pub(super) watermark: Family<PartitionLabels, Gauge<f64, AtomicU64>>,
    pub(super) late_rows: Family<PluginLabels, Counter>,
    pub(super) state: Family<PartitionLabels, Gauge>,
}

impl Metrics {
    /// The metrics, registered in a new registry.
    pub fn new() -> (Metrics, Registry) {
        let m = Metrics {
            consumed: Family::default(),
            produced: Family::default(),
            record_errors: Family::default(),
            dead_letters: Family::default(),
            batches: Counter::default(),
            batch_duration: seconds(),
            plugin_call: Family::new_with_constructor(seconds),
            plugin_in: Family::default(),
            plugin_out: Family::default(),
            plugin_traps: Family::default(),
            plugin_restarts: Family::default(),
            plugin_memory: Family::default(),
            lag: Family::default(),
            committed: Family::default(),
            rss: Gauge::default(),
            reloads: Family::default(),
            watermark: Family::default(),
            late_rows: Family::default(),
            state: Family::default(),
        };
        let mut r = Registry::default();
        let s = r.sub_registry_with_prefix("sluice");
        s.register(
            "records_consumed",
            "Records read from Kafka",
            m.consumed.clone(),
        );
        s.register(
            "records_produced",
            "Records written by the sink (console: printed; kafka: queued to the topic)",
            m.produced.clone(),
        );
        s.register(
            "record_errors",
            "Records a plugin rejected or trapped on, by what became of them",
            m.record_errors.clone(),
        );
        s.register(
            "dead_letter_records",
            "Records sent to the dead-letter topic",
            m.dead_letters.clone(),
        );
        s.register("batches", "Micro-batches processed", m.batches.clone());
        s.register_with_unit(
            "batch_duration",
            "Time from a micro-batch's read to its last output handed to the sink",
            Unit::Seconds,
            m.batch_duration.clone(),
        );
        s.register_with_unit(
            "plugin_call_duration",
            "Time one plugin took for one worker's share of a batch (retries and bisection included)",
            Unit::Seconds,
            m.plugin_call.clone(),
        );
        s.register(
            "plugin_records_in",
            "Records given to a plugin",
            m.plugin_in.clone(),
        );
        s.register(
            "plugin_records_out",
            "Records a plugin returned",
            m.plugin_out.clone(),
        );
        s.register(
            "plugin_traps",
            "Calls that trapped or returned an invalid batch",
            m.plugin_traps.clone(),
        );
        s.register(
            "plugin_restarts",
            "Plugin instances made to replace one that trapped",
            m.plugin_restarts.clone(),
        );
        s.register_with_unit(
            "plugin_memory_high_water",
            "The largest linear memory of a plugin's instances",
            Unit::Bytes,
            m.plugin_memory.clone(),
        );
        s.register(
            "consumer_lag",
            "Records between what this consumer has read and the partition's high watermark",
            m.lag.clone(),
        );
        s.register(
            "committed_offset",
            "The last offset this consumer committed (the next record to read)",
            m.committed.clone(),
        );
        s.register(
            "reloads",
            "Hot swaps of the chain (SIGHUP, --watch), by result",
            m.reloads.clone(),
        );
        s.register_with_unit(
            "event_time_watermark",
            "A stateful plugin's event-time watermark on an input partition, since the Unix epoch",
            Unit::Seconds,
            m.watermark.clone(),
        );
        s.register(
            "late_rows",
            "Input rows a stateful plugin dropped as late (Spark's numRowsDroppedByWatermark)",
            m.late_rows.clone(),
        );
        s.register_with_unit(
            "state",
            "The size of a stateful plugin's last checkpoint of an input partition",
            Unit::Bytes,
            m.state.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory of the host process",
            Unit::Bytes,
            m.rss.clone(),
        );
        (m, r)
    }
}
