//! `schema_filter`: checks records against a Spark DDL schema and keeps
//! those that satisfy a SQL `where` predicate.
//!
//! - Typed rows (from `parse_stock`) are checked column by column: a column
//!   of another type than the schema's makes every row a record error; the
//!   predicate reads cells (a `column op number` predicate runs as one loop
//!   over the column).
//! - Raw JSON values are parsed against the schema: one that does not
//!   conform (not a JSON object, a field of the wrong type) is a record error
//!   that names the field and why.
//! - A null in a `NOT NULL` / `not_null` field is a record error.
//! - A row that fails the predicate is dropped; the rows that pass go back
//!   to the host as a selection, unchanged and uncopied.

pub mod predicate;

use predicate::Expr;
use sluice_sdk::schema::parse_ddl;
use sluice_sdk::value::{Cell, Document, Row, convert, read_document};
use sluice_sdk::{
    Accepts, ColumnView, Config, Error, Fail, Field, Info, Input, Out, Output, Transform, key,
};

/// The tutorial's schema, used when `schema` is not given.
pub const DEFAULT_SCHEMA: &str = "event_time string, ticker string, price double";

/// The plugin state: the schema and the compiled predicate.
pub struct SchemaFilter {
    fields: Vec<Field>,
    predicate: Option<Expr>,
}

impl SchemaFilter {
    /// Builds the filter; errors name the config key and the position.
    pub fn new(schema: &str, not_null: Option<&str>, where_: Option<&str>) -> Result<Self, Error> {
        let mut fields = parse_ddl(schema)
            .map_err(|e| Error::BadConfig(format!("config schema={schema:?}: {e}")))?;
        for name in not_null
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match fields.iter_mut().find(|f| f.name == name) {
                Some(field) => field.nullable = false,
                None => {
                    return Err(Error::BadConfig(format!(
                        "config not_null: unknown column {name:?} (columns: {})",
                        fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        let predicate = match where_ {
            None => None,
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(
                predicate::parse(text, &fields)
                    .map_err(|e| Error::BadConfig(format!("config where={text:?}: {e}")))?,
            ),
        };
        Ok(SchemaFilter { fields, predicate })
    }

    /// Checks one value: the row's cells, or why it does not conform.
    pub fn check<'a>(&self, value: Option<&'a [u8]>) -> Result<Row<Cell<'a>>, String> {
        let value = value.ok_or("value is null; expected a JSON object")?;
        let slots = match read_document(value, &self.fields) {
            Err(e) => return Err(format!("value is not valid JSON: {e}")),
            Ok(Document::Object(slots)) => slots,
            Ok(Document::Null) => return Err("value is JSON null; expected a JSON object".into()),
            Ok(Document::Other(kind)) => {
                return Err(format!("expected a JSON object, found {kind}"));
            }
        };
        let mut cells = Row::new();
        for (field, slot) in self.fields.iter().zip(slots) {
            let cell = match slot {
                None => Cell::Null,
                Some(raw) => convert(raw, field.ty, false)
                    .map_err(|why| format!("field {:?}: {why}", field.name))?,
            };
            if cell == Cell::Null && !field.nullable {
                return Err(not_null(field, slot.is_some()));
            }
            cells.push(cell);
        }
        Ok(cells)
    }

    /// Filters typed rows: checks the columns' types once, then each row's
    /// NOT NULL fields and the predicate.
    fn filter_columns(&self, input: &Input<'_>, output: &mut Output) {
        let columns: Vec<Option<ColumnView<'_>>> =
            self.fields.iter().map(|f| input.column(&f.name)).collect();
        for (field, column) in self.fields.iter().zip(&columns) {
            if let Some(column) = column
                && column.field().ty != field.ty
            {
                let why = format!(
                    "field {:?}: expected {}, found a {} column",
                    field.name,
                    sluice_sdk::schema::type_name(field.ty),
                    sluice_sdk::schema::type_name(column.field().ty)
                );
                for i in 0..input.len() as u32 {
                    output.reject(i, why.clone());
                }
                return;
            }
        }
        let checks_nulls = self.fields.iter().any(|f| !f.nullable);
        if !checks_nulls
            && let Some((c, op, n)) = self.predicate.as_ref().and_then(|p| p.column_vs_number())
            && let Some(column) = &columns[c]
            && let Some(values) = column.f64s()
        {
            // The vectorised case: one comparison per value, nulls never pass.
            for (i, x) in values.iter().enumerate().take(input.len()) {
                if predicate::compare_numbers(*x, op, n) && column.is_valid(i) {
                    output.keep_index(i as u32);
                }
            }
            return;
        }
        let mut cells: Row<Cell<'_>> = Row::new();
        'rows: for i in 0..input.len() {
            cells.clear();
            for (field, column) in self.fields.iter().zip(&columns) {
                let cell = column.map_or(Cell::Null, |c| c.cell(i));
                if cell == Cell::Null && !field.nullable {
                    output.reject(i as u32, not_null(field, column.is_some()));
                    continue 'rows;
                }
                cells.push(cell);
            }
            if self.passes(&cells) {
                output.keep_index(i as u32);
            }
        }
    }

    /// Whether a conforming row passes the predicate (unknown does not).
    pub fn passes(&self, cells: &[Cell<'_>]) -> bool {
        self.predicate
            .as_ref()
            .is_none_or(|p| p.eval(cells) == Some(true))
    }
}

fn not_null(field: &Field, present: bool) -> String {
    let how = if present { "is null" } else { "is missing" };
    format!("field {:?} {how} but declared NOT NULL", field.name)
}

impl Transform for SchemaFilter {
    fn about() -> Info {
        Info {
            accepts: Accepts::Any,
            reads_metadata: false,
            ..sluice_sdk::info(
                "checks records against a schema and keeps those matching a SQL predicate",
                vec![
                    key(
                        "schema",
                        "Spark DDL schema the records must conform to",
                        Some(DEFAULT_SCHEMA),
                    ),
                    key(
                        "not_null",
                        "comma-separated columns that must not be null",
                        None,
                    ),
                    key(
                        "where",
                        "SQL predicate, e.g. price > 50 AND ticker IN ('AAPL','MSFT')",
                        None,
                    ),
                ],
            )
        }
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let schema = config.get_or("schema", DEFAULT_SCHEMA).to_string();
        let not_null = config.get("not_null").map(str::to_string);
        let where_ = config.get("where").map(str::to_string);
        SchemaFilter::new(&schema, not_null.as_deref(), where_.as_deref())
    }

    fn schema(&self) -> Option<Vec<Field>> {
        Some(self.fields.clone())
    }

    fn process(
        &mut self,
        row: &sluice_sdk::Row<'_, '_>,
        out: &mut Out<'_, '_, '_>,
    ) -> Result<(), Fail> {
        let cells = self.check(row.value())?;
        if self.passes(&cells) {
            out.keep();
        }
        Ok(())
    }

    fn process_batch(&mut self, input: &Input<'_>, output: &mut Output) -> Result<(), Error> {
        if input.fields().is_some() {
            self.filter_columns(input, output);
            return Ok(());
        }
        for row in input.rows() {
            match self.check(row.value()) {
                Ok(cells) if self.passes(&cells) => output.keep_index(row.index()),
                Ok(_) => {}
                Err(why) => output.reject(row.index(), why),
            }
        }
        Ok(())
    }
}

sluice_sdk::export_transform!(SchemaFilter);
