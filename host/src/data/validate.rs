//! Never trust a plugin: every length, offset, span, bitmap, UTF-8
//! boundary, parent link, NOT NULL, `inputs` entry and selection index of
//! what it returns is checked here before the host reads it; anything
//! invalid takes the trap path.

use super::NO_INPUT;
use super::batch::{bytes, value_field};
use super::rows::bit;
use super::type_name;
use crate::plugin::bindings::{
    Batch, Column, Field, FieldType, Output, Produced, Rows, Span, Values,
};
use anyhow::{Result, bail};

/// Checks every offset of a batch a plugin returned: one record per row or
/// none, spans inside the data buffer, header ranges inside the header
/// list, topics in UTF-8, typed rows well formed (see [`rows`]),
/// and (from a transform, `inputs` rows in the input) one existing input per
/// row. (Overlapping spans are harmless: each is only read.)
pub fn batch(batch: &Batch, inputs: Option<usize>) -> Result<()> {
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
        column(&value_field(), values, len)
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
            .find(|(_, input)| **input as usize >= inputs && **input != NO_INPUT)
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
        rows(typed, len)?;
    }
    Ok(())
}

/// Checks what `process` returned for a batch of `inputs` rows.
pub fn output(output: &Output, inputs: usize) -> Result<()> {
    match &output.produced {
        Produced::Batch(b) => batch(b, Some(inputs))?,
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

fn values_len(values: &Values) -> Option<usize> {
    Some(match values {
        Values::Bytes(b) => b.offsets.len().checked_sub(1)?,
        Values::F64s(v) => v.len(),
        Values::F32s(v) => v.len(),
        Values::S64s(v) => v.len(),
        Values::S32s(v) => v.len(),
        Values::Bits(_) | Values::Children => usize::MAX,
    })
}

/// Checks typed rows from a plugin: one column per field, each of its
/// field's type with exactly `len` values, offsets in order and inside the
/// buffer, strings in UTF-8, bitmaps long enough, no null in a NOT NULL
/// field, struct fields after their struct.
pub fn rows(rows: &Rows, len: usize) -> Result<()> {
    if rows.columns.len() != rows.fields.len() {
        bail!(
            "typed rows have {} columns for {} fields",
            rows.columns.len(),
            rows.fields.len()
        );
    }
    for (i, (field, values)) in rows.fields.iter().zip(&rows.columns).enumerate() {
        if let Some(parent) = field.parent {
            let parent = parent as usize;
            if parent >= i || rows.fields[parent].ty != FieldType::Struct {
                bail!(
                    "field {:?} names parent {parent}, which is not an earlier struct field",
                    field.name
                );
            }
        }
        column(field, values, len)?;
    }
    Ok(())
}

/// Checks one column of `len` rows against its field (see [`rows`]).
pub fn column(field: &Field, column: &Column, len: usize) -> Result<()> {
    let bitmap_bytes = len.div_ceil(8);
    let name = &field.name;
    let fits = matches!(
        (field.ty, &column.values),
        (FieldType::String | FieldType::Binary, Values::Bytes(_))
            | (FieldType::Double, Values::F64s(_))
            | (FieldType::Float, Values::F32s(_))
            | (FieldType::Long | FieldType::Timestamp, Values::S64s(_))
            | (FieldType::Integer, Values::S32s(_))
            | (FieldType::Boolean, Values::Bits(_))
            | (FieldType::Struct, Values::Children)
    );
    if !fits {
        bail!(
            "column {name:?} is declared {} but holds other values",
            type_name(field.ty)
        );
    }
    match &column.values {
        Values::Bits(bits) if bits.len() < bitmap_bytes => {
            bail!(
                "column {name:?} has a {}-byte bitmap for {len} rows",
                bits.len()
            )
        }
        Values::Bits(_) | Values::Children => {}
        values => {
            let n = values_len(values).unwrap_or(usize::MAX);
            if n != len {
                bail!("column {name:?} has {n} values for {len} rows");
            }
        }
    }
    if let Values::Bytes(b) = &column.values {
        if b.offsets.windows(2).any(|w| w[0] > w[1])
            || b.offsets
                .last()
                .is_some_and(|end| *end as usize > b.data.len())
        {
            bail!("column {name:?} has offsets out of order or past its data");
        }
        if field.ty == FieldType::String {
            let text = std::str::from_utf8(&b.data)
                .map_err(|_| anyhow::anyhow!("column {name:?} is not UTF-8"))?;
            if b.offsets
                .iter()
                .any(|o| !text.is_char_boundary(*o as usize))
            {
                bail!("column {name:?} has an offset inside a UTF-8 character");
            }
        }
    }
    match &column.valid {
        Some(valid) if valid.len() < bitmap_bytes => {
            bail!(
                "column {name:?} has a {}-byte validity bitmap for {len} rows",
                valid.len()
            )
        }
        Some(valid) if !field.nullable && (0..len).any(|r| !bit(valid, r)) => {
            bail!("column {name:?} is declared NOT NULL but holds a null")
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{meta, output as made};
    use crate::plugin::bindings::RecordError;

    #[test]
    fn invalid_outputs_are_refused() {
        let bad_span = made(
            vec![meta(Some(Span { offset: 2, len: 5 }), true)],
            vec![0],
            b"abc",
        );
        assert!(
            output(&bad_span, 1)
                .unwrap_err()
                .to_string()
                .contains("outside the 3-byte data buffer")
        );
        let bad_input = made(vec![meta(None, true)], vec![7], b"");
        assert!(
            output(&bad_input, 2)
                .unwrap_err()
                .to_string()
                .contains("claims to come from input 7")
        );
        let missing_inputs = made(vec![meta(None, true)], vec![], b"");
        assert!(output(&missing_inputs, 2).is_err());
        let mut bad_headers = made(vec![meta(None, true)], vec![0], b"");
        if let Produced::Batch(b) = &mut bad_headers.produced {
            b.records[0].headers = Span { offset: 0, len: 1 };
        }
        assert!(output(&bad_headers, 1).is_err());
        let mut bad_error = made(vec![], vec![], b"");
        bad_error.errors.push(RecordError {
            input: 9,
            message: "x".into(),
        });
        assert!(output(&bad_error, 1).is_err());
        let overflow = made(
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
        assert!(output(&overflow, 1).is_err());
        let selection = |rows: Vec<u32>| Output {
            produced: Produced::Selection(rows),
            errors: Vec::new(),
        };
        assert!(output(&selection(vec![0, 1]), 2).is_ok());
        assert!(output(&selection(vec![1, 0]), 2).is_err());
        assert!(output(&selection(vec![0, 0]), 2).is_err());
        assert!(output(&selection(vec![2]), 2).is_err());
    }
}
