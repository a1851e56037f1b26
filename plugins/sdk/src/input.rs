//! Reading an input batch: rows with typed accessors, and whole columns.
//!
//! A row is typed (the previous plugin wrote columns) or raw (a Kafka
//! value). The accessors work on both: on a typed row `row.f64("price")`
//! reads a cell; on a raw row it reads the field of the JSON object with
//! Spark's `from_json` rules, so one plugin serves either place in a chain.

use crate::value::{Cell, Document, convert, read_document};
use crate::wit::types::{Batch, Column, Field, FieldType, RecordMeta, Rows, Span, Values};
use crate::{Fail, FieldType as Ty};

fn slice(data: &[u8], span: Span) -> &[u8] {
    let start = span.offset as usize;
    data.get(start..start.saturating_add(span.len as usize))
        .unwrap_or(&[])
}

fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// One column of typed rows: its field and its values.
#[derive(Clone, Copy)]
pub struct ColumnView<'a> {
    field: &'a Field,
    column: &'a Column,
}

impl<'a> ColumnView<'a> {
    /// The column's field (name, type, nullability).
    pub fn field(&self) -> &'a Field {
        self.field
    }

    /// Whether row `i` holds a value (is not null).
    pub fn is_valid(&self, i: usize) -> bool {
        self.column.valid.as_deref().is_none_or(|v| bit(v, i))
    }

    /// The validity bitmap (`None`: no null in the batch).
    pub fn validity(&self) -> Option<&'a [u8]> {
        self.column.valid.as_deref()
    }

    /// Every value of a `double` column (nulls hold a placeholder).
    pub fn f64s(&self) -> Option<&'a [f64]> {
        match &self.column.values {
            Values::F64s(v) => Some(v),
            _ => None,
        }
    }

    /// Every value of a `long` or `timestamp` column.
    pub fn i64s(&self) -> Option<&'a [i64]> {
        match &self.column.values {
            Values::S64s(v) => Some(v),
            _ => None,
        }
    }

    /// Row `i` as a cell (`Cell::Null` for a null, or a row past the end).
    pub fn cell(&self, i: usize) -> Cell<'a> {
        if !self.is_valid(i) {
            return Cell::Null;
        }
        match &self.column.values {
            Values::Bytes(b) => {
                let (Some(&start), Some(&end)) = (b.offsets.get(i), b.offsets.get(i + 1)) else {
                    return Cell::Null;
                };
                let bytes = b.data.get(start as usize..end as usize).unwrap_or(&[]);
                if self.field.ty == FieldType::String {
                    // The host validates UTF-8; a bad guest batch is shown lossily.
                    match std::str::from_utf8(bytes) {
                        Ok(s) => Cell::Str(s.into()),
                        Err(_) => Cell::Str(String::from_utf8_lossy(bytes)),
                    }
                } else {
                    Cell::Bytes(bytes.into())
                }
            }
            Values::F64s(v) => v.get(i).map_or(Cell::Null, |x| Cell::F64(*x)),
            Values::F32s(v) => v.get(i).map_or(Cell::Null, |x| Cell::F64(f64::from(*x))),
            Values::S64s(v) if self.field.ty == FieldType::Timestamp => {
                v.get(i).map_or(Cell::Null, |x| Cell::Micros(*x))
            }
            Values::S64s(v) => v.get(i).map_or(Cell::Null, |x| Cell::I64(*x)),
            Values::S32s(v) => v.get(i).map_or(Cell::Null, |x| Cell::I64(i64::from(*x))),
            Values::Bits(v) => Cell::Bool(bit(v, i)),
            Values::Children => Cell::Null,
        }
    }
}

/// An input batch: its rows, and its columns when they are typed.
pub struct Input<'a> {
    batch: &'a Batch,
    rows: Option<&'a Rows>,
}

impl<'a> Input<'a> {
    /// Wraps the batch `process` received.
    pub fn new(batch: &'a Batch) -> Self {
        Input {
            batch,
            rows: batch.rows.as_ref(),
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.batch.len as usize
    }

    /// Whether the batch has no row.
    pub fn is_empty(&self) -> bool {
        self.batch.len == 0
    }

    /// The schema of typed rows (`None`: the rows are raw values).
    pub fn fields(&self) -> Option<&'a [Field]> {
        self.rows.map(|r| r.fields.as_slice())
    }

    /// The top-level column called `name`, if the rows are typed and have one.
    pub fn column(&self, name: &str) -> Option<ColumnView<'a>> {
        let rows = self.rows?;
        let i = rows
            .fields
            .iter()
            .position(|f| f.parent.is_none() && f.name == name)?;
        self.column_at(i)
    }

    /// Column `i` of the flattened schema.
    pub fn column_at(&self, i: usize) -> Option<ColumnView<'a>> {
        let rows = self.rows?;
        Some(ColumnView {
            field: rows.fields.get(i)?,
            column: rows.columns.get(i)?,
        })
    }

    /// Row `i` (no bounds check beyond what the accessors do).
    pub fn row(&self, i: usize) -> Row<'a, '_> {
        Row {
            input: self,
            meta: self.batch.records.get(i),
            index: i as u32,
        }
    }

    /// Every row, in order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'a, '_>> {
        (0..self.len()).map(|i| self.row(i))
    }
}

/// One input row: a view into the batch, nothing copied.
#[derive(Clone, Copy)]
pub struct Row<'a, 'i> {
    input: &'i Input<'a>,
    meta: Option<&'a RecordMeta>,
    index: u32,
}

impl<'a, 'i> Row<'a, 'i> {
    /// The row's position in its batch (what record errors refer to).
    pub fn index(&self) -> u32 {
        self.index
    }

    pub(crate) fn input(&self) -> &'i Input<'a> {
        self.input
    }

    /// The schema of a typed row (`None`: the row is a raw value).
    pub fn fields(&self) -> Option<&'a [Field]> {
        self.input.fields()
    }

    /// Whether the row is typed (its value is cells, not bytes).
    pub fn is_typed(&self) -> bool {
        self.input.rows.is_some()
    }

    /// The raw value bytes; `None` for a null value (a Kafka tombstone) and
    /// for a typed row (read its cells instead).
    pub fn value(&self) -> Option<&'a [u8]> {
        if self.is_typed() {
            return None;
        }
        let batch = self.input.batch;
        if let Some(column) = &batch.values {
            let i = self.index as usize;
            let valid = column.valid.as_deref().is_none_or(|v| bit(v, i));
            return match &column.values {
                Values::Bytes(b) if valid => {
                    let (start, end) = (*b.offsets.get(i)?, *b.offsets.get(i + 1)?);
                    b.data.get(start as usize..end as usize)
                }
                _ => None,
            };
        }
        let meta = self.meta?;
        meta.value.map(|s| slice(&batch.data, s))
    }

    /// The raw value as UTF-8 text; a record error if it is not UTF-8.
    pub fn value_str(&self) -> Result<Option<&'a str>, Fail> {
        self.value()
            .map(|v| {
                std::str::from_utf8(v).map_err(|e| Fail::Record(format!("value is not UTF-8: {e}")))
            })
            .transpose()
    }

    /// The key bytes; `None` for a null key (or when the plugin does not
    /// declare `reads_metadata` and the rows are typed).
    pub fn key(&self) -> Option<&'a [u8]> {
        self.meta?.key.map(|s| slice(&self.input.batch.data, s))
    }

    /// The headers, as (name, value) byte pairs, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let batch = self.input.batch;
        let range = self.meta.map_or(Span { offset: 0, len: 0 }, |m| m.headers);
        let start = range.offset as usize;
        batch
            .headers
            .get(start..start.saturating_add(range.len as usize))
            .unwrap_or(&[])
            .iter()
            .map(move |h| {
                (
                    slice(&batch.data, h.key),
                    h.value.map(|v| slice(&batch.data, v)),
                )
            })
    }

    /// The first header called `name`, if any.
    pub fn header(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.headers()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The Kafka timestamp, milliseconds since the Unix epoch, if any.
    pub fn timestamp(&self) -> Option<i64> {
        self.meta?.timestamp
    }

    /// The Kafka partition the record was read from.
    pub fn partition(&self) -> i32 {
        self.meta.map_or(0, |m| m.partition)
    }

    /// The Kafka offset of the record.
    pub fn offset(&self) -> i64 {
        self.meta.map_or(-1, |m| m.offset)
    }

    /// The cell of the top-level field `name`: from the column of a typed
    /// row, or (raw row) from the JSON object's field converted with Spark's
    /// `from_json` rules to the type the JSON value has. `Cell::Null` when the
    /// field is missing, null, or the value is not a JSON object.
    pub fn get(&self, name: &str) -> Cell<'a> {
        if let Some(column) = self.input.column(name) {
            return column.cell(self.index as usize);
        }
        if self.is_typed() {
            return Cell::Null;
        }
        self.json_field(name, None).unwrap_or(Cell::Null)
    }

    fn json_field(&self, name: &str, ty: Option<Ty>) -> Result<Cell<'a>, Fail> {
        let Some(value) = self.value() else {
            return Ok(Cell::Null);
        };
        let field = [Field {
            name: name.into(),
            ty: ty.unwrap_or(Ty::String),
            nullable: true,
            parent: None,
        }];
        let slots = match read_document(value, &field)? {
            Document::Object(slots) => slots,
            Document::Null => return Ok(Cell::Null),
            Document::Other(kind) => {
                return Err(Fail::Record(format!(
                    "expected a JSON object, found {kind}"
                )));
            }
        };
        let Some(raw) = slots[0] else {
            return Ok(Cell::Null);
        };
        match ty {
            Some(ty) => {
                convert(raw, ty, true).map_err(|why| Fail::Record(format!("field {name:?}: {why}")))
            }
            None => Ok(crate::value::natural(raw)),
        }
    }

    /// A numeric field as a double (`long`, `integer`, `float` widened).
    pub fn f64(&self, name: &str) -> Option<f64> {
        match self.get(name) {
            Cell::F64(v) => Some(v),
            Cell::I64(v) => Some(v as f64),
            _ => None,
        }
    }

    /// An integer field (`long`, `integer`; a timestamp's microseconds).
    pub fn i64(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Cell::I64(v) | Cell::Micros(v) => Some(v),
            _ => None,
        }
    }

    /// A boolean field.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Cell::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// A string field. On a raw row a JSON string is unescaped; other JSON
    /// values are not strings here (use [`Row::get`] for their text).
    pub fn str(&self, name: &str) -> Option<std::borrow::Cow<'a, str>> {
        match self.get(name) {
            Cell::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A numeric field, strictly: `Ok(None)` when missing or null, a record
    /// error when the value is not a JSON object or the field not a number.
    pub fn try_f64(&self, name: &str) -> Result<Option<f64>, Fail> {
        if self.is_typed() {
            return Ok(self.f64(name));
        }
        match self.json_field(name, Some(Ty::Double))? {
            Cell::F64(v) => Ok(Some(v)),
            _ => Ok(None),
        }
    }
}
