//! Fuzz target: the host's decoding of what a plugin returns. Any output
//! (a selection, or a batch: spans, header ranges, input indices, topics,
//! typed rows with their fields, parents, offsets, bitmaps and values) is
//! validated, and a valid one is read the way the host reads it, without a
//! panic. (Shared by the libFuzzer target and the stable smoke test.)

use arbitrary::{Arbitrary, Unstructured};
use host::data::batch::{
    BatchBuilder, InputRecord, RowValues, bytes, headers, inherit_metadata, take,
};
use host::data::{rows, validate};
use host::plugin::bindings::{
    Batch, ByteValues, Column, Field, FieldType, Header, Output, Produced, RecordError, RecordMeta,
    Rows, Span, Values,
};

/// Mostly small numbers, so valid batches are found too.
fn small(u: &mut Unstructured<'_>) -> arbitrary::Result<u32> {
    Ok(if bool::arbitrary(u)? {
        u8::arbitrary(u)?.into()
    } else {
        u32::arbitrary(u)?
    })
}

fn span(u: &mut Unstructured<'_>) -> arbitrary::Result<Span> {
    Ok(Span {
        offset: small(u)?,
        len: small(u)?,
    })
}

fn maybe<'a, T>(
    u: &mut Unstructured<'a>,
    f: impl FnOnce(&mut Unstructured<'a>) -> arbitrary::Result<T>,
) -> arbitrary::Result<Option<T>> {
    Ok(if bool::arbitrary(u)? {
        Some(f(u)?)
    } else {
        None
    })
}

const TYPES: [FieldType; 9] = [
    FieldType::String,
    FieldType::Double,
    FieldType::Float,
    FieldType::Long,
    FieldType::Integer,
    FieldType::Boolean,
    FieldType::Binary,
    FieldType::Timestamp,
    FieldType::Struct,
];

/// Values of about `len` rows, mostly of the field's own type.
fn values(u: &mut Unstructured<'_>, ty: FieldType, len: usize) -> arbitrary::Result<Values> {
    let n = if u8::arbitrary(u)? % 8 == 0 {
        usize::from(u8::arbitrary(u)? % 8)
    } else {
        len
    };
    let kind = if u8::arbitrary(u)? % 8 == 0 {
        u8::arbitrary(u)? % 7
    } else {
        match ty {
            FieldType::String | FieldType::Binary => 0,
            FieldType::Double => 1,
            FieldType::Float => 2,
            FieldType::Long | FieldType::Timestamp => 3,
            FieldType::Integer => 4,
            FieldType::Boolean => 5,
            FieldType::Struct => 6,
        }
    };
    Ok(match kind {
        0 => {
            let data = Vec::<u8>::arbitrary(u)?;
            let mut offsets = vec![0u32];
            for _ in 0..n {
                let last = *offsets.last().unwrap();
                offsets.push(if u8::arbitrary(u)? % 16 == 0 {
                    small(u)?
                } else {
                    last.saturating_add(u32::from(u8::arbitrary(u)? % 4))
                        .min(data.len() as u32)
                });
            }
            Values::Bytes(ByteValues { offsets, data })
        }
        1 => Values::F64s(
            (0..n)
                .map(|_| f64::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
        2 => Values::F32s(
            (0..n)
                .map(|_| f32::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
        3 => Values::S64s(
            (0..n)
                .map(|_| i64::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
        4 => Values::S32s(
            (0..n)
                .map(|_| i32::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
        5 => Values::Bits(Vec::<u8>::arbitrary(u)?),
        _ => Values::Children,
    })
}

fn typed(u: &mut Unstructured<'_>, len: usize) -> arbitrary::Result<Rows> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for i in 0..u8::arbitrary(u)? % 5 {
        let ty = TYPES[usize::from(u8::arbitrary(u)?) % TYPES.len()];
        fields.push(Field {
            name: format!("c{i}"),
            ty,
            nullable: u8::arbitrary(u)? % 4 != 0,
            parent: maybe(u, |u| Ok(u32::from(u8::arbitrary(u)? % 6)))?,
        });
        columns.push(Column {
            valid: maybe(u, Vec::<u8>::arbitrary)?,
            values: values(u, ty, len)?,
        });
    }
    if u8::arbitrary(u)? % 16 == 0 {
        columns.pop();
    }
    Ok(Rows { fields, columns })
}

fn output(u: &mut Unstructured<'_>) -> arbitrary::Result<(Output, usize)> {
    let inputs = usize::from(u8::arbitrary(u)? % 8);
    let mut errors = Vec::new();
    for _ in 0..u8::arbitrary(u)? % 4 {
        errors.push(RecordError {
            input: u32::from(u8::arbitrary(u)?),
            message: String::arbitrary(u)?,
        });
    }
    if u8::arbitrary(u)? % 4 == 0 {
        let rows = (0..u8::arbitrary(u)? % 8)
            .map(|_| Ok(u32::from(u8::arbitrary(u)? % 10)))
            .collect::<arbitrary::Result<Vec<u32>>>()?;
        let produced = Produced::Selection(rows);
        return Ok((Output { produced, errors }, inputs));
    }
    let len = usize::from(u8::arbitrary(u)? % 16);
    let data = Vec::<u8>::arbitrary(u)?;
    let mut headers = Vec::new();
    for _ in 0..u8::arbitrary(u)? % 8 {
        headers.push(Header {
            key: span(u)?,
            value: maybe(u, span)?,
        });
    }
    let mut records = Vec::new();
    if bool::arbitrary(u)? {
        for _ in 0..len + usize::from(u8::arbitrary(u)? % 16 == 0) {
            records.push(RecordMeta {
                key: maybe(u, span)?,
                value: maybe(u, span)?,
                headers: span(u)?,
                timestamp: Option::<i64>::arbitrary(u)?,
                partition: i32::arbitrary(u)?,
                offset: i64::arbitrary(u)?,
                topic: maybe(u, span)?,
                keep_metadata: bool::arbitrary(u)?,
            });
        }
    }
    let values = maybe(u, |u| {
        Ok(Column {
            valid: maybe(u, Vec::<u8>::arbitrary)?,
            values: values(u, FieldType::Binary, len)?,
        })
    })?;
    let rows = maybe(u, |u| typed(u, len))?;
    let batch_inputs = (0..len + usize::from(u8::arbitrary(u)? % 16 == 0))
        .map(|_| Ok(u32::from(u8::arbitrary(u)? % 10)))
        .collect::<arbitrary::Result<Vec<u32>>>()?;
    let batch = Batch {
        len: len as u32,
        data,
        headers,
        records,
        values,
        rows,
        inputs: batch_inputs,
    };
    let produced = Produced::Batch(batch);
    Ok((Output { produced, errors }, inputs))
}

/// Reads every row of a validated batch as the sinks do.
fn read_all(b: &Batch) {
    let mut values = RowValues::new(b);
    for i in 0..b.len as usize {
        let _ = values.get(i).map(<[u8]>::len);
        if let Some(meta) = b.records.get(i) {
            let _ = meta.key.map(|k| bytes(b, k));
            let _ = meta.topic.map(|t| std::str::from_utf8(bytes(b, t)).is_ok());
            for (k, v) in headers(b, i) {
                let _ = (k.len(), v.map(<[u8]>::len));
            }
        }
        if let Some(typed) = &b.rows {
            for c in 0..typed.fields.len() {
                let _ = rows::show(typed, c, i);
            }
        }
    }
}

/// One fuzz input.
pub fn run(raw: &[u8]) {
    let mut u = Unstructured::new(raw);
    let Ok((out, inputs)) = output(&mut u) else {
        return;
    };
    if validate::output(&out, inputs).is_err() {
        return;
    }
    // What the host does with a valid output: pick a selection's rows, or
    // fill metadata from the inputs, then read every row.
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
    let b = match out.produced {
        Produced::Selection(keep) => take(&input, &keep),
        Produced::Batch(mut b) => {
            inherit_metadata(&input, &mut b);
            b
        }
    };
    read_all(&b);
    let half: Vec<u32> = (0..b.len).step_by(2).collect();
    read_all(&take(&b, &half));
}
