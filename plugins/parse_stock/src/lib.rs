//! `parse_stock`: Spark's `from_json(value, "event_time string, ticker string, price double")`.
//!
//! Each input value is parsed with Spark's rules (see `sluice_sdk::value`)
//! into one row, written as a JSON object with exactly the schema's fields in
//! schema order (`null` for nulls). A record that Spark calls malformed (a JSON
//! syntax error, a top-level value that is not an object, a field of the wrong
//! type) is handled by `mode`:
//! - `PERMISSIVE` (default): the row is output with what could be parsed
//!   (nothing, for a syntax error) and, if `corrupt_record_column` is set,
//!   the raw text in that column;
//! - `FAILFAST`: the plugin stops with Spark's message;
//! - `DROP`: the record is dropped;
//! - `DLQ`: the record becomes a record error, which the host sends to the
//!   dead-letter topic with the reason.
//!
//! A null, empty or all-whitespace value (or the JSON literal `null`) is a
//! null row, not a malformed record, as in Spark.

use sluice_sdk::schema::parse_ddl;
use sluice_sdk::value::{Cell, Document, Row, convert, read_document, write_json_row};
use sluice_sdk::{Config, Error, Fail, Field, FieldType, Info, Out, Record, Transform, key};

/// The tutorial's schema.
pub const DEFAULT_SCHEMA: &str = "event_time string, ticker string, price double";

/// What to do with a malformed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Output what could be parsed, nulls elsewhere.
    Permissive,
    /// Stop at the first malformed record.
    FailFast,
    /// Drop malformed records.
    Drop,
    /// Make malformed records record errors (dead-letter topic).
    Dlq,
}

/// The plugin state: the schema and the mode.
pub struct ParseStock {
    /// Columns read from the JSON.
    fields: Vec<Field>,
    /// All output columns: `fields` plus the corrupt-record column if any.
    output: Vec<Field>,
    /// Index in `output` of the corrupt-record column.
    corrupt: Option<usize>,
    mode: Mode,
}

impl ParseStock {
    /// Builds the plugin from a schema, a mode and an optional corrupt-record column.
    pub fn new(schema: &str, mode: Mode, corrupt_column: Option<&str>) -> Result<Self, Error> {
        let mut output = parse_ddl(schema)
            .map_err(|e| Error::BadConfig(format!("config schema={schema:?}: {e}")))?;
        let corrupt = match corrupt_column {
            None => None,
            Some(name) => match output.iter().position(|f| f.name == name) {
                Some(i) if output[i].ty != FieldType::String => {
                    return Err(Error::BadConfig(format!(
                        "config corrupt_record_column={name:?}: the schema declares it, so it must be a nullable string"
                    )));
                }
                Some(i) => Some(i),
                None => {
                    output.push(Field {
                        name: name.to_string(),
                        ty: FieldType::String,
                        nullable: true,
                    });
                    Some(output.len() - 1)
                }
            },
        };
        let fields = output
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != corrupt)
            .map(|(_, f)| f.clone())
            .collect();
        Ok(ParseStock {
            fields,
            output,
            corrupt,
            mode,
        })
    }

    /// Parses one value into `cells` (one per output column); returns the
    /// reason when the record is malformed.
    fn parse<'a>(&self, value: Option<&'a [u8]>, cells: &mut Row<Cell<'a>>) -> Option<String> {
        cells.clear();
        cells.resize(self.output.len(), Cell::Null);
        let value = value?;
        if value.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let slots = match read_document(value, &self.fields) {
            Err(e) => return Some(format!("malformed JSON: {e}")),
            Ok(Document::Null) => return None,
            Ok(Document::Other(kind)) => {
                return Some(format!("expected a JSON object, found {kind}"));
            }
            Ok(Document::Object(slots)) => slots,
        };
        let mut bad = None;
        let mut column = 0;
        for (field, slot) in self.fields.iter().zip(slots) {
            if Some(column) == self.corrupt {
                column += 1;
            }
            if let Some(raw) = slot {
                match convert(raw, field.ty, true) {
                    Ok(cell) => cells[column] = cell,
                    Err(why) => {
                        bad.get_or_insert_with(|| format!("field {:?}: {why}", field.name));
                    }
                }
            }
            column += 1;
        }
        bad
    }
}

fn parse_mode(raw: &str) -> Result<Mode, Error> {
    match raw.to_ascii_uppercase().as_str() {
        "PERMISSIVE" => Ok(Mode::Permissive),
        "FAILFAST" => Ok(Mode::FailFast),
        "DROP" | "DROPMALFORMED" => Ok(Mode::Drop),
        "DLQ" => Ok(Mode::Dlq),
        _ => Err(Error::BadConfig(format!(
            "config mode={raw:?}: expected PERMISSIVE, FAILFAST, DROP or DLQ"
        ))),
    }
}

impl Transform for ParseStock {
    fn about() -> Info {
        Info {
            description: "Spark from_json(value, schema): parses JSON values into rows".into(),
            config: vec![
                key(
                    "mode",
                    "malformed records: PERMISSIVE (nulls), FAILFAST (stop), DROP, DLQ (record error)",
                    Some("PERMISSIVE"),
                ),
                key(
                    "corrupt_record_column",
                    "column that holds the raw text of malformed records (Spark's _corrupt_record)",
                    None,
                ),
                key(
                    "schema",
                    "Spark DDL schema of the JSON values",
                    Some(DEFAULT_SCHEMA),
                ),
            ],
        }
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let mode = parse_mode(config.get_or("mode", "PERMISSIVE"))?;
        let corrupt = config.get("corrupt_record_column").map(str::to_string);
        let schema = config.get_or("schema", DEFAULT_SCHEMA).to_string();
        ParseStock::new(&schema, mode, corrupt.as_deref())
    }

    fn schema(&self) -> Option<Vec<Field>> {
        Some(self.output.clone())
    }

    fn process(&mut self, record: &Record<'_>, out: &mut Out<'_>) -> Result<(), Fail> {
        let value = record.value();
        let mut cells = Row::new();
        match (self.parse(value, &mut cells), self.mode) {
            (None, _) => {}
            (Some(_), Mode::Permissive) => {
                if let (Some(i), Some(raw)) = (self.corrupt, value) {
                    cells[i] = Cell::Str(String::from_utf8_lossy(raw));
                }
            }
            (Some(_), Mode::Drop) => return Ok(()),
            (Some(why), Mode::Dlq) => return Err(Fail::Record(why)),
            (Some(why), Mode::FailFast) => {
                return Err(Fail::Fatal(format!(
                    "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: {}. \
                     Parse Mode: FAILFAST. To process malformed records as null result, try setting the option 'mode' as 'PERMISSIVE'. ({why})",
                    String::from_utf8_lossy(value.unwrap_or_default())
                )));
            }
        }
        out.emit_with(|buf| write_json_row(buf, &self.output, &cells));
        Ok(())
    }
}

sluice_sdk::export_transform!(ParseStock);
