//! `parse_stock`: Spark's `from_json(value, "event_time string, ticker string, price double")`.
//!
//! Each input value is read once, by a reader specialised to the schema's
//! field names (`sluice_sdk::json`, with Spark's `JSONOptions`, each settable
//! as `--config parse_stock.allowSingleQuotes=false` and so on), and its
//! fields are converted with Spark's rules (`sluice_sdk::value`) straight into
//! typed columns: later plugins read cells, and the host's sink writes each
//! row once. A record that Spark calls malformed (a JSON
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

use sluice_sdk::json::{JsonOptions, Top, read_object};
use sluice_sdk::schema::parse_ddl;
use sluice_sdk::value::{Cell, Row, convert_token};
use sluice_sdk::{
    Accepts, Config, Error, Fail, Field, FieldType, Info, Input, Out, Output, Transform, key,
};

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
    /// The output columns: the schema's, plus the corrupt-record column if any.
    output: Vec<Field>,
    /// Index in `output` of the corrupt-record column.
    corrupt: Option<usize>,
    mode: Mode,
    options: JsonOptions,
}

impl ParseStock {
    /// Builds the plugin from a schema, a mode and an optional corrupt-record column.
    pub fn new(
        schema: &str,
        mode: Mode,
        corrupt_column: Option<&str>,
        options: JsonOptions,
    ) -> Result<Self, Error> {
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
                    output.push(sluice_sdk::field(name, FieldType::String));
                    Some(output.len() - 1)
                }
            },
        };
        Ok(ParseStock {
            output,
            corrupt,
            mode,
            options,
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
        // Columns of `output` by name; the corrupt-record column is not read.
        // Keys mostly come in schema order: the one after the last match is tried first.
        let columns = self.output.len();
        let mut guess = 0;
        let wanted = |name: &str| {
            let found = (0..columns)
                .map(|k| (guess + k) % columns)
                .find(|i| Some(*i) != self.corrupt && self.output[*i].name == name)?;
            guess = found + 1;
            Some(found)
        };
        // Each field is converted as it is read; a repeated key's last value wins,
        // and so does its verdict (a bad first value is forgotten).
        let mut bad: Option<(usize, String)> = None;
        let top = read_object(value, self.options, wanted, |i, token| {
            let field = &self.output[i];
            match convert_token(token, field.ty, true) {
                Ok(cell) => {
                    cells[i] = cell;
                    if bad.as_ref().is_some_and(|(column, _)| *column == i) {
                        bad = None;
                    }
                }
                Err(why) => {
                    cells[i] = Cell::Null;
                    if bad.is_none() {
                        bad = Some((i, format!("field {:?}: {why}", field.name)));
                    }
                }
            }
        });
        match top {
            Err(e) => {
                cells.iter_mut().for_each(|c| *c = Cell::Null);
                Some(format!("malformed JSON: {e}"))
            }
            Ok(Top::Null) => None,
            Ok(Top::Other(kind)) => {
                cells.iter_mut().for_each(|c| *c = Cell::Null);
                Some(format!("expected a JSON object, found {kind}"))
            }
            Ok(Top::Object) => bad.map(|(_, why)| why),
        }
    }

    /// Parses one record into `output`, by `mode`.
    fn parse_into(
        &self,
        index: u32,
        value: Option<&[u8]>,
        output: &mut Output,
    ) -> Result<(), Fail> {
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
        output.typed_row(index)?.push_cells(&cells);
        Ok(())
    }
}

/// A flag of Spark's JSON reader options.
type OptionFlag = fn(&mut JsonOptions) -> &mut bool;

/// Spark's JSON reader options, as `--config parse_stock.NAME=true|false`
/// (defaults: `JsonOptions::default()`, Spark's).
const OPTIONS: [(&str, &str, OptionFlag); 7] = [
    (
        "allowSingleQuotes",
        "accept 'single-quoted' strings and names",
        |o| &mut o.allow_single_quotes,
    ),
    (
        "allowNonNumericNumbers",
        "accept NaN, Infinity, -Infinity, +INF, -INF as numbers",
        |o| &mut o.allow_non_numeric_numbers,
    ),
    ("allowUnquotedFieldNames", "accept {name: 1}", |o| {
        &mut o.allow_unquoted_field_names
    }),
    ("allowComments", "accept /* */, // and # comments", |o| {
        &mut o.allow_comments
    }),
    ("allowNumericLeadingZeros", "accept numbers like 007", |o| {
        &mut o.allow_numeric_leading_zeros
    }),
    (
        "allowBackslashEscapingAnyCharacter",
        "accept \\q as q in strings",
        |o| &mut o.allow_backslash_escaping_any_character,
    ),
    (
        "allowUnquotedControlChars",
        "accept raw tabs and newlines in strings",
        |o| &mut o.allow_unquoted_control_chars,
    ),
];

fn parse_options(config: &mut Config) -> Result<JsonOptions, Error> {
    let mut options = JsonOptions::default();
    for (name, _, flag) in OPTIONS {
        match config.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => {}
            Some(v) if v == "true" => *flag(&mut options) = true,
            Some(v) if v == "false" => *flag(&mut options) = false,
            Some(v) => {
                return Err(Error::BadConfig(format!(
                    "config {name}={v:?}: expected true or false"
                )));
            }
        }
    }
    Ok(options)
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
        let mut config = vec![
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
        ];
        for (name, description, flag) in OPTIONS {
            let default = *flag(&mut JsonOptions::default());
            config.push(key(name, description, Some(&default.to_string())));
        }
        Info {
            accepts: Accepts::Raw,
            reads_metadata: false,
            ..sluice_sdk::info(
                "Spark from_json(value, schema): parses JSON values into typed rows",
                config,
            )
        }
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let mode = parse_mode(config.get_or("mode", "PERMISSIVE"))?;
        let corrupt = config.get("corrupt_record_column").map(str::to_string);
        let schema = config.get_or("schema", DEFAULT_SCHEMA).to_string();
        let options = parse_options(config)?;
        ParseStock::new(&schema, mode, corrupt.as_deref(), options)
    }

    fn schema(&self) -> Option<Vec<Field>> {
        Some(self.output.clone())
    }

    fn process(
        &mut self,
        row: &sluice_sdk::Row<'_, '_>,
        _: &mut Out<'_, '_, '_>,
    ) -> Result<(), Fail> {
        // Only reached through process_batch, which needs the whole output.
        Err(Fail::Fatal(format!("row {} outside a batch", row.index())))
    }

    fn process_batch(&mut self, input: &Input<'_>, output: &mut Output) -> Result<(), Error> {
        for row in input.rows() {
            match self.parse_into(row.index(), row.value(), output) {
                Ok(()) => {}
                Err(Fail::Record(message)) => output.reject(row.index(), message),
                Err(Fail::Fatal(message)) => return Err(Error::Fatal(message)),
            }
        }
        Ok(())
    }
}

sluice_sdk::export_transform!(ParseStock);
