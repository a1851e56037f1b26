//! `window_agg`: Spark's windowed aggregation,
//! `groupBy(window(event_time, "1 minute"), ticker).agg(avg(price))`, with
//! its watermark, late-data and output-mode rules, on state the host
//! checkpoints (a `stateful-transform` plugin).
//!
//! - here: config, the per-batch algorithm (late rows, partial aggregates
//!   merged into the state, what each output mode emits and evicts), output.
//! - `agg`: the aggregate functions and their buffers.
//! - `interval`: Spark's interval strings (`1 minute`, `10 seconds`).
//! - `state`: the state and its snapshot encoding.

mod agg;
mod interval;
mod state;

use agg::{Agg, Buffer};
use sluice_sdk::{
    Cell, Config, Error, Field, FieldType, Input, NO_INPUT, Output, Stateful, Watermarks, field,
    info, key,
};
use state::{Group, State};
use std::collections::BTreeMap;

/// Spark's output modes for a streaming aggregation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Each window once, when the watermark passes its end.
    Append,
    /// The windows a batch changed, at every batch.
    Update,
    /// Every window, at every batch (nothing is evicted).
    Complete,
}

struct WindowAgg {
    time_column: String,
    /// Window length and slide, µs.
    window: i64,
    slide: i64,
    /// Watermark delay, µs (`None`: no watermark).
    delay: Option<i64>,
    group_by: Vec<String>,
    aggs: Vec<Agg>,
    mode: Mode,
    /// The output columns (set by `schema` once the input types are known).
    fields: Vec<Field>,
    state: State,
    /// Rows the last batch dropped as late.
    dropped: u64,
}

/// What the `group_by` and `agg` columns are typed as before the input's
/// schema is seen: the stock tick's columns.
const DEFAULT_TYPES: &[(&str, FieldType)] =
    &[("ticker", FieldType::String), ("price", FieldType::Double)];

impl WindowAgg {
    fn output_fields(&self, input: Option<&[Field]>) -> Result<Vec<Field>, String> {
        let type_of = |name: &str| -> Result<FieldType, String> {
            match input {
                Some(fields) => fields
                    .iter()
                    .find(|f| f.parent.is_none() && f.name == name)
                    .map(|f| f.ty)
                    .ok_or_else(|| {
                        let names: Vec<&str> = fields
                            .iter()
                            .filter(|f| f.parent.is_none())
                            .map(|f| f.name.as_str())
                            .collect();
                        format!(
                            "no column {name:?} in the input (its columns: {})",
                            names.join(", ")
                        )
                    }),
                None => Ok(DEFAULT_TYPES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(FieldType::Double, |(_, t)| *t)),
            }
        };
        let mut fields = vec![field("window", FieldType::Struct)];
        for name in ["start", "end"] {
            let mut f = field(name, FieldType::Timestamp);
            f.parent = Some(0);
            fields.push(f);
        }
        for g in &self.group_by {
            fields.push(field(g, type_of(g)?));
        }
        for a in &self.aggs {
            let input = match a.column() {
                Some(c) => Some(type_of(c)?),
                None => None,
            };
            fields.push(a.field(input)?);
        }
        Ok(fields)
    }

    /// The windows (start µs) that contain `t`, Spark's `window()`: the
    /// starts `t - (t mod slide) - k * slide` with `start <= t < start + window`.
    fn windows(&self, t: i64, each: &mut impl FnMut(i64)) {
        let last = t - t.rem_euclid(self.slide);
        for k in 0..(self.window + self.slide - 1) / self.slide {
            let start = last - k * self.slide;
            if start <= t && t < start + self.window {
                each(start);
            }
        }
    }

    fn push_row(
        &self,
        output: &mut Output,
        group: &Group,
        buffers: &[Buffer],
    ) -> Result<(), Error> {
        let rows = output
            .typed_row(NO_INPUT)
            .map_err(|e| Error::Fatal(format!("{e:?}")))?;
        rows.column(0).push_struct();
        rows.column(1).push_i64(group.start);
        rows.column(2).push_i64(group.start + self.window);
        let mut c = 3;
        for k in &group.keys {
            rows.column(c).push_cell(&k.cell());
            c += 1;
        }
        for (a, b) in self.aggs.iter().zip(buffers) {
            rows.column(c).push_cell(&a.result(b, self.fields[c].ty));
            c += 1;
        }
        Ok(())
    }
}

impl Stateful for WindowAgg {
    fn about() -> sluice_sdk::Info {
        let mut about = info(
            "Spark's windowed aggregation: groupBy(window(time_column, window, slide), group_by).agg(...), with a watermark and output modes",
            vec![
                key(
                    "time_column",
                    "The event-time column (a timestamp)",
                    Some("event_time"),
                ),
                key(
                    "window",
                    "Window length, e.g. `1 minute`, `10 seconds`",
                    Some("1 minute"),
                ),
                key(
                    "slide",
                    "Slide of sliding windows (default: the window length: tumbling)",
                    None,
                ),
                key(
                    "watermark",
                    "How late a record may be (withWatermark's delay); `none` for no watermark, which Spark allows in complete mode only",
                    Some("10 seconds"),
                ),
                key(
                    "group_by",
                    "Columns to group by, comma-separated (may be empty)",
                    Some("ticker"),
                ),
                key(
                    "agg",
                    "Aggregates: avg(c), sum(c), min(c), max(c), count(c), count(*)",
                    Some("avg(price)"),
                ),
                key(
                    "output_mode",
                    "append | update | complete (Spark's outputMode)",
                    Some("append"),
                ),
            ],
        );
        about.accepts = sluice_sdk::Accepts::Rows;
        about.reads_metadata = false;
        about
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let bad = Error::BadConfig;
        let time_column = config.get_or("time_column", "event_time").to_string();
        let window = interval::parse(config.get_or("window", "1 minute"))
            .map_err(|e| bad(format!("window: {e}")))?;
        let slide = match config.get("slide") {
            Some(s) => interval::parse(s).map_err(|e| bad(format!("slide: {e}")))?,
            None => window,
        };
        if slide > window {
            return Err(bad(format!(
                "slide ({}) must not be longer than the window ({})",
                interval::show(slide),
                interval::show(window)
            )));
        }
        let delay = match config.get_or("watermark", "10 seconds") {
            "none" => None,
            s => Some(interval::parse_delay(s).map_err(|e| bad(format!("watermark: {e}")))?),
        };
        let group_by: Vec<String> = config
            .get_or("group_by", "ticker")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let aggs = agg::parse_list(config.get_or("agg", "avg(price)"))
            .map_err(|e| bad(format!("agg: {e}")))?;
        let mode = match config
            .get_or("output_mode", "append")
            .to_ascii_lowercase()
            .as_str()
        {
            "append" => Mode::Append,
            "update" => Mode::Update,
            "complete" => Mode::Complete,
            other => {
                return Err(bad(format!(
                    "output_mode: {other:?} is not append, update or complete"
                )));
            }
        };
        if delay.is_none() && mode != Mode::Complete {
            return Err(bad(format!(
                "output_mode {}: Spark does not support append or update mode for a streaming aggregation without a watermark; set window_agg.watermark (e.g. 10 seconds, the default) or output_mode=complete",
                config.get_or("output_mode", "append")
            )));
        }
        let mut plugin = WindowAgg {
            time_column,
            window,
            slide,
            delay,
            group_by,
            aggs,
            mode,
            fields: Vec::new(),
            state: State::default(),
            dropped: 0,
        };
        plugin.fields = plugin.output_fields(None).map_err(bad)?;
        Ok(plugin)
    }

    fn schema(&self) -> Option<Vec<Field>> {
        Some(self.fields.clone())
    }

    fn event_time(&self) -> Option<(String, i64)> {
        // Complete mode keeps every window and drops nothing: Spark ignores
        // the watermark there.
        match self.mode {
            Mode::Complete => None,
            _ => self.delay.map(|d| (self.time_column.clone(), d)),
        }
    }

    fn process_batch(
        &mut self,
        input: &Input<'_>,
        watermarks: Watermarks,
        output: &mut Output,
    ) -> Result<(), Error> {
        if let Some(fields) = input.fields() {
            // Typed as the input is (a long `group_by` column stays a long).
            self.fields = self.output_fields(Some(fields)).map_err(Error::Fatal)?;
            let time = fields
                .iter()
                .find(|f| f.parent.is_none() && f.name == self.time_column);
            if time.is_none_or(|f| f.ty != FieldType::Timestamp) {
                return Err(Error::Fatal(format!(
                    "the input has no timestamp column {:?}; parse one with --config \"parse_stock.schema=event_time timestamp, ticker string, price double\" or set window_agg.time_column",
                    self.time_column
                )));
            }
        }
        // Spark's rules: a window ending at or before a watermark is past it.
        let before = |watermark: Option<i64>, start: i64| {
            watermark.is_some_and(|w| start + self.window <= w)
        };
        let late = |start: i64| before(watermarks.late_events, start);
        let expired = |start: i64| before(watermarks.eviction, start);
        // This batch's partial aggregates, merged into the state after (Spark's order of additions).
        let mut partial: BTreeMap<Group, Vec<Buffer>> = BTreeMap::new();
        let mut dropped = 0u64;
        for row in input.rows() {
            let Cell::Micros(t) = row.get(&self.time_column) else {
                continue; // Spark's window() of a null time is null: the row is in no window.
            };
            let keys: Vec<state::Key> = self
                .group_by
                .iter()
                .map(|g| state::Key::of(&row.get(g)))
                .collect();
            let mut starts = Vec::new();
            self.windows(t, &mut |s| starts.push(s));
            for start in starts {
                if late(start) {
                    dropped += 1;
                    continue;
                }
                let group = Group {
                    start,
                    keys: keys.clone(),
                };
                let buffers = partial
                    .entry(group)
                    .or_insert_with(|| self.aggs.iter().map(Agg::empty).collect());
                for (a, b) in self.aggs.iter().zip(buffers.iter_mut()) {
                    a.update(b, &row.get(a.column().unwrap_or("")));
                }
            }
        }
        self.dropped = dropped;
        let updated: Vec<Group> = partial.keys().cloned().collect();
        for (group, buffers) in partial {
            match self.state.groups.get_mut(&group) {
                Some(held) => {
                    for ((a, h), b) in self.aggs.iter().zip(held.iter_mut()).zip(&buffers) {
                        a.merge(h, b);
                    }
                }
                None => {
                    self.state.groups.insert(group, buffers);
                }
            }
        }
        match self.mode {
            Mode::Complete => {
                for (group, buffers) in &self.state.groups {
                    self.push_row(output, group, buffers)?;
                }
            }
            Mode::Update => {
                for group in &updated {
                    self.push_row(output, group, &self.state.groups[group])?;
                }
                self.state.groups.retain(|g, _| !expired(g.start));
            }
            Mode::Append => {
                let closed: Vec<Group> = self
                    .state
                    .groups
                    .keys()
                    .filter(|g| expired(g.start))
                    .cloned()
                    .collect();
                for group in closed {
                    let buffers = self.state.groups.remove(&group).expect("listed above");
                    self.push_row(output, &group, &buffers)?;
                }
            }
        }
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.dropped
    }

    fn snapshot(&self) -> Vec<u8> {
        self.state.encode()
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = State::decode(bytes, self.aggs.len()).map_err(Error::Fatal)?;
        Ok(())
    }
}

sluice_sdk::export_stateful!(WindowAgg);
