//! Bisection's halves: a batch's rows as smaller batches, and the outputs
//! of those slices put back together as one output (what a trap on one
//! record is narrowed down with, see `plugin::instance`).

use super::batch::{
    BatchBuilder, InputRecord, bare_record, empty_batch, take, value, values_as_rows,
};
use super::{NO_INPUT, rows};
use crate::plugin::bindings::{
    Batch, Column, Header, Output, Produced, RecordError, RecordMeta, Span,
};
use anyhow::{Result, bail};

/// Rows `range` of `batch` as a batch of their own (for bisection).
pub fn slice(batch: &Batch, range: std::ops::Range<usize>) -> Batch {
    let indices: Vec<u32> = (range.start as u32..range.end as u32).collect();
    take(batch, &indices)
}

/// The output of a slice as a batch: a selection becomes the slice's rows.
fn as_batch(part: Output, input: &Batch) -> (Batch, Vec<RecordError>) {
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
    acc.inputs.extend(part.inputs.iter().map(|&i| match i {
        NO_INPUT => NO_INPUT,
        i => i + first,
    }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{batch, input, meta, output};
    use crate::data::validate;

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
        validate::output(&merged, 2).unwrap();
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
