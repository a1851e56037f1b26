//! Host-side work on packed batches: building them, reading values and
//! headers, metadata, picking rows, and how much memory one holds.

use super::rows;
use crate::plugin::bindings::{
    Batch, ByteValues, Column, Field, FieldType, Header, RecordMeta, Rows, Span, Values,
};

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
pub(super) fn values_as_rows(column: Column) -> Rows {
    Rows {
        fields: vec![value_field()],
        columns: vec![column],
    }
}

/// The field a `values` column holds: nullable binary.
pub(super) fn value_field() -> Field {
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
            .map(|i| match input.records.get(*i as usize) {
                Some(record) => RecordMeta {
                    value: None,
                    ..*record
                },
                None => bare_record(),
            })
            .collect();
        output.records = records;
        output.headers = input.headers.clone();
        output.data = input.data.clone();
        return;
    }
    for i in 0..output.records.len() {
        let meta = output.records[i];
        let Some(source) = input.records.get(output.inputs[i] as usize) else {
            continue;
        };
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

/// About how many bytes the host holds for `batch`: its buffers, one
/// descriptor per record and header, and its columns.
pub fn footprint(batch: &Batch) -> usize {
    let column = |c: &Column| {
        let values = match &c.values {
            Values::Bytes(b) => b.data.len() + b.offsets.len() * 4,
            Values::F64s(v) => v.len() * 8,
            Values::F32s(v) => v.len() * 4,
            Values::S64s(v) => v.len() * 8,
            Values::S32s(v) => v.len() * 4,
            Values::Bits(v) => v.len(),
            Values::Children => 0,
        };
        values + c.valid.as_ref().map_or(0, Vec::len)
    };
    batch.data.len()
        + batch.headers.len() * std::mem::size_of::<Header>()
        + batch.records.len() * std::mem::size_of::<RecordMeta>()
        + batch.inputs.len() * 4
        + batch.values.as_ref().map_or(0, column)
        + batch
            .rows
            .as_ref()
            .map_or(0, |r| r.columns.iter().map(column).sum())
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
    use crate::data::validate;

    use crate::data::fixtures::{batch, input, meta, output};

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
        validate::output(&out, 2).unwrap();
        let mut b = batch(out);
        inherit_metadata(&input, &mut b);
        assert_eq!(b.records[0].key.map(|k| bytes(&b, k)), Some(&b"k0"[..]));
        assert_eq!(headers(&b, 0).count(), 2);
        assert_eq!(b.records[0].timestamp, Some(1_700_000_000_000));
        assert!(b.records[1].key.is_none());
        assert_eq!(headers(&b, 1).count(), 0);
    }
}
