//! Reading packed input batches and building packed output batches.

use crate::Fail;
use crate::wit::types::{Batch, Header, RecordError, RecordMeta, Span};

fn slice(data: &[u8], span: Span) -> &[u8] {
    let start = span.offset as usize;
    data.get(start..start + span.len as usize).unwrap_or(&[])
}

/// One input record: a view into a packed batch, nothing copied.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    batch: &'a Batch,
    meta: &'a RecordMeta,
    index: u32,
}

impl<'a> Record<'a> {
    /// Every record of `batch`, in order.
    pub fn all(batch: &'a Batch) -> impl Iterator<Item = Record<'a>> + 'a {
        batch
            .records
            .iter()
            .enumerate()
            .map(move |(i, meta)| Record {
                batch,
                meta,
                index: i as u32,
            })
    }

    /// The record's position in its batch (what record errors refer to).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The value bytes; `None` for a null value (a Kafka tombstone).
    pub fn value(&self) -> Option<&'a [u8]> {
        self.meta.value.map(|s| slice(&self.batch.data, s))
    }

    /// The value as UTF-8 text; a record error if it is not UTF-8.
    pub fn value_str(&self) -> Result<Option<&'a str>, Fail> {
        self.value()
            .map(|v| {
                std::str::from_utf8(v).map_err(|e| Fail::Record(format!("value is not UTF-8: {e}")))
            })
            .transpose()
    }

    /// The key bytes; `None` for a null key.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.meta.key.map(|s| slice(&self.batch.data, s))
    }

    /// The headers, as (name, value) byte pairs, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let data = &self.batch.data;
        let range = self.meta.headers;
        let start = range.offset as usize;
        self.batch
            .headers
            .get(start..start + range.len as usize)
            .unwrap_or(&[])
            .iter()
            .map(move |h| (slice(data, h.key), h.value.map(|v| slice(data, v))))
    }

    /// The first header called `name`, if any.
    pub fn header(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.headers()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// Milliseconds since the Unix epoch, if the record has a timestamp.
    pub fn timestamp(&self) -> Option<i64> {
        self.meta.timestamp
    }

    /// The Kafka partition the record was read from.
    pub fn partition(&self) -> i32 {
        self.meta.partition
    }

    /// The Kafka offset of the record.
    pub fn offset(&self) -> i64 {
        self.meta.offset
    }

    /// Reads a numeric field of a JSON-object value: `Ok(None)` when the
    /// value is null or the field is missing or null, a record error when the
    /// value is not a JSON object or the field is not a number.
    pub fn json_f64(&self, field: &str) -> Result<Option<f64>, Fail> {
        let Some(value) = self.value() else {
            return Ok(None);
        };
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(value)?;
        match object.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(Fail::Record(format!(
                "field {field:?} is not a number: {other}"
            ))),
        }
    }
}

/// Builds a packed batch record by record.
#[derive(Default)]
pub struct BatchBuilder {
    data: Vec<u8>,
    headers: Vec<Header>,
    records: Vec<RecordMeta>,
}

impl BatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of records added so far.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was added yet.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn append(&mut self, bytes: &[u8]) -> Span {
        let offset = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        Span {
            offset,
            len: bytes.len() as u32,
        }
    }

    /// Adds a record whose value `write` appends to the buffer it is given
    /// (so a value can be serialised in place, without a temporary).
    pub fn push_with(&mut self, input: u32, write: impl FnOnce(&mut Vec<u8>)) -> Emitted<'_> {
        let offset = self.data.len();
        write(&mut self.data);
        let value = Span {
            offset: offset as u32,
            len: (self.data.len() - offset) as u32,
        };
        self.push_meta(input, Some(value))
    }

    /// Adds a record with the given value (`None` is a null value).
    pub fn push(&mut self, input: u32, value: Option<&[u8]>) -> Emitted<'_> {
        let value = value.map(|v| self.append(v));
        self.push_meta(input, value)
    }

    fn push_meta(&mut self, input: u32, value: Option<Span>) -> Emitted<'_> {
        let first_header = self.headers.len() as u32;
        self.records.push(RecordMeta {
            key: None,
            value,
            headers: Span {
                offset: first_header,
                len: 0,
            },
            timestamp: None,
            partition: 0,
            offset: 0,
            input,
            topic: None,
            keep_metadata: true,
        });
        Emitted { builder: self }
    }

    /// The packed batch.
    pub fn finish(self) -> Batch {
        Batch {
            data: self.data,
            headers: self.headers,
            records: self.records,
        }
    }
}

/// The record just added: set its key, headers, timestamp or topic.
pub struct Emitted<'b> {
    builder: &'b mut BatchBuilder,
}

impl Emitted<'_> {
    fn meta(&mut self) -> &mut RecordMeta {
        self.builder
            .records
            .last_mut()
            .expect("a record was just pushed")
    }

    /// Sets the key (`None`: null key).
    pub fn key(mut self, key: Option<&[u8]>) -> Self {
        let span = key.map(|k| self.builder.append(k));
        self.meta().key = span;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &[u8], value: Option<&[u8]>) -> Self {
        let key = self.builder.append(name);
        let value = value.map(|v| self.builder.append(v));
        self.builder.headers.push(Header { key, value });
        self.meta().headers.len += 1;
        self
    }

    /// Sets the timestamp, in milliseconds since the Unix epoch.
    pub fn timestamp(mut self, millis: i64) -> Self {
        self.meta().timestamp = Some(millis);
        self
    }

    /// Sends this record to `topic` instead of the pipeline's sink topic.
    pub fn topic(mut self, topic: &str) -> Self {
        let span = self.builder.append(topic.as_bytes());
        self.meta().topic = Some(span);
        self
    }

    /// Does not copy the input's key, headers and timestamp to this output.
    pub fn fresh_metadata(mut self) -> Self {
        self.meta().keep_metadata = false;
        self
    }
}

/// Everything `process` returns: the output batch and the rejected records.
#[derive(Default)]
pub struct Output {
    batch: BatchBuilder,
    errors: Vec<RecordError>,
}

impl Output {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty output with room for about as many records and bytes as `input`
    /// has (what a map or a filter produces), so the buffers grow at most rarely.
    pub fn sized_for(input: &Batch) -> Self {
        Output {
            batch: BatchBuilder {
                data: Vec::with_capacity(input.data.len()),
                headers: Vec::new(),
                records: Vec::with_capacity(input.records.len()),
            },
            errors: Vec::new(),
        }
    }

    /// The emitter for outputs derived from input record `input`.
    pub fn out_for(&mut self, input: u32) -> Out<'_> {
        Out {
            builder: &mut self.batch,
            input,
        }
    }

    /// Records that input record `input` could not be processed.
    pub fn reject(&mut self, input: u32, message: String) {
        self.errors.push(RecordError { input, message });
    }

    /// The contract's output value.
    pub fn finish(self) -> crate::wit::types::Output {
        crate::wit::types::Output {
            batch: self.batch.finish(),
            errors: self.errors,
        }
    }
}

/// Emits the outputs of one input record.
pub struct Out<'o> {
    builder: &'o mut BatchBuilder,
    input: u32,
}

impl Out<'_> {
    /// Emits `value` as an output of the current input record; its key,
    /// headers and timestamp are the input's unless set on the result.
    pub fn emit(&mut self, value: &[u8]) -> Emitted<'_> {
        self.builder.push(self.input, Some(value))
    }

    /// Emits an output whose value `write` serialises in place.
    pub fn emit_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Emitted<'_> {
        self.builder.push_with(self.input, write)
    }

    /// Emits an output with a null value (a tombstone).
    pub fn emit_null(&mut self) -> Emitted<'_> {
        self.builder.push(self.input, None)
    }

    /// Passes `record` through unchanged (what a filter does with a match).
    pub fn keep(&mut self, record: &Record<'_>) {
        self.builder.push(self.input, record.value());
    }
}
