//! Host-side work on packed batches: building them, validating what a plugin
//! returns (never trusted), and splitting and merging them for bisection.

use super::rows;
use crate::plugin::bindings::{
    Batch, ByteValues, Column, Field, FieldType, Header, Output, Produced, RecordMeta, Rows, Span,
    Values,
};
use anyhow::{Result, bail};

/// One record as the host reads it from a source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputRecord<'a> {
    /// Key bytes; `None` is a null key.
    pub key: Option<&'a [u8]>,
    /// Value bytes; `None` is a null value.
    pub value: Option<&'a [u8]>,
    /// Headers, in order.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<i64>,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
}

/// Builds a packed batch from records, one copy of each byte: the values in
/// a binary column (`values`), keys and headers in `data`, the metadata in
/// `records`.
pub struct BatchBuilder {
    batch: Batch,
    offsets: Vec<u32>,
    values: Vec<u8>,
    valid: Vec<u8>,
    has_null: bool,
}

fn append(data: &mut Vec<u8>, bytes: &[u8]) -> Span {
    let offset = data.len() as u32;
    data.extend_from_slice(bytes);
    Span {
        offset,
        len: bytes.len() as u32,
    }
}

impl BatchBuilder {
    /// An empty builder with room for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(records + 1);
        offsets.push(0);
        BatchBuilder {
            batch: Batch {
                len: 0,
                data: Vec::new(),
                headers: Vec::new(),
                records: Vec::with_capacity(records),
                values: None,
                rows: None,
                inputs: Vec::new(),
            },
            offsets,
            values: Vec::with_capacity(bytes),
            valid: Vec::with_capacity(records.div_ceil(8)),
            has_null: false,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, record: &InputRecord<'_>) {
        let b = &mut self.batch;
        if b.len.is_multiple_of(8) {
            self.valid.push(0);
        }
        if let Some(v) = record.value {
            self.values.extend_from_slice(v);
            self.valid[b.len as usize / 8] |= 1 << (b.len % 8);
        } else {
            self.has_null = true;
        }
        self.offsets.push(self.values.len() as u32);
        b.len += 1;
        let key = record.key.map(|k| append(&mut b.data, k));
        let value = None;
        let first = b.headers.len() as u32;
        for (k, v) in &record.headers {
            let key = append(&mut b.data, k);
            let value = v.map(|v| append(&mut b.data, v));
            b.headers.push(Header { key, value });
        }
        b.records.push(RecordMeta {
            key,
            value,
            headers: Span {
                offset: first,
                len: record.headers.len() as u32,
            },
            timestamp: record.timestamp,
            partition: record.partition,
            offset: record.offset,
            topic: None,
            keep_metadata: true,
        });
    }

    /// Number of records added.
    pub fn len(&self) -> usize {
        self.batch.records.len()
    }

    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.batch.records.is_empty()
    }

    /// The packed batch.
    pub fn finish(self) -> Batch {
        let mut batch = self.batch;
        batch.values = Some(Column {
            valid: self.has_null.then_some(self.valid),
            values: Values::Bytes(ByteValues {
                offsets: self.offsets,
                data: self.values,
            }),
        });
        batch
    }
}

/// The bytes of `span` in `batch` (spans are validated before use).
pub fn bytes(batch: &Batch, span: Span) -> &[u8] {
    &batch.data[span.offset as usize..span.offset as usize + span.len as usize]
}

/// The raw value of row `i` (`None`: a null value), from the `values`
/// column or the records (not typed rows: see [`RowValues`]).
pub fn value(batch: &Batch, i: usize) -> Option<&[u8]> {
    match &batch.values {
        Some(column) => match (&column.values, rows::is_valid(column, i)) {
            (Values::Bytes(b), true) => {
                Some(&b.data[b.offsets[i] as usize..b.offsets[i + 1] as usize])
            }
            _ => None,
        },
        None => batch.records.get(i)?.value.map(|s| bytes(batch, s)),
    }
}

/// A batch's `values` column seen as typed rows of one binary field (to
/// validate, pick and join it with the typed-rows code).
fn values_as_rows(column: Column) -> Rows {
    Rows {
        fields: vec![value_field()],
        columns: vec![column],
    }
}

/// The field a `values` column holds: nullable binary.
fn value_field() -> Field {
    Field {
        name: "value".into(),
        ty: FieldType::Binary,
        nullable: true,
        parent: None,
    }
}

/// The values of a batch's rows as bytes: raw values as they are, typed
/// rows as one JSON object each (Spark's `to_json`).
pub struct RowValues<'b> {
    batch: &'b Batch,
    json: Option<rows::JsonRows>,
    scratch: Vec<u8>,
}

impl<'b> RowValues<'b> {
    /// The values of `batch`'s rows.
    pub fn new(batch: &'b Batch) -> Self {
        RowValues {
            batch,
            json: batch.rows.as_ref().map(|r| rows::JsonRows::new(&r.fields)),
            scratch: Vec::new(),
        }
    }

    /// Row `i`'s value (`None`: a null raw value).
    pub fn get(&mut self, i: usize) -> Option<&[u8]> {
        match (&self.batch.rows, &self.json) {
            (Some(typed), Some(json)) => {
                self.scratch.clear();
                json.write(&mut self.scratch, typed, i);
                Some(&self.scratch)
            }
            _ => value(self.batch, i),
        }
    }
}

/// The headers of record `i`.
pub fn headers(batch: &Batch, i: usize) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    let range = batch.records[i].headers;
    batch.headers[range.offset as usize..(range.offset + range.len) as usize]
        .iter()
        .map(move |h| (bytes(batch, h.key), h.value.map(|v| bytes(batch, v))))
}

fn check_span(what: &str, record: usize, span: Span, len: usize) -> Result<()> {
    let end = span.offset as u64 + span.len as u64;
    if end > len as u64 {
        bail!(
            "output record {record}: {what} span {}..{end} is outside the {len}-byte data buffer",
            span.offset
        );
    }
    Ok(())
}

/// Checks every offset of a batch a plugin returned: one record per row or
/// none, spans inside the data buffer, header ranges inside the header
/// list, topics in UTF-8, typed rows well formed (see [`rows::validate`]),
/// and (from a transform, `inputs` rows in the input) one existing input per
/// row. (Overlapping spans are harmless: each is only read.)
pub fn validate_batch(batch: &Batch, inputs: Option<usize>) -> Result<()> {
    let len = batch.len as usize;
    if !batch.records.is_empty() && batch.records.len() != len {
        bail!(
            "the batch has {} records for {len} rows (one per row, or none)",
            batch.records.len()
        );
    }
    if batch.rows.is_none() && batch.values.is_none() && batch.records.is_empty() && len > 0 {
        bail!("the batch has {len} rows but no records, values or typed rows");
    }
    if let Some(values) = &batch.values {
        rows::validate_column(&value_field(), values, len)
            .map_err(|e| anyhow::anyhow!("the values column: {e:#}"))?;
    }
    if let Some(inputs) = inputs {
        if batch.inputs.len() != len {
            bail!(
                "the batch names the inputs of {} rows, but has {len}",
                batch.inputs.len()
            );
        }
        if let Some((i, input)) = batch
            .inputs
            .iter()
            .enumerate()
            .find(|(_, input)| **input as usize >= inputs)
        {
            bail!(
                "output record {i} claims to come from input {input} but the batch had {inputs} records"
            );
        }
    }
    let data = batch.data.len();
    for (i, h) in batch.headers.iter().enumerate() {
        check_span("header name", i, h.key, data)?;
        if let Some(v) = h.value {
            check_span("header value", i, v, data)?;
        }
    }
    for (i, r) in batch.records.iter().enumerate() {
        if let Some(k) = r.key {
            check_span("key", i, k, data)?;
        }
        if let Some(v) = r.value {
            check_span("value", i, v, data)?;
        }
        let end = r.headers.offset as u64 + r.headers.len as u64;
        if end > batch.headers.len() as u64 {
            bail!(
                "output record {i}: headers {}..{end} are outside the {}-header list",
                r.headers.offset,
                batch.headers.len()
            );
        }
        if let Some(t) = r.topic {
            check_span("topic", i, t, data)?;
            if std::str::from_utf8(bytes(batch, t)).is_err() {
                bail!("output record {i}: the topic name is not UTF-8");
            }
        }
    }
    if let Some(typed) = &batch.rows {
        rows::validate(typed, len)?;
    }
    Ok(())
}

/// Checks what `process` returned for a batch of `inputs` rows.
pub fn validate(output: &Output, inputs: usize) -> Result<()> {
    match &output.produced {
        Produced::Batch(batch) => validate_batch(batch, Some(inputs))?,
        Produced::Selection(rows) => {
            if let Some(bad) = rows.iter().find(|r| **r as usize >= inputs) {
                bail!("the selection names row {bad} but the batch had {inputs} rows");
            }
            if rows.windows(2).any(|w| w[0] >= w[1]) {
                bail!("the selection's rows are not strictly increasing");
            }
        }
    }
    for e in &output.errors {
        if e.input as usize >= inputs {
            bail!(
                "a record error names input {} but the batch had {inputs} records",
                e.input
            );
        }
    }
    Ok(())
}

/// Copies the headers `range` of `from` into another batch's `data` and
/// `headers`; returns their range there.
pub fn copy_headers(
    from: &Batch,
    range: Span,
    data: &mut Vec<u8>,
    headers: &mut Vec<Header>,
) -> Span {
    let first = headers.len() as u32;
    for h in &from.headers[range.offset as usize..(range.offset + range.len) as usize] {
        let key = append(data, bytes(from, h.key));
        let value = h.value.map(|v| append(data, bytes(from, v)));
        headers.push(Header { key, value });
    }
    Span {
        offset: first,
        len: range.len,
    }
}

/// Whether any record of `batch` carries metadata a plugin set (so later
/// rows must inherit it rather than the source record's).
pub fn has_own_metadata(batch: &Batch) -> bool {
    batch.records.iter().any(|r| {
        r.key.is_some()
            || r.headers.len > 0
            || r.timestamp.is_some()
            || r.topic.is_some()
            || !r.keep_metadata
    })
}

/// Fills what `output`'s records left unset (key, headers, timestamp, when
/// `keep-metadata`) from the records of `input` they came from. Call only
/// on a validated output whose input carries metadata of its own.
pub fn inherit_metadata(input: &Batch, output: &mut Batch) {
    if input.records.is_empty() {
        return;
    }
    if output.records.is_empty() {
        // Typed rows that set nothing: each takes its input's record, value aside.
        let records = output
            .inputs
            .iter()
            .map(|i| RecordMeta {
                value: None,
                ..input.records[*i as usize]
            })
            .collect();
        output.records = records;
        output.headers = input.headers.clone();
        output.data = input.data.clone();
        return;
    }
    for i in 0..output.records.len() {
        let meta = output.records[i];
        let source = &input.records[output.inputs[i] as usize];
        let mut fixed = meta;
        if meta.keep_metadata {
            if meta.key.is_none() {
                fixed.key = source
                    .key
                    .map(|k| append(&mut output.data, bytes(input, k)));
            }
            if meta.headers.len == 0 && source.headers.len > 0 {
                fixed.headers =
                    copy_headers(input, source.headers, &mut output.data, &mut output.headers);
            }
            if meta.timestamp.is_none() {
                fixed.timestamp = source.timestamp;
            }
            if meta.topic.is_none() {
                fixed.topic = source
                    .topic
                    .map(|t| append(&mut output.data, bytes(input, t)));
            }
        }
        output.records[i] = fixed;
    }
}

/// The rows at `indices` of a validated batch, in that order (the records'
/// bytes stay where they are: only the descriptors are picked).
pub fn take(batch: &Batch, indices: &[u32]) -> Batch {
    Batch {
        len: indices.len() as u32,
        data: batch.data.clone(),
        headers: batch.headers.clone(),
        records: if batch.records.is_empty() {
            Vec::new()
        } else {
            indices.iter().map(|i| batch.records[*i as usize]).collect()
        },
        values: batch.values.as_ref().map(|v| rows::take_column(v, indices)),
        rows: batch.rows.as_ref().map(|r| rows::take(r, indices)),
        inputs: if batch.inputs.is_empty() {
            Vec::new()
        } else {
            indices.iter().map(|i| batch.inputs[*i as usize]).collect()
        },
    }
}

/// Rows `range` of `batch` as a batch of their own (for bisection).
pub fn slice(batch: &Batch, range: std::ops::Range<usize>) -> Batch {
    let indices: Vec<u32> = (range.start as u32..range.end as u32).collect();
    take(batch, &indices)
}

/// The output of a slice as a batch: a selection becomes the slice's rows.
fn as_batch(part: Output, input: &Batch) -> (Batch, Vec<crate::plugin::bindings::RecordError>) {
    match part.produced {
        Produced::Batch(b) => (b, part.errors),
        Produced::Selection(rows) => {
            let mut b = take(input, &rows);
            b.inputs = rows;
            (b, part.errors)
        }
    }
}

/// Puts together the outputs of the slices of a bisected batch: `parts` are
/// (first input row of the slice, the slice, its output) in order.
pub fn merge(parts: Vec<(u32, Batch, Output)>) -> Result<Output> {
    if parts
        .iter()
        .all(|(_, _, o)| matches!(o.produced, Produced::Selection(_)))
    {
        let mut selection = Vec::new();
        let mut errors = Vec::new();
        for (first, _, part) in parts {
            if let Produced::Selection(rows) = part.produced {
                selection.extend(rows.into_iter().map(|r| r + first));
            }
            errors.extend(part.errors.into_iter().map(|mut e| {
                e.input += first;
                e
            }));
        }
        return Ok(Output {
            produced: Produced::Selection(selection),
            errors,
        });
    }
    let mut acc = empty_batch();
    let mut errors = Vec::new();
    for (first, slice, part) in parts {
        let (part, part_errors) = as_batch(part, &slice);
        errors.extend(part_errors.into_iter().map(|mut e| {
            e.input += first;
            e
        }));
        append_batch(&mut acc, part, first)?;
    }
    Ok(Output {
        produced: Produced::Batch(acc),
        errors,
    })
}

/// `b`'s raw values as one binary column (its `values`, or its records').
fn values_column(b: &Batch) -> Column {
    if let Some(values) = &b.values {
        return values.clone();
    }
    let mut column = BatchBuilder::with_capacity(b.len as usize, b.data.len());
    for i in 0..b.len as usize {
        column.push(&InputRecord {
            value: value(b, i),
            ..Default::default()
        });
    }
    column
        .finish()
        .values
        .expect("a builder's batch has values")
}

fn append_batch(acc: &mut Batch, part: Batch, first: u32) -> Result<()> {
    if part.len == 0 {
        return Ok(());
    }
    if acc.len > 0 && (acc.rows.is_some() != part.rows.is_some()) {
        bail!("the plugin returned typed rows for some records and raw values for others");
    }
    // Raw values held in a column on either side: join them as one column.
    let joined_values = if acc.values.is_some() || part.values.is_some() {
        let mut joined = values_as_rows(values_column(acc));
        let more = values_as_rows(values_column(&part));
        rows::concat(&mut joined, acc.len as usize, more, part.len as usize)?;
        joined.columns.pop()
    } else {
        None
    };
    let data_base = acc.data.len() as u32;
    let header_base = acc.headers.len() as u32;
    let shift = |s: Span| Span {
        offset: s.offset + data_base,
        len: s.len,
    };
    if acc.records.is_empty() && acc.len > 0 && !part.records.is_empty() {
        acc.records = (0..acc.len).map(|_| bare_record()).collect();
    }
    acc.data.extend_from_slice(&part.data);
    acc.headers.extend(part.headers.iter().map(|h| Header {
        key: shift(h.key),
        value: h.value.map(shift),
    }));
    if !part.records.is_empty() {
        acc.records.extend(part.records.iter().map(|r| RecordMeta {
            key: r.key.map(shift),
            value: r.value.map(shift),
            headers: Span {
                offset: r.headers.offset + header_base,
                len: r.headers.len,
            },
            topic: r.topic.map(shift),
            ..*r
        }));
    } else if !acc.records.is_empty() {
        acc.records.extend((0..part.len).map(|_| bare_record()));
    }
    acc.inputs.extend(part.inputs.iter().map(|i| i + first));
    match (&mut acc.rows, part.rows) {
        (Some(rows), Some(more)) => rows::concat(rows, acc.len as usize, more, part.len as usize)?,
        (None, Some(more)) => acc.rows = Some(more),
        _ => {}
    }
    if let Some(values) = joined_values {
        acc.values = Some(values);
    }
    acc.len += part.len;
    Ok(())
}

/// A record with nothing set: it inherits everything.
pub fn bare_record() -> RecordMeta {
    RecordMeta {
        key: None,
        value: None,
        headers: Span { offset: 0, len: 0 },
        timestamp: None,
        partition: 0,
        offset: 0,
        topic: None,
        keep_metadata: true,
    }
}

/// A batch of no rows.
pub fn empty_batch() -> Batch {
    Batch {
        len: 0,
        data: Vec::new(),
        headers: Vec::new(),
        records: Vec::new(),
        values: None,
        rows: None,
        inputs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::RecordError;

    fn input() -> Batch {
        let mut b = BatchBuilder::with_capacity(2, 64);
        b.push(&InputRecord {
            key: Some(b"k0"),
            value: Some(b"v0"),
            headers: vec![(b"h", Some(b"x")), (b"n", None)],
            timestamp: Some(1_700_000_000_000),
            partition: 3,
            offset: 41,
        });
        b.push(&InputRecord {
            value: None,
            partition: 3,
            offset: 42,
            ..Default::default()
        });
        b.finish()
    }

    fn output(records: Vec<RecordMeta>, inputs: Vec<u32>, data: &[u8]) -> Output {
        Output {
            produced: Produced::Batch(Batch {
                len: records.len() as u32,
                data: data.to_vec(),
                headers: Vec::new(),
                records,
                values: None,
                rows: None,
                inputs,
            }),
            errors: Vec::new(),
        }
    }

    fn meta(value: Option<Span>, keep: bool) -> RecordMeta {
        RecordMeta {
            value,
            keep_metadata: keep,
            ..bare_record()
        }
    }

    fn batch(output: Output) -> Batch {
        match output.produced {
            Produced::Batch(b) => b,
            Produced::Selection(_) => panic!("a selection"),
        }
    }

    #[test]
    fn builder_packs_keys_values_and_headers() {
        let b = input();
        assert_eq!(b.len, 2);
        assert_eq!(value(&b, 0), Some(&b"v0"[..]));
        assert_eq!(value(&b, 1), None);
        let headers: Vec<_> = headers(&b, 0).collect();
        assert_eq!(headers, [(&b"h"[..], Some(&b"x"[..])), (&b"n"[..], None)]);
    }

    #[test]
    fn outputs_inherit_the_inputs_metadata_unless_told_not_to() {
        let input = input();
        let span = Some(Span { offset: 0, len: 3 });
        let out = output(
            vec![meta(span, true), meta(span, false)],
            vec![0, 0],
            b"out",
        );
        validate(&out, 2).unwrap();
        let mut b = batch(out);
        inherit_metadata(&input, &mut b);
        assert_eq!(b.records[0].key.map(|k| bytes(&b, k)), Some(&b"k0"[..]));
        assert_eq!(headers(&b, 0).count(), 2);
        assert_eq!(b.records[0].timestamp, Some(1_700_000_000_000));
        assert!(b.records[1].key.is_none());
        assert_eq!(headers(&b, 1).count(), 0);
    }

    #[test]
    fn invalid_outputs_are_refused() {
        let bad_span = output(
            vec![meta(Some(Span { offset: 2, len: 5 }), true)],
            vec![0],
            b"abc",
        );
        assert!(
            validate(&bad_span, 1)
                .unwrap_err()
                .to_string()
                .contains("outside the 3-byte data buffer")
        );
        let bad_input = output(vec![meta(None, true)], vec![7], b"");
        assert!(
            validate(&bad_input, 2)
                .unwrap_err()
                .to_string()
                .contains("claims to come from input 7")
        );
        let missing_inputs = output(vec![meta(None, true)], vec![], b"");
        assert!(validate(&missing_inputs, 2).is_err());
        let mut bad_headers = output(vec![meta(None, true)], vec![0], b"");
        if let Produced::Batch(b) = &mut bad_headers.produced {
            b.records[0].headers = Span { offset: 0, len: 1 };
        }
        assert!(validate(&bad_headers, 1).is_err());
        let mut bad_error = output(vec![], vec![], b"");
        bad_error.errors.push(RecordError {
            input: 9,
            message: "x".into(),
        });
        assert!(validate(&bad_error, 1).is_err());
        let overflow = output(
            vec![meta(
                Some(Span {
                    offset: u32::MAX,
                    len: u32::MAX,
                }),
                true,
            )],
            vec![0],
            b"",
        );
        assert!(validate(&overflow, 1).is_err());
        let selection = |rows: Vec<u32>| Output {
            produced: Produced::Selection(rows),
            errors: Vec::new(),
        };
        assert!(validate(&selection(vec![0, 1]), 2).is_ok());
        assert!(validate(&selection(vec![1, 0]), 2).is_err());
        assert!(validate(&selection(vec![0, 0]), 2).is_err());
        assert!(validate(&selection(vec![2]), 2).is_err());
    }

    #[test]
    fn slices_and_merges_keep_inputs_and_spans_straight() {
        let input = input();
        let second = slice(&input, 1..2);
        assert_eq!(second.len, 1);
        assert_eq!(second.records[0].offset, 42);
        let first = slice(&input, 0..1);
        let span = Some(Span { offset: 0, len: 2 });
        let mut part = output(vec![meta(span, true)], vec![0], b"bb");
        part.errors.push(RecordError {
            input: 0,
            message: "no".into(),
        });
        let merged = merge(vec![
            (0, first, output(vec![meta(span, true)], vec![0], b"aa")),
            (1, second, part),
        ])
        .unwrap();
        validate(&merged, 2).unwrap();
        assert_eq!(merged.errors[0].input, 1);
        let b = batch(merged);
        assert_eq!(value(&b, 0), Some(&b"aa"[..]));
        assert_eq!(value(&b, 1), Some(&b"bb"[..]));
        assert_eq!(b.inputs, [0, 1]);
        let keep = |rows: Vec<u32>| Output {
            produced: Produced::Selection(rows),
            errors: Vec::new(),
        };
        let merged = merge(vec![
            (0, slice(&input, 0..1), keep(vec![])),
            (1, slice(&input, 1..2), keep(vec![0])),
        ])
        .unwrap();
        assert_eq!(merged.produced, Produced::Selection(vec![1]));
    }
}
