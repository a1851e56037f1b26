//! Host-side work on packed batches: building them, validating what a plugin
//! returns (never trusted), and splitting and merging them for bisection.

use super::bindings::{Batch, Header, Output, RecordMeta, Span};
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

/// Builds a packed batch from records, one copy of each byte.
pub struct BatchBuilder {
    batch: Batch,
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
        BatchBuilder {
            batch: Batch {
                data: Vec::with_capacity(bytes),
                headers: Vec::new(),
                records: Vec::with_capacity(records),
            },
        }
    }

    /// Adds a record.
    pub fn push(&mut self, record: &InputRecord<'_>) {
        let b = &mut self.batch;
        let index = b.records.len() as u32;
        let key = record.key.map(|k| append(&mut b.data, k));
        let value = record.value.map(|v| append(&mut b.data, v));
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
            input: index,
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
        Batch {
            data: self.batch.data,
            headers: self.batch.headers,
            records: self.batch.records,
        }
    }
}

/// The bytes of `span` in `batch` (spans are validated before use).
pub fn bytes(batch: &Batch, span: Span) -> &[u8] {
    &batch.data[span.offset as usize..span.offset as usize + span.len as usize]
}

/// The value of record `i`.
pub fn value(batch: &Batch, i: usize) -> Option<&[u8]> {
    batch.records[i].value.map(|s| bytes(batch, s))
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

/// Checks every offset a plugin returned: spans inside the data buffer,
/// header ranges inside the header list, inputs that exist, topics in UTF-8.
/// (Overlapping spans are harmless: each is only read.)
pub fn validate(output: &Output, inputs: usize) -> Result<()> {
    let batch = &output.batch;
    let len = batch.data.len();
    for (i, h) in batch.headers.iter().enumerate() {
        check_span("header name", i, h.key, len)?;
        if let Some(v) = h.value {
            check_span("header value", i, v, len)?;
        }
    }
    for (i, r) in batch.records.iter().enumerate() {
        if r.input as usize >= inputs {
            bail!(
                "output record {i} claims to come from input {} but the batch had {inputs} records",
                r.input
            );
        }
        if let Some(k) = r.key {
            check_span("key", i, k, len)?;
        }
        if let Some(v) = r.value {
            check_span("value", i, v, len)?;
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
            check_span("topic", i, t, len)?;
            if std::str::from_utf8(bytes(batch, t)).is_err() {
                bail!("output record {i}: the topic name is not UTF-8");
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

/// Fills what outputs left unset from the input each came from (key,
/// headers, timestamp, when `keep-metadata`; always partition and offset).
/// Call only on a validated output.
pub fn inherit_metadata(input: &Batch, output: &mut Batch) {
    for i in 0..output.records.len() {
        let meta = output.records[i];
        let source = &input.records[meta.input as usize];
        let mut fixed = meta;
        fixed.partition = source.partition;
        fixed.offset = source.offset;
        if meta.keep_metadata {
            if meta.key.is_none() {
                fixed.key = source
                    .key
                    .map(|k| append(&mut output.data, bytes(input, k)));
            }
            if meta.headers.len == 0 && source.headers.len > 0 {
                let first = output.headers.len() as u32;
                for h in &input.headers[source.headers.offset as usize
                    ..(source.headers.offset + source.headers.len) as usize]
                {
                    let key = append(&mut output.data, bytes(input, h.key));
                    let value = h.value.map(|v| append(&mut output.data, bytes(input, v)));
                    output.headers.push(Header { key, value });
                }
                fixed.headers = Span {
                    offset: first,
                    len: source.headers.len,
                };
            }
            if meta.timestamp.is_none() {
                fixed.timestamp = source.timestamp;
            }
        }
        output.records[i] = fixed;
    }
}

/// Records `range` of `batch` as a batch of their own (for bisection).
pub fn slice(batch: &Batch, range: std::ops::Range<usize>) -> Batch {
    let mut records = batch.records[range].to_vec();
    for (i, r) in records.iter_mut().enumerate() {
        r.input = i as u32;
    }
    Batch {
        data: batch.data.clone(),
        headers: batch.headers.clone(),
        records,
    }
}

/// Appends `part` (the output of a slice starting at input `first`) to `acc`.
pub fn merge(acc: &mut Output, part: Output, first: u32) {
    let data_base = acc.batch.data.len() as u32;
    let header_base = acc.batch.headers.len() as u32;
    let shift = |s: Span| Span {
        offset: s.offset + data_base,
        len: s.len,
    };
    acc.batch.data.extend_from_slice(&part.batch.data);
    acc.batch
        .headers
        .extend(part.batch.headers.iter().map(|h| Header {
            key: shift(h.key),
            value: h.value.map(shift),
        }));
    acc.batch
        .records
        .extend(part.batch.records.iter().map(|r| RecordMeta {
            key: r.key.map(shift),
            value: r.value.map(shift),
            headers: Span {
                offset: r.headers.offset + header_base,
                len: r.headers.len,
            },
            topic: r.topic.map(shift),
            input: r.input + first,
            ..*r
        }));
    acc.errors.extend(part.errors.into_iter().map(|mut e| {
        e.input += first;
        e
    }));
}

/// An empty output.
pub fn empty_output() -> Output {
    Output {
        batch: Batch {
            data: Vec::new(),
            headers: Vec::new(),
            records: Vec::new(),
        },
        errors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn output(records: Vec<RecordMeta>, data: &[u8]) -> Output {
        Output {
            batch: Batch {
                data: data.to_vec(),
                headers: Vec::new(),
                records,
            },
            errors: Vec::new(),
        }
    }

    fn meta(input: u32, value: Option<Span>, keep: bool) -> RecordMeta {
        RecordMeta {
            key: None,
            value,
            headers: Span { offset: 0, len: 0 },
            timestamp: None,
            partition: 0,
            offset: 0,
            input,
            topic: None,
            keep_metadata: keep,
        }
    }

    #[test]
    fn builder_packs_keys_values_and_headers() {
        let b = input();
        assert_eq!(value(&b, 0), Some(&b"v0"[..]));
        assert_eq!(value(&b, 1), None);
        let headers: Vec<_> = headers(&b, 0).collect();
        assert_eq!(headers, [(&b"h"[..], Some(&b"x"[..])), (&b"n"[..], None)]);
        assert_eq!(b.records[1].input, 1);
    }

    #[test]
    fn outputs_inherit_the_inputs_metadata_unless_told_not_to() {
        let input = input();
        let mut out = output(
            vec![
                meta(0, Some(Span { offset: 0, len: 3 }), true),
                meta(0, Some(Span { offset: 0, len: 3 }), false),
            ],
            b"out",
        );
        validate(&out, 2).unwrap();
        inherit_metadata(&input, &mut out.batch);
        let b = &out.batch;
        assert_eq!(b.records[0].key.map(|k| bytes(b, k)), Some(&b"k0"[..]));
        assert_eq!(headers(b, 0).count(), 2);
        assert_eq!(b.records[0].timestamp, Some(1_700_000_000_000));
        assert_eq!((b.records[0].partition, b.records[0].offset), (3, 41));
        assert!(b.records[1].key.is_none());
        assert_eq!(headers(b, 1).count(), 0);
        assert_eq!((b.records[1].partition, b.records[1].offset), (3, 41));
    }

    #[test]
    fn invalid_outputs_are_refused() {
        let bad_span = output(
            vec![meta(0, Some(Span { offset: 2, len: 5 }), true)],
            b"abc",
        );
        assert!(
            validate(&bad_span, 1)
                .unwrap_err()
                .to_string()
                .contains("outside the 3-byte data buffer")
        );
        let bad_input = output(vec![meta(7, None, true)], b"");
        assert!(
            validate(&bad_input, 2)
                .unwrap_err()
                .to_string()
                .contains("claims to come from input 7")
        );
        let mut bad_headers = output(vec![meta(0, None, true)], b"");
        bad_headers.batch.records[0].headers = Span { offset: 0, len: 1 };
        assert!(validate(&bad_headers, 1).is_err());
        let mut bad_error = output(vec![], b"");
        bad_error.errors.push(crate::plugin::bindings::RecordError {
            input: 9,
            message: "x".into(),
        });
        assert!(validate(&bad_error, 1).is_err());
        let overflow = output(
            vec![meta(
                0,
                Some(Span {
                    offset: u32::MAX,
                    len: u32::MAX,
                }),
                true,
            )],
            b"",
        );
        assert!(validate(&overflow, 1).is_err());
    }

    #[test]
    fn slices_and_merges_keep_inputs_and_spans_straight() {
        let input = input();
        let second = slice(&input, 1..2);
        assert_eq!(second.records.len(), 1);
        assert_eq!(second.records[0].input, 0);
        assert_eq!(second.records[0].offset, 42);
        let mut acc = empty_output();
        merge(
            &mut acc,
            output(vec![meta(0, Some(Span { offset: 0, len: 2 }), true)], b"aa"),
            0,
        );
        let mut part = output(vec![meta(0, Some(Span { offset: 0, len: 2 }), true)], b"bb");
        part.errors.push(crate::plugin::bindings::RecordError {
            input: 0,
            message: "no".into(),
        });
        merge(&mut acc, part, 1);
        assert_eq!(value(&acc.batch, 0), Some(&b"aa"[..]));
        assert_eq!(value(&acc.batch, 1), Some(&b"bb"[..]));
        assert_eq!(acc.batch.records[1].input, 1);
        assert_eq!(acc.errors[0].input, 1);
        validate(&acc, 2).unwrap();
    }
}
