//! A chain of transforms: each maps a batch to a batch, and every output
//! keeps the index of the source record it came from, through every stage.
//!
//! Between stages the rows stay as the last plugin returned them: typed
//! columns are handed to the next plugin as they are (a plugin that reads
//! only raw values gets them encoded as JSON objects, Spark's `to_json`), a
//! filter's selection picks rows without a plugin copying any bytes, and a
//! stage that does not read metadata gets none. Metadata (key, headers,
//! timestamp) stays with the source records unless a plugin sets its own;
//! the sink takes it from [`ChainOutput::key`] and friends, once, at the end.

use super::bindings::{Accepts, Batch, Field, FieldType, Produced, Span};
use super::engine::{Plugin, World};
use super::instance::{OutputTooLarge, Stage};
use crate::data::batch::{
    self, BatchBuilder, InputRecord, bare_record, bytes, has_own_metadata, inherit_metadata,
};
use crate::data::bisect;
use crate::data::processed::{ChainError, ChainOutput};
use crate::data::{NO_INPUT, rows, type_name};
use anyhow::{Result, bail};
use std::sync::Arc;

/// The rows between two stages.
struct Current {
    batch: Option<Batch>,
    origin: Vec<u32>,
    /// Whether the records carry metadata a plugin set (else the source's is current).
    own_metadata: bool,
    /// Which plugin made the rows (for messages).
    made_by: Option<Arc<str>>,
}

/// The transforms of a pipeline, in order, each with its live instance.
pub struct Chain {
    stages: Vec<Stage>,
}

impl Chain {
    /// Instantiates and initialises every plugin.
    pub fn new(plugins: &[Arc<Plugin>]) -> Result<Chain> {
        let stages = plugins
            .iter()
            .map(|p| Stage::new(p.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Chain { stages })
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// What keeps this chain from working (see [`problems`]).
    pub fn problems(&self) -> Vec<String> {
        problems(&self.stages)
    }

    /// The columns of the chain's output: the last stage's declared schema.
    pub fn schema(&self) -> Option<&[Field]> {
        self.stages.last().and_then(Stage::schema)
    }

    /// Runs `source` through every stage and hands each output to `each`
    /// with the source rows it covers: the whole batch, or, where a plugin's
    /// output is more than the host holds ([`OutputTooLarge`]), each half of
    /// it, split again as needed. `each` gets the part of `source` (the rows
    /// its output's indices refer to) and where that part starts.
    pub fn process_parts(
        &mut self,
        source: &Batch,
        first: usize,
        each: &mut dyn FnMut(&Batch, usize, ChainOutput<'_>) -> Result<()>,
    ) -> Result<()> {
        match self.process(source) {
            Ok(out) => each(source, first, out),
            Err(e) if e.is::<OutputTooLarge>() && source.len > 1 => {
                let mid = source.len as usize / 2;
                for part in [0..mid, mid..source.len as usize] {
                    let start = part.start;
                    let half = bisect::slice(source, part);
                    self.process_parts(&half, first + start, each)?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Runs one batch of source records through every stage.
    pub fn process<'s>(&mut self, source: &'s Batch) -> Result<ChainOutput<'s>> {
        self.run_from(0, source)
    }

    /// Whether a stateful stage's watermark moved since its last call, so
    /// a no-data call ([`Chain::tick`]) would close windows.
    pub fn due(&self) -> bool {
        self.stages.iter().any(Stage::due)
    }

    /// Spark's no-data micro-batch: the first stateful stage whose watermark
    /// moved gets an empty batch, and what it emits (windows the watermark
    /// closed) runs through the stages after it. `None` when none is due.
    pub fn tick<'s>(&mut self, empty: &'s Batch) -> Result<Option<ChainOutput<'s>>> {
        match self.stages.iter().position(Stage::due) {
            Some(first) => self.run_from(first, empty).map(Some),
            None => Ok(None),
        }
    }

    /// The stateful stage, if any (a chain holds at most one: see [`problems`]).
    pub fn stateful(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.stateful())
    }

    /// The stateful stage, to restore a checkpoint into.
    pub fn stateful_mut(&mut self) -> Option<&mut Stage> {
        self.stages.iter_mut().find(|s| s.stateful())
    }

    /// Runs `source` through the stages from `first` on.
    fn run_from<'s>(&mut self, first: usize, source: &'s Batch) -> Result<ChainOutput<'s>> {
        let mut cur = Current {
            batch: None,
            origin: (0..source.len).collect(),
            own_metadata: false,
            made_by: None,
        };
        let mut errors = Vec::new();
        for stage in &mut self.stages[first..] {
            let name = stage.plugin().name.clone();
            let input = stage_input(stage, &cur, source)?;
            let output = stage.process(
                input
                    .as_ref()
                    .unwrap_or_else(|| cur.batch.as_ref().unwrap_or(source)),
            )?;
            let given = input
                .as_ref()
                .unwrap_or_else(|| cur.batch.as_ref().unwrap_or(source));
            errors.extend(output.errors.iter().map(|e| ChainError {
                input: cur.origin[e.input as usize],
                plugin: name.clone(),
                message: e.message.clone(),
            }));
            let (next, origin) = match output.produced {
                Produced::Selection(keep) => {
                    if keep.len() == given.len as usize && input.is_none() {
                        // Every row passed: nothing changes.
                        continue;
                    }
                    let origin = keep.iter().map(|i| cur.origin[*i as usize]).collect();
                    let mut picked = batch::take(cur.batch.as_ref().unwrap_or(source), &keep);
                    picked.inputs.clear();
                    (picked, origin)
                }
                Produced::Batch(mut next) => {
                    let origin = next
                        .inputs
                        .iter()
                        .map(|i| cur.origin.get(*i as usize).copied().unwrap_or(NO_INPUT))
                        .collect();
                    if cur.own_metadata {
                        inherit_metadata(cur.batch.as_ref().unwrap_or(source), &mut next);
                    }
                    cur.own_metadata = cur.own_metadata || has_own_metadata(&next);
                    cur.made_by = Some(name.clone());
                    next.inputs.clear();
                    (next, origin)
                }
            };
            cur.batch = Some(next);
            cur.origin = origin;
        }
        Ok(ChainOutput::new(source, cur.batch, cur.origin, errors))
    }
}

/// What `stage` is given, when it is not the current rows as they are:
/// typed rows encoded as JSON for a plugin that reads only raw values, the
/// source's metadata for a plugin that reads it, or typed rows without
/// their records for a plugin that does not.
fn stage_input(stage: &Stage, cur: &Current, source: &Batch) -> Result<Option<Batch>> {
    let Some(b) = cur.batch.as_ref() else {
        if source.len == 0 {
            // A no-data call: nothing to encode or refuse.
            return Ok(None);
        }
        if stage.accepts() == Accepts::Rows {
            bail!(
                "plugin {:?} reads typed rows, but gets raw values from the source; put a parser such as parse_stock before it",
                stage.plugin().name
            );
        }
        return Ok(None);
    };
    let reads_metadata = stage.reads_metadata();
    let bare = |rows, values| Batch {
        len: b.len,
        data: Vec::new(),
        headers: Vec::new(),
        records: Vec::new(),
        values,
        rows,
        inputs: Vec::new(),
    };
    match (&b.rows, stage.accepts()) {
        (None, Accepts::Rows) => bail!(
            "plugin {:?} reads typed rows, but {} writes raw values; put a parser such as parse_stock between them",
            stage.plugin().name,
            cur.made_by.as_deref().unwrap_or("the source")
        ),
        (None, _) if reads_metadata && !cur.own_metadata => {
            Ok(Some(with_source_metadata(b, cur, source, false)))
        }
        (None, _) => Ok(None),
        (Some(typed), Accepts::Raw) if !reads_metadata => {
            // Each row as one JSON object, in a values column.
            let json = rows::JsonRows::new(&typed.fields);
            let mut values = BatchBuilder::with_capacity(b.len as usize, b.len as usize * 64);
            let mut scratch = Vec::new();
            for i in 0..b.len as usize {
                scratch.clear();
                json.write(&mut scratch, typed, i);
                values.push(&InputRecord {
                    value: Some(&scratch),
                    ..Default::default()
                });
            }
            Ok(Some(bare(None, values.finish().values)))
        }
        (Some(_), Accepts::Raw) => Ok(Some(with_source_metadata(b, cur, source, true))),
        (Some(_), _) if reads_metadata && !cur.own_metadata => {
            Ok(Some(with_source_metadata(b, cur, source, false)))
        }
        (Some(typed), _) if !reads_metadata && !b.records.is_empty() => {
            Ok(Some(bare(Some(typed.clone()), None)))
        }
        (Some(_), _) => Ok(None),
    }
}

/// A copy of `b` whose records carry each row's current metadata (its own,
/// else its source record's); with `encode`, typed rows become raw JSON values.
fn with_source_metadata(b: &Batch, cur: &Current, source: &Batch, encode: bool) -> Batch {
    let mut out = Batch {
        len: b.len,
        data: Vec::with_capacity(b.data.len()),
        headers: Vec::new(),
        records: Vec::with_capacity(b.len as usize),
        values: None,
        rows: if encode { None } else { b.rows.clone() },
        inputs: Vec::new(),
    };
    let json = rows::JsonRows::new(b.rows.as_ref().map_or(&[][..], |r| &r.fields));
    let append = |data: &mut Vec<u8>, bytes: &[u8]| {
        let offset = data.len() as u32;
        data.extend_from_slice(bytes);
        Span {
            offset,
            len: bytes.len() as u32,
        }
    };
    for i in 0..b.len as usize {
        let src = source
            .records
            .get(cur.origin[i] as usize)
            .copied()
            .unwrap_or_else(bare_record);
        let (from, meta) = match b.records.get(i) {
            Some(own) if cur.own_metadata => (b, *own),
            _ => (source, src),
        };
        let mut record = bare_record();
        record.key = meta.key.map(|k| append(&mut out.data, bytes(from, k)));
        record.headers = batch::copy_headers(from, meta.headers, &mut out.data, &mut out.headers);
        record.timestamp = meta.timestamp;
        record.partition = src.partition;
        record.offset = src.offset;
        record.value = match &b.rows {
            Some(typed) if encode => {
                let start = out.data.len();
                json.write(&mut out.data, typed, i);
                Some(Span {
                    offset: start as u32,
                    len: (out.data.len() - start) as u32,
                })
            }
            Some(_) => None,
            None => batch::value(b, i).map(|v| append(&mut out.data, v)),
        };
        out.records.push(record);
    }
    out
}

/// What keeps `stages` from working as a chain: a first plugin that reads
/// typed rows (the source gives raw values), or a plugin that declares a
/// column the one before it produces with another type, or requires one it
/// does not produce. What `--check` and a hot swap refuse.
pub fn problems(stages: &[Stage]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(first) = stages.first()
        && first.plugin().world == World::Transform
        && first.accepts() == Accepts::Rows
    {
        problems.push(format!(
            "plugin {:?} reads typed rows, but the source gives raw values; put a parser such as parse_stock before it",
            first.plugin().name
        ));
    }
    for pair in stages.windows(2) {
        problems.extend(fit(&pair[0], &pair[1]));
    }
    for (i, stage) in stages.iter().enumerate() {
        let (Some(column), Some(before)) = (
            stage.event_time(),
            i.checked_sub(1).and_then(|p| stages[p].schema()),
        ) else {
            continue;
        };
        let (name, previous) = (&stage.plugin().name, &stages[i - 1].plugin().name);
        let fix = "parse it as one: --config \"parse_stock.schema=event_time timestamp, ticker string, price double\"";
        match before.iter().find(|f| f.parent.is_none() && f.name == column) {
            Some(f) if f.ty == FieldType::Timestamp => {}
            Some(f) => problems.push(format!(
                "plugin {name:?} takes column {column:?} as its event time, which must be a timestamp, but {previous:?} produces it as {}; {fix}",
                type_name(f.ty)
            )),
            None => problems.push(format!(
                "plugin {name:?} takes column {column:?} as its event time, but {previous:?} does not produce it (its columns: {}); {fix}",
                ddl(before)
            )),
        }
    }
    let stateful: Vec<&str> = stages
        .iter()
        .filter(|s| s.stateful())
        .map(|s| &*s.plugin().name)
        .collect();
    if stateful.len() > 1 {
        problems.push(format!(
            "plugins {} all keep state; a chain may hold one stateful plugin (its checkpoint is one record per partition): run the others in a second `host run` reading this one's output topic",
            stateful.join(", ")
        ));
    }
    problems
}

/// A schema as Spark DDL (a struct's fields inside it:
/// `window struct<start: timestamp, end: timestamp>`).
pub fn ddl(fields: &[Field]) -> String {
    fn level(fields: &[Field], parent: Option<usize>, sep: &str) -> String {
        let cols: Vec<String> = rows::children(fields, parent)
            .map(|i| {
                let f = &fields[i];
                let not_null = if f.nullable { "" } else { " NOT NULL" };
                let ty = match f.ty {
                    FieldType::Struct => format!("struct<{}>", level(fields, Some(i), ": ")),
                    ty => type_name(ty).to_string(),
                };
                format!("{}{sep}{ty}{not_null}", f.name)
            })
            .collect();
        cols.join(", ")
    }
    level(fields, None, " ")
}

/// Problems where `next` declares a column that `previous` declares with
/// another type, or requires (NOT NULL) a column `previous` never produces.
fn fit(previous: &Stage, next: &Stage) -> Vec<String> {
    let (Some(before), Some(after)) = (previous.schema(), next.schema()) else {
        return Vec::new();
    };
    // The contract has no input schema: a plugin's declared columns are
    // read as what it expects, which holds for filters (schema_filter) but
    // not for a select list, whose columns are its output.
    if next.computes_columns() {
        return Vec::new();
    }
    let (a, b) = (&previous.plugin().name, &next.plugin().name);
    after
        .iter()
        .filter_map(|f| match before.iter().find(|g| g.name == f.name) {
            Some(g) if type_name(g.ty) != type_name(f.ty) => Some(format!(
                "plugin {b:?} expects column {:?} as {}, but {a:?} produces it as {}",
                f.name,
                type_name(f.ty),
                type_name(g.ty)
            )),
            None if !f.nullable => Some(format!(
                "plugin {b:?} requires column {:?} (NOT NULL), which {a:?} does not produce (its columns: {})",
                f.name,
                ddl(before)
            )),
            _ => None,
        })
        .collect()
}
