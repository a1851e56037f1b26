//! Fuzz target: the host's decoding of what a plugin returns. Any output
//! batch (spans, header ranges, input indices, topics) is validated, and a
//! valid one is read the way the host reads it, without a panic.
//! (Shared by the libFuzzer target and the stable smoke test.)

use arbitrary::{Arbitrary, Unstructured};
use host::plugin::batch::{
    BatchBuilder, InputRecord, bytes, headers, inherit_metadata, validate, value,
};
use host::plugin::bindings::{Batch, Header, Output, RecordError, RecordMeta, Span};

fn span(u: &mut Unstructured<'_>) -> arbitrary::Result<Span> {
    // Mostly small numbers, so valid batches are found too.
    let small = |u: &mut Unstructured<'_>| -> arbitrary::Result<u32> {
        Ok(if bool::arbitrary(u)? {
            u8::arbitrary(u)?.into()
        } else {
            u32::arbitrary(u)?
        })
    };
    Ok(Span {
        offset: small(u)?,
        len: small(u)?,
    })
}

fn output(u: &mut Unstructured<'_>) -> arbitrary::Result<(Output, usize)> {
    let inputs = usize::from(u8::arbitrary(u)? % 8);
    let data = Vec::<u8>::arbitrary(u)?;
    let mut headers = Vec::new();
    for _ in 0..u8::arbitrary(u)? % 8 {
        let key = span(u)?;
        let value = if bool::arbitrary(u)? {
            Some(span(u)?)
        } else {
            None
        };
        headers.push(Header { key, value });
    }
    let mut records = Vec::new();
    for _ in 0..u8::arbitrary(u)? % 16 {
        records.push(RecordMeta {
            key: if bool::arbitrary(u)? {
                Some(span(u)?)
            } else {
                None
            },
            value: if bool::arbitrary(u)? {
                Some(span(u)?)
            } else {
                None
            },
            headers: span(u)?,
            timestamp: Option::<i64>::arbitrary(u)?,
            partition: i32::arbitrary(u)?,
            offset: i64::arbitrary(u)?,
            input: u32::from(u8::arbitrary(u)?),
            topic: if bool::arbitrary(u)? {
                Some(span(u)?)
            } else {
                None
            },
            keep_metadata: bool::arbitrary(u)?,
        });
    }
    let mut errors = Vec::new();
    for _ in 0..u8::arbitrary(u)? % 4 {
        errors.push(RecordError {
            input: u32::from(u8::arbitrary(u)?),
            message: String::arbitrary(u)?,
        });
    }
    Ok((
        Output {
            batch: Batch {
                data,
                headers,
                records,
            },
            errors,
        },
        inputs,
    ))
}

/// One fuzz input.
pub fn run(raw: &[u8]) {
    let mut u = Unstructured::new(raw);
    let Ok((mut out, inputs)) = output(&mut u) else {
        return;
    };
    if validate(&out, inputs).is_err() {
        return;
    }
    // What the host does with a valid output: fill metadata from the inputs,
    // then read every key, value, header and topic.
    let mut builder = BatchBuilder::with_capacity(inputs, 0);
    for i in 0..inputs {
        builder.push(&InputRecord {
            key: Some(b"k"),
            value: Some(b"v"),
            headers: vec![(b"h", Some(b"x"))],
            timestamp: Some(i as i64),
            partition: 0,
            offset: i as i64,
        });
    }
    let input = builder.finish();
    inherit_metadata(&input, &mut out.batch);
    let b = &out.batch;
    for (i, meta) in b.records.iter().enumerate() {
        let _ = value(b, i);
        let _ = meta.key.map(|k| bytes(b, k));
        let _ = meta.topic.map(|t| std::str::from_utf8(bytes(b, t)).is_ok());
        for (k, v) in headers(b, i) {
            let _ = (k.len(), v.map(<[u8]>::len));
        }
    }
    let _ = host::sink::console::json_lines(b);
}
