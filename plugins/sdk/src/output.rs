//! Building what `process` returns: a selection of input rows (a filter),
//! typed rows written column by column, or raw values.

use crate::input::{Input, Row};
use crate::value::Cell;
use crate::wit::types::{
    Batch, ByteValues, Column, Field, FieldType, Header, Produced, RecordError, RecordMeta, Rows,
    Span, Values,
};
use crate::{Error, Fail};

/// One column being written, a value per row, in the contract's layout.
pub struct ColumnBuilder {
    ty: FieldType,
    valid: Vec<u8>,
    has_null: bool,
    len: usize,
    values: Building,
}

enum Building {
    Bytes(Vec<u32>, Vec<u8>),
    F64(Vec<f64>),
    F32(Vec<f32>),
    S64(Vec<i64>),
    S32(Vec<i32>),
    Bits(Vec<u8>),
    Children,
}

fn set_bit(bits: &mut Vec<u8>, i: usize, on: bool) {
    if i.is_multiple_of(8) {
        bits.push(0);
    }
    if on {
        bits[i / 8] |= 1 << (i % 8);
    }
}

impl ColumnBuilder {
    /// An empty column of type `ty`, with room for `rows` rows.
    pub fn new(ty: FieldType, rows: usize) -> Self {
        let values = match ty {
            FieldType::String | FieldType::Binary => {
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0);
                Building::Bytes(offsets, Vec::with_capacity(rows * 8))
            }
            FieldType::Double => Building::F64(Vec::with_capacity(rows)),
            FieldType::Float => Building::F32(Vec::with_capacity(rows)),
            FieldType::Long | FieldType::Timestamp => Building::S64(Vec::with_capacity(rows)),
            FieldType::Integer => Building::S32(Vec::with_capacity(rows)),
            FieldType::Boolean => Building::Bits(Vec::with_capacity(rows / 8 + 1)),
            FieldType::Struct => Building::Children,
        };
        ColumnBuilder {
            ty,
            valid: Vec::with_capacity(rows / 8 + 1),
            has_null: false,
            len: 0,
            values,
        }
    }

    /// The number of values pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn next(&mut self, valid: bool) {
        set_bit(&mut self.valid, self.len, valid);
        self.has_null |= !valid;
        self.len += 1;
    }

    /// Appends a null.
    pub fn push_null(&mut self) {
        match &mut self.values {
            Building::Bytes(offsets, data) => offsets.push(data.len() as u32),
            Building::F64(v) => v.push(0.0),
            Building::F32(v) => v.push(0.0),
            Building::S64(v) => v.push(0),
            Building::S32(v) => v.push(0),
            Building::Bits(v) => set_bit(v, self.len, false),
            Building::Children => {}
        }
        self.next(false);
    }

    /// Appends a present struct (its fields are the columns after it that
    /// name it as their parent; push one value into each).
    pub fn push_struct(&mut self) {
        match self.values {
            Building::Children => self.next(true),
            _ => self.push_null(),
        }
    }

    /// Appends a string (or bytes, for a binary column).
    pub fn push_str(&mut self, value: &str) {
        self.push_bytes(value.as_bytes());
    }

    /// Appends bytes to a string or binary column (a string column's bytes
    /// must be UTF-8: the host refuses a batch where they are not).
    pub fn push_bytes(&mut self, value: &[u8]) {
        match &mut self.values {
            Building::Bytes(offsets, data) => {
                data.extend_from_slice(value);
                offsets.push(data.len() as u32);
                self.next(true);
            }
            _ => self.push_null(),
        }
    }

    /// Appends a double (or a float, for a float column).
    pub fn push_f64(&mut self, value: f64) {
        match &mut self.values {
            Building::F64(v) => v.push(value),
            Building::F32(v) => v.push(value as f32),
            _ => return self.push_null(),
        }
        self.next(true);
    }

    /// Appends an integer to a long, integer or timestamp column (a value
    /// out of an integer column's range is a null).
    pub fn push_i64(&mut self, value: i64) {
        match &mut self.values {
            Building::S64(v) => v.push(value),
            Building::S32(v) => match i32::try_from(value) {
                Ok(x) => v.push(x),
                Err(_) => return self.push_null(),
            },
            _ => return self.push_null(),
        }
        self.next(true);
    }

    /// Appends a boolean.
    pub fn push_bool(&mut self, value: bool) {
        match &mut self.values {
            Building::Bits(v) => set_bit(v, self.len, value),
            _ => return self.push_null(),
        }
        self.next(true);
    }

    /// Appends a cell, converted to this column's type where that is exact
    /// (a cell of another kind is a null).
    pub fn push_cell(&mut self, cell: &Cell<'_>) {
        match cell {
            Cell::Null => self.push_null(),
            Cell::Str(s) => self.push_str(s),
            Cell::Bytes(b) => self.push_bytes(b),
            Cell::F64(v) => self.push_f64(*v),
            Cell::I64(v) | Cell::Micros(v) if self.ty == FieldType::Double => {
                self.push_f64(*v as f64)
            }
            Cell::I64(v) | Cell::Micros(v) => self.push_i64(*v),
            Cell::Bool(v) => self.push_bool(*v),
        }
    }

    fn finish(self) -> Column {
        let values = match self.values {
            Building::Bytes(offsets, data) => Values::Bytes(ByteValues { offsets, data }),
            Building::F64(v) => Values::F64s(v),
            Building::F32(v) => Values::F32s(v),
            Building::S64(v) => Values::S64s(v),
            Building::S32(v) => Values::S32s(v),
            Building::Bits(v) => Values::Bits(v),
            Building::Children => Values::Children,
        };
        Column {
            valid: self.has_null.then_some(self.valid),
            values,
        }
    }
}

/// Typed rows being written: one [`ColumnBuilder`] per field.
pub struct RowsBuilder {
    fields: Vec<Field>,
    columns: Vec<ColumnBuilder>,
}

impl RowsBuilder {
    /// Empty rows of schema `fields`, with room for `rows` rows.
    pub fn new(fields: &[Field], rows: usize) -> Self {
        RowsBuilder {
            fields: fields.to_vec(),
            columns: fields
                .iter()
                .map(|f| ColumnBuilder::new(f.ty, rows))
                .collect(),
        }
    }

    /// The schema.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Column `i`: push exactly one value into every column per row.
    pub fn column(&mut self, i: usize) -> &mut ColumnBuilder {
        &mut self.columns[i]
    }

    /// Appends a row of cells, one per field (missing ones are null).
    pub fn push_cells(&mut self, cells: &[Cell<'_>]) {
        for (i, column) in self.columns.iter_mut().enumerate() {
            column.push_cell(cells.get(i).unwrap_or(&Cell::Null));
        }
    }

    fn finish(self, rows: usize) -> Result<Rows, Error> {
        if let Some((field, column)) = self
            .fields
            .iter()
            .zip(&self.columns)
            .find(|(_, c)| c.len != rows)
        {
            return Err(Error::Fatal(format!(
                "column {:?} has {} values for {rows} rows: push one value into every column per row",
                field.name, column.len
            )));
        }
        Ok(Rows {
            fields: self.fields,
            columns: self
                .columns
                .into_iter()
                .map(ColumnBuilder::finish)
                .collect(),
        })
    }
}

/// Raw records: values, keys, headers and topics in one byte buffer.
#[derive(Default)]
struct Raw {
    data: Vec<u8>,
    headers: Vec<Header>,
    records: Vec<RecordMeta>,
}

impl Raw {
    fn append(&mut self, bytes: &[u8]) -> Span {
        let offset = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        Span {
            offset,
            len: bytes.len() as u32,
        }
    }

    fn push(&mut self, value: Option<Span>) {
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
            topic: None,
            keep_metadata: true,
        });
    }
}

/// The record just added: set its key, headers, timestamp or topic.
pub struct Emitted<'b> {
    raw: &'b mut Raw,
}

impl Emitted<'_> {
    fn meta(&mut self) -> &mut RecordMeta {
        self.raw
            .records
            .last_mut()
            .expect("a record was just pushed")
    }

    /// Sets the key (`None`: null key).
    pub fn key(mut self, key: Option<&[u8]>) -> Self {
        let span = key.map(|k| self.raw.append(k));
        self.meta().key = span;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &[u8], value: Option<&[u8]>) -> Self {
        let key = self.raw.append(name);
        let value = value.map(|v| self.raw.append(v));
        self.raw.headers.push(Header { key, value });
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
        let span = self.raw.append(topic.as_bytes());
        self.meta().topic = Some(span);
        self
    }

    /// Does not copy the input's key, headers and timestamp to this output.
    pub fn fresh_metadata(mut self) -> Self {
        self.meta().keep_metadata = false;
        self
    }
}

/// What a generator produces: raw records.
#[derive(Default)]
pub struct BatchBuilder {
    raw: Raw,
}

impl BatchBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of records added so far.
    pub fn len(&self) -> usize {
        self.raw.records.len()
    }

    /// Whether no record was added yet.
    pub fn is_empty(&self) -> bool {
        self.raw.records.is_empty()
    }

    /// Adds a record with the given value (`None` is a null value).
    pub fn push(&mut self, value: Option<&[u8]>) -> Emitted<'_> {
        let span = value.map(|v| self.raw.append(v));
        self.raw.push(span);
        Emitted { raw: &mut self.raw }
    }

    /// Adds a record whose value `write` appends to the buffer it is given
    /// (so a value can be serialised in place, without a temporary).
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Emitted<'_> {
        let offset = self.raw.data.len();
        write(&mut self.raw.data);
        let span = Span {
            offset: offset as u32,
            len: (self.raw.data.len() - offset) as u32,
        };
        self.raw.push(Some(span));
        Emitted { raw: &mut self.raw }
    }

    /// The packed batch.
    pub fn finish(self) -> Batch {
        Batch {
            len: self.raw.records.len() as u32,
            data: self.raw.data,
            headers: self.raw.headers,
            records: self.raw.records,
            values: None,
            rows: None,
            inputs: Vec::new(),
        }
    }
}

enum Mode {
    /// Only `keep` so far: the output is a selection of input rows.
    Selection,
    /// Raw values were emitted.
    Raw,
    /// Typed rows were written.
    Typed(RowsBuilder),
}

/// Everything `process` returns: the rows and the rejected inputs.
pub struct Output {
    schema: Option<Vec<Field>>,
    capacity: usize,
    mode: Mode,
    kept: Vec<u32>,
    raw: Raw,
    inputs: Vec<u32>,
    errors: Vec<RecordError>,
    /// A misuse found while building (reported by `finish`).
    misuse: Option<String>,
}

impl Output {
    /// An empty output for a batch of `rows` rows; typed rows written to it
    /// have the schema `schema` (the plugin's declared output columns).
    pub fn new(schema: Option<Vec<Field>>, rows: usize) -> Self {
        Output {
            schema,
            capacity: rows,
            mode: Mode::Selection,
            kept: Vec::with_capacity(rows),
            raw: Raw::default(),
            inputs: Vec::new(),
            errors: Vec::new(),
            misuse: None,
        }
    }

    fn misuse(&mut self, message: &str) {
        self.misuse.get_or_insert_with(|| message.to_string());
    }

    /// The emitter for outputs derived from `row`.
    pub fn out_for<'o, 'a, 'i>(&'o mut self, row: Row<'a, 'i>) -> Out<'o, 'a, 'i> {
        Out { output: self, row }
    }

    /// Records that input row `input` could not be processed.
    pub fn reject(&mut self, input: u32, message: String) {
        self.errors.push(RecordError { input, message });
    }

    /// Keeps input row `input` unchanged (in a filter: the row passes).
    /// Rows must be kept in increasing order.
    pub fn keep_index(&mut self, input: u32) {
        self.kept.push(input);
    }

    /// Starts a typed row derived from input row `input` and returns the
    /// columns to push its values into: exactly one value per column.
    pub fn typed_row(&mut self, input: u32) -> Result<&mut RowsBuilder, Fail> {
        if !matches!(self.mode, Mode::Typed(_)) {
            if matches!(self.mode, Mode::Raw) || !self.kept.is_empty() {
                return Err(Fail::Fatal(
                    "a batch's outputs are all typed rows or all raw values (or only kept rows)"
                        .into(),
                ));
            }
            let Some(schema) = &self.schema else {
                return Err(Fail::Fatal(
                    "typed rows need the plugin to declare its output columns in schema()".into(),
                ));
            };
            self.inputs.reserve(self.capacity);
            self.mode = Mode::Typed(RowsBuilder::new(schema, self.capacity));
        }
        self.inputs.push(input);
        match &mut self.mode {
            Mode::Typed(rows) => Ok(rows),
            _ => unreachable!("set above"),
        }
    }

    /// Emits `value` as a raw output of input row `index` (what
    /// [`Out::emit`] does, for batch-level code that works on indices).
    pub fn emit_for(&mut self, input: &Input<'_>, index: u32, value: &[u8]) -> Emitted<'_> {
        let raw = self.raw_mode(input);
        let span = raw.append(value);
        raw.push(Some(span));
        self.inputs.push(index);
        Emitted { raw: &mut self.raw }
    }

    /// Switches to raw output, turning rows kept so far into raw outputs.
    fn raw_mode(&mut self, input: &Input<'_>) -> &mut Raw {
        match self.mode {
            Mode::Raw => {}
            Mode::Typed(_) => self.misuse("a batch's outputs are all typed rows or all raw values"),
            Mode::Selection => {
                self.mode = Mode::Raw;
                for i in std::mem::take(&mut self.kept) {
                    self.copy_raw(input.row(i as usize));
                }
            }
        }
        &mut self.raw
    }

    fn copy_raw(&mut self, row: Row<'_, '_>) {
        if row.is_typed() {
            self.misuse("a typed input row cannot be kept among raw outputs; emit it as raw bytes");
        }
        let span = row.value().map(|v| self.raw.append(v));
        self.raw.push(span);
        self.inputs.push(row.index());
    }

    /// The contract's output value.
    pub fn finish(self) -> Result<crate::wit::types::Output, Error> {
        if let Some(misuse) = self.misuse {
            return Err(Error::Fatal(misuse));
        }
        let produced = match self.mode {
            Mode::Selection => Produced::Selection(self.kept),
            Mode::Raw => Produced::Batch(Batch {
                len: self.inputs.len() as u32,
                data: self.raw.data,
                headers: self.raw.headers,
                records: self.raw.records,
                values: None,
                rows: None,
                inputs: self.inputs,
            }),
            Mode::Typed(rows) => {
                let len = self.inputs.len();
                Produced::Batch(Batch {
                    len: len as u32,
                    data: Vec::new(),
                    headers: Vec::new(),
                    records: Vec::new(),
                    values: None,
                    rows: Some(rows.finish(len)?),
                    inputs: self.inputs,
                })
            }
        };
        Ok(crate::wit::types::Output {
            produced,
            errors: self.errors,
        })
    }
}

/// Emits the outputs of one input row.
pub struct Out<'o, 'a, 'i> {
    output: &'o mut Output,
    row: Row<'a, 'i>,
}

impl Out<'_, '_, '_> {
    /// Passes the input row on unchanged (what a filter does with a match).
    pub fn keep(&mut self) {
        match &mut self.output.mode {
            Mode::Selection => self.output.kept.push(self.row.index()),
            Mode::Raw => self.output.copy_raw(self.row),
            Mode::Typed(_) => {
                let row = self.row;
                let same_schema =
                    row.fields().is_some() && row.fields() == self.output.schema.as_deref();
                if !same_schema {
                    return self.output.misuse(
                        "a kept row must have the plugin's output schema to join typed rows",
                    );
                }
                let cells: Vec<Cell<'_>> = (0..row.fields().map_or(0, <[_]>::len))
                    .map(|i| {
                        row.input()
                            .column_at(i)
                            .map_or(Cell::Null, |c| c.cell(row.index() as usize))
                    })
                    .collect();
                if let Ok(rows) = self.output.typed_row(row.index()) {
                    rows.push_cells(&cells);
                }
            }
        }
    }

    /// Emits `value` as a raw output of the current input row; its key,
    /// headers and timestamp are the input's unless set on the result.
    pub fn emit(&mut self, value: &[u8]) -> Emitted<'_> {
        self.emit_with(|buf| buf.extend_from_slice(value))
    }

    /// Emits a raw output whose value `write` serialises in place.
    pub fn emit_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Emitted<'_> {
        let row = self.row;
        let raw = self.output.raw_mode(row.input());
        let offset = raw.data.len();
        write(&mut raw.data);
        let span = Span {
            offset: offset as u32,
            len: (raw.data.len() - offset) as u32,
        };
        raw.push(Some(span));
        self.output.inputs.push(row.index());
        Emitted {
            raw: &mut self.output.raw,
        }
    }

    /// Emits a raw output with a null value (a tombstone).
    pub fn emit_null(&mut self) -> Emitted<'_> {
        let row = self.row;
        self.output.raw_mode(row.input()).push(None);
        self.output.inputs.push(row.index());
        Emitted {
            raw: &mut self.output.raw,
        }
    }

    /// Emits a typed row of the plugin's declared schema, one cell per
    /// field (see [`Transform::schema`](crate::Transform::schema)).
    pub fn emit_row(&mut self, cells: &[Cell<'_>]) -> Result<(), Fail> {
        let index = self.row.index();
        self.output.typed_row(index)?.push_cells(cells);
        Ok(())
    }
}
