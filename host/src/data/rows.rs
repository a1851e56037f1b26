//! Typed rows on the host side: validating what a plugin returns (never
//! trusted), reading cells, taking rows out of them and putting them
//! together, and encoding a row as Spark's `to_json` does.

use crate::plugin::bindings::{ByteValues, Column, Field, FieldType, Rows, Values};
use anyhow::{Result, bail};
use sluice_sdk::value::{
    Cell, write_java_double, write_json_cell, write_json_str, write_json_text,
};
use std::borrow::Cow;

pub(super) fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn set_bit(bits: &mut Vec<u8>, i: usize, on: bool) {
    if i.is_multiple_of(8) {
        bits.push(0);
    }
    if on {
        bits[i / 8] |= 1 << (i % 8);
    }
}

/// Whether row `i` of `column` holds a value.
pub fn is_valid(column: &Column, i: usize) -> bool {
    column.valid.as_deref().is_none_or(|v| bit(v, i))
}

/// Row `i` of column `c` as a cell (validated rows only).
pub fn cell(rows: &Rows, c: usize, i: usize) -> Cell<'_> {
    let (field, column) = (&rows.fields[c], &rows.columns[c]);
    if !is_valid(column, i) {
        return Cell::Null;
    }
    match &column.values {
        Values::Bytes(b) => {
            let bytes = &b.data[b.offsets[i] as usize..b.offsets[i + 1] as usize];
            match field.ty {
                FieldType::String => Cell::Str(Cow::Borrowed(
                    std::str::from_utf8(bytes).unwrap_or_default(),
                )),
                _ => Cell::Bytes(Cow::Borrowed(bytes)),
            }
        }
        Values::F64s(v) => Cell::F64(v[i]),
        Values::F32s(v) => Cell::F64(f64::from(v[i])),
        Values::S64s(v) if field.ty == FieldType::Timestamp => Cell::Micros(v[i]),
        Values::S64s(v) => Cell::I64(v[i]),
        Values::S32s(v) => Cell::I64(i64::from(v[i])),
        Values::Bits(v) => Cell::Bool(bit(v, i)),
        Values::Children => Cell::Null,
    }
}

/// The largest value of the top-level `timestamp` column `name` (µs),
/// `None` when every row is null; an error naming the columns when there
/// is no such column.
pub fn max_timestamp(rows: Option<&Rows>, name: &str) -> anyhow::Result<Option<i64>> {
    let found = rows.and_then(|r| {
        let c = r
            .fields
            .iter()
            .position(|f| f.parent.is_none() && f.name == name && f.ty == FieldType::Timestamp)?;
        Some(&r.columns[c])
    });
    let Some(column) = found else {
        let columns = rows.map_or("none, the rows are raw values".to_string(), |r| {
            crate::plugin::chain::ddl(&r.fields)
        });
        anyhow::bail!(
            "its input has no timestamp column {name:?} (its columns: {columns}); parse one with e.g. --config \"parse_stock.schema=event_time timestamp, ticker string, price double\""
        );
    };
    let Values::S64s(v) = &column.values else {
        return Ok(None);
    };
    Ok((0..v.len())
        .filter(|&i| is_valid(column, i))
        .map(|i| v[i])
        .max())
}

/// The fields whose parent is `parent` (`None`: the top-level ones).
pub fn children(fields: &[Field], parent: Option<usize>) -> impl Iterator<Item = usize> + '_ {
    fields
        .iter()
        .enumerate()
        .filter(move |(_, f)| f.parent.map(|p| p as usize) == parent)
        .map(|(i, _)| i)
}

/// Writes rows as JSON objects, as Spark's `to_json` does: fields in schema
/// order, null fields left out, structs as nested objects. Made once per
/// batch: the field names are encoded once, not per row.
pub struct JsonRows {
    /// `"name":` of every field, by column.
    keys: Vec<Vec<u8>>,
    /// The top-level columns, in order.
    top: Vec<usize>,
}

impl JsonRows {
    /// An encoder for rows of schema `fields`.
    pub fn new(fields: &[Field]) -> Self {
        let keys = fields
            .iter()
            .map(|f| {
                let mut key = Vec::with_capacity(f.name.len() + 3);
                write_json_str(&mut key, &f.name);
                key.push(b':');
                key
            })
            .collect();
        JsonRows {
            keys,
            top: children(fields, None).collect(),
        }
    }

    /// Appends row `i` of `rows` (validated, of this encoder's schema).
    pub fn write(&self, out: &mut Vec<u8>, rows: &Rows, i: usize) {
        self.object(out, rows, &self.top, i);
    }

    fn object(&self, out: &mut Vec<u8>, rows: &Rows, columns: &[usize], i: usize) {
        out.push(b'{');
        let mut first = true;
        for &c in columns {
            let column = &rows.columns[c];
            if !is_valid(column, i) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&self.keys[c]);
            match (&column.values, rows.fields[c].ty) {
                (Values::Bytes(b), FieldType::String) => write_json_text(
                    out,
                    &b.data[b.offsets[i] as usize..b.offsets[i + 1] as usize],
                ),
                (Values::F64s(v), _) if v[i].is_finite() => write_java_double(out, v[i]),
                (Values::Children, _) => {
                    let inner: Vec<usize> = children(&rows.fields, Some(c)).collect();
                    self.object(out, rows, &inner, i);
                }
                _ => write_json_cell(out, &cell(rows, c, i)),
            }
        }
        out.push(b'}');
    }
}

/// Row `i` as one JSON object (see [`JsonRows`]; for one row, or a test).
pub fn write_json(out: &mut Vec<u8>, rows: &Rows, i: usize) {
    JsonRows::new(&rows.fields).write(out, rows, i);
}

/// Row `i` of column `c` as Spark's console shows it (`None`: NULL). A
/// struct shows as `{a, b}` with `null` for its null fields.
pub fn show(rows: &Rows, c: usize, i: usize) -> Option<String> {
    if !is_valid(&rows.columns[c], i) {
        return None;
    }
    if rows.fields[c].ty == FieldType::Struct {
        let parts: Vec<String> = children(&rows.fields, Some(c))
            .map(|f| show(rows, f, i).unwrap_or_else(|| "null".into()))
            .collect();
        return Some(format!("{{{}}}", parts.join(", ")));
    }
    Some(match cell(rows, c, i) {
        Cell::Null => return None,
        Cell::Str(s) => s.into_owned(),
        Cell::F64(v) if rows.fields[c].ty == FieldType::Float => {
            sluice_sdk::value::java_float(v as f32)
        }
        Cell::F64(v) => sluice_sdk::value::java_double(v),
        Cell::I64(v) => v.to_string(),
        Cell::Bool(v) => v.to_string(),
        Cell::Micros(v) => sluice_sdk::time::show_timestamp(v),
        Cell::Bytes(b) => {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02X}")).collect();
            format!("[{}]", hex.join(" "))
        }
    })
}

fn take_values(values: &Values, rows: &[u32]) -> Values {
    fn pick<T: Copy>(v: &[T], rows: &[u32]) -> Vec<T> {
        rows.iter().map(|r| v[*r as usize]).collect()
    }
    match values {
        Values::Bytes(b) => {
            let mut offsets = Vec::with_capacity(rows.len() + 1);
            let mut data = Vec::new();
            offsets.push(0);
            for r in rows {
                let r = *r as usize;
                data.extend_from_slice(&b.data[b.offsets[r] as usize..b.offsets[r + 1] as usize]);
                offsets.push(data.len() as u32);
            }
            Values::Bytes(ByteValues { offsets, data })
        }
        Values::F64s(v) => Values::F64s(pick(v, rows)),
        Values::F32s(v) => Values::F32s(pick(v, rows)),
        Values::S64s(v) => Values::S64s(pick(v, rows)),
        Values::S32s(v) => Values::S32s(pick(v, rows)),
        Values::Bits(v) => {
            let mut bits = Vec::with_capacity(rows.len().div_ceil(8));
            for (i, r) in rows.iter().enumerate() {
                set_bit(&mut bits, i, bit(v, *r as usize));
            }
            Values::Bits(bits)
        }
        Values::Children => Values::Children,
    }
}

/// The rows at `indices` (validated rows, indices in range), in that order.
pub fn take(rows: &Rows, indices: &[u32]) -> Rows {
    Rows {
        fields: rows.fields.clone(),
        columns: rows
            .columns
            .iter()
            .map(|c| take_column(c, indices))
            .collect(),
    }
}

/// The values of one validated column at `indices`, in that order.
pub fn take_column(column: &Column, indices: &[u32]) -> Column {
    let valid = column.valid.as_ref().and_then(|v| {
        let mut bits = Vec::with_capacity(indices.len().div_ceil(8));
        let mut any_null = false;
        for (i, r) in indices.iter().enumerate() {
            let on = bit(v, *r as usize);
            any_null |= !on;
            set_bit(&mut bits, i, on);
        }
        any_null.then_some(bits)
    });
    Column {
        valid,
        values: take_values(&column.values, indices),
    }
}

/// `b`'s rows after `a`'s (`a` has `a_len` rows, `b` `b_len`); both must
/// have the same fields.
pub fn concat(a: &mut Rows, a_len: usize, b: Rows, b_len: usize) -> Result<()> {
    if a.fields != b.fields {
        bail!("the plugin returned rows of two different schemas for one batch");
    }
    for (x, y) in a.columns.iter_mut().zip(b.columns) {
        if x.valid.is_some() || y.valid.is_some() {
            let mut bits = Vec::with_capacity((a_len + b_len).div_ceil(8));
            for i in 0..a_len {
                set_bit(&mut bits, i, is_valid(x, i));
            }
            for i in 0..b_len {
                set_bit(&mut bits, a_len + i, is_valid(&y, i));
            }
            x.valid = Some(bits);
        }
        match (&mut x.values, y.values) {
            (Values::Bytes(p), Values::Bytes(q)) => {
                let base = p.data.len() as u32;
                p.data.extend_from_slice(&q.data);
                p.offsets.extend(q.offsets.iter().skip(1).map(|o| o + base));
            }
            (Values::F64s(p), Values::F64s(q)) => p.extend(q),
            (Values::F32s(p), Values::F32s(q)) => p.extend(q),
            (Values::S64s(p), Values::S64s(q)) => p.extend(q),
            (Values::S32s(p), Values::S32s(q)) => p.extend(q),
            (Values::Bits(p), Values::Bits(q)) => {
                let mut bits = Vec::with_capacity((a_len + b_len).div_ceil(8));
                for i in 0..a_len {
                    set_bit(&mut bits, i, bit(p, i));
                }
                for i in 0..b_len {
                    set_bit(&mut bits, a_len + i, bit(&q, i));
                }
                *p = bits;
            }
            (Values::Children, Values::Children) => {}
            _ => bail!("the plugin returned rows of two different layouts for one batch"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validate;

    fn field(name: &str, ty: FieldType, parent: Option<u32>) -> Field {
        Field {
            name: name.into(),
            ty,
            nullable: true,
            parent,
        }
    }

    fn stock() -> Rows {
        Rows {
            fields: vec![
                field("ticker", FieldType::String, None),
                field("price", FieldType::Double, None),
                field("window", FieldType::Struct, None),
                field("start", FieldType::Timestamp, Some(2)),
                field("end", FieldType::Timestamp, Some(2)),
            ],
            columns: vec![
                Column {
                    valid: Some(vec![0b01]),
                    values: Values::Bytes(ByteValues {
                        offsets: vec![0, 4, 4],
                        data: b"AAPL".to_vec(),
                    }),
                },
                Column {
                    valid: None,
                    values: Values::F64s(vec![42.17, 1e7]),
                },
                Column {
                    valid: None,
                    values: Values::Children,
                },
                Column {
                    valid: None,
                    values: Values::S64s(vec![1_764_072_000_000_000, 0]),
                },
                Column {
                    valid: Some(vec![0b10]),
                    values: Values::S64s(vec![0, 60_000_000]),
                },
            ],
        }
    }

    #[test]
    fn rows_print_and_encode_as_spark_does() {
        let rows = stock();
        validate::rows(&rows, 2).unwrap();
        let mut out = Vec::new();
        write_json(&mut out, &rows, 0);
        out.push(b'\n');
        write_json(&mut out, &rows, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"ticker\":\"AAPL\",\"price\":42.17,\"window\":{\"start\":\"2025-11-25T12:00:00.000Z\"}}\n\
             {\"price\":1.0E7,\"window\":{\"start\":\"1970-01-01T00:00:00.000Z\",\"end\":\"1970-01-01T00:01:00.000Z\"}}"
        );
        assert_eq!(show(&rows, 0, 1), None);
        assert_eq!(show(&rows, 1, 1).as_deref(), Some("1.0E7"));
        assert_eq!(
            show(&rows, 2, 0).as_deref(),
            Some("{2025-11-25 12:00:00, null}")
        );
    }

    #[test]
    fn invalid_rows_are_refused() {
        let mut short = stock();
        short.columns[1].values = Values::F64s(vec![1.0]);
        assert!(validate::rows(&short, 2).is_err());
        let mut offsets = stock();
        offsets.columns[0].values = Values::Bytes(ByteValues {
            offsets: vec![0, 9, 9],
            data: b"AAPL".to_vec(),
        });
        assert!(validate::rows(&offsets, 2).is_err());
        let mut utf8 = stock();
        utf8.columns[0].values = Values::Bytes(ByteValues {
            offsets: vec![0, 1, 2],
            data: "é".as_bytes().to_vec(),
        });
        assert!(validate::rows(&utf8, 2).is_err());
        let mut wrong = stock();
        wrong.columns[1].values = Values::S64s(vec![1, 2]);
        assert!(validate::rows(&wrong, 2).is_err());
        let mut orphan = stock();
        orphan.fields[3].parent = Some(1);
        assert!(validate::rows(&orphan, 2).is_err());
        let mut not_null = stock();
        not_null.fields[0].nullable = false;
        assert!(validate::rows(&not_null, 2).is_err());
        let mut columns = stock();
        columns.columns.pop();
        assert!(validate::rows(&columns, 2).is_err());
    }

    #[test]
    fn take_and_concat_keep_cells() {
        let rows = stock();
        let picked = take(&rows, &[1, 0]);
        validate::rows(&picked, 2).unwrap();
        assert_eq!(show(&picked, 0, 1).as_deref(), Some("AAPL"));
        assert_eq!(show(&picked, 0, 0), None);
        let mut both = take(&rows, &[0]);
        concat(&mut both, 1, take(&rows, &[1]), 1).unwrap();
        validate::rows(&both, 2).unwrap();
        assert_eq!(show(&both, 1, 1).as_deref(), Some("1.0E7"));
        assert_eq!(show(&both, 0, 1), None);
        assert!(
            concat(
                &mut both,
                2,
                Rows {
                    fields: vec![],
                    columns: vec![]
                },
                0
            )
            .is_err()
        );
    }
}
