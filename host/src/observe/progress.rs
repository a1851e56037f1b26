//! Spark's `StreamingQueryProgress`, field for field as Spark writes it
//! (`sql/core/.../streaming/progress.scala`): the same names, the same
//! order, rates left out when undefined, offsets as `{"topic":{"0":n}}`,
//! the Kafka source's `*OffsetsBehindLatest` metrics as strings. Sluice's
//! own figures are under one extra key, `sluice`.

use crate::plugin::StageStats;
use serde::Serialize;
use std::collections::BTreeMap;

/// Offsets per topic and partition.
pub type Offsets = BTreeMap<String, BTreeMap<String, i64>>;

/// A UTC time as Spark writes it: `2026-11-29T06:13:16.123Z`.
pub fn iso8601(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// One progress report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub id: String,
    pub run_id: String,
    pub name: Option<String>,
    pub timestamp: String,
    pub batch_id: u64,
    pub num_input_rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_rows_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed_rows_per_second: Option<f64>,
    pub duration_ms: BTreeMap<&'static str, u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub event_time: BTreeMap<&'static str, String>,
    pub state_operators: Vec<serde_json::Value>,
    pub sources: Vec<SourceProgress>,
    pub sink: SinkProgress,
    pub sluice: Sluice,
}

/// The Kafka source's part of a report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceProgress {
    pub description: String,
    pub start_offset: Option<Offsets>,
    pub end_offset: Offsets,
    pub latest_offset: Offsets,
    pub num_input_rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_rows_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed_rows_per_second: Option<f64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<&'static str, String>,
}

/// The sink's part of a report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkProgress {
    pub description: String,
    pub num_output_rows: u64,
}

/// Sluice's own figures.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sluice {
    pub plugins: Vec<PluginProgress>,
    pub errors: BTreeMap<&'static str, u64>,
    pub committed_offsets: Offsets,
}

/// What one plugin did (in a batch, or since the start).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginProgress {
    pub name: String,
    pub records_in: u64,
    pub records_out: u64,
    pub errors: u64,
    pub time_ms: f64,
    pub traps: u64,
    pub restarts: u64,
    pub memory_bytes: u64,
}

impl PluginProgress {
    pub fn new(name: &str, s: &StageStats) -> Self {
        PluginProgress {
            name: name.to_string(),
            records_in: s.records_in,
            records_out: s.records_out,
            errors: s.errors,
            time_ms: (s.busy.as_secs_f64() * 1e6).round() / 1e3,
            traps: s.traps,
            restarts: s.restarts,
            memory_bytes: s.memory_high_water,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_as_spark_writes_them() {
        let t = chrono::DateTime::from_timestamp_micros(1_764_396_796_123_456).unwrap();
        assert_eq!(super::iso8601(t), "2025-11-29T06:13:16.123Z");
    }
}
