//! The rows an expression reads: typed columns (from `parse_stock`) or raw
//! JSON values parsed against a Spark DDL schema, as cells, with `NOT NULL`
//! checked. A row that cannot be read is that record's error, naming the
//! field and why.

use sluice_sdk::schema::{parse_ddl, type_name};
use sluice_sdk::value::{Cell, Document, Row, convert, read_document};
use sluice_sdk::{ColumnView, Error, Field, Input};

/// The tutorial's schema, the SQL plugins' `schema` when it is not given.
pub const DEFAULT_SCHEMA: &str = "event_time string, ticker string, price double";

/// The input columns an expression is compiled against.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The columns, in order; a cell row has one cell per field.
    pub fields: Vec<Field>,
}

impl Schema {
    /// Parses the `schema` config (a Spark DDL string) and marks the
    /// comma-separated `not_null` columns; errors name the key.
    pub fn from_config(schema: &str, not_null: Option<&str>) -> Result<Schema, Error> {
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
        Ok(Schema { fields })
    }

    /// Reads one raw value: its cells, or why it does not conform.
    pub fn read_value<'a>(&self, value: Option<&'a [u8]>) -> Result<Row<Cell<'a>>, String> {
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

    /// The batch's columns for this schema's fields (`None` where the input
    /// has no such column: all nulls), or why every row fails: a column of
    /// another type than the schema's.
    pub fn columns<'a>(&self, input: &Input<'a>) -> Result<Vec<Option<ColumnView<'a>>>, String> {
        let columns: Vec<Option<ColumnView<'a>>> =
            self.fields.iter().map(|f| input.column(&f.name)).collect();
        for (field, column) in self.fields.iter().zip(&columns) {
            if let Some(column) = column
                && column.field().ty != field.ty
            {
                return Err(format!(
                    "field {:?}: expected {}, found a {} column",
                    field.name,
                    type_name(field.ty),
                    type_name(column.field().ty)
                ));
            }
        }
        Ok(columns)
    }

    /// Calls `each(index, cells)` for every row of `input`, typed or raw;
    /// `cells` is `Err` with the reason when the row does not conform.
    pub fn for_each_row<'a>(
        &self,
        input: &Input<'a>,
        mut each: impl FnMut(u32, Result<&[Cell<'a>], String>),
    ) {
        if input.fields().is_none() {
            for row in input.rows() {
                match self.read_value(row.value()) {
                    Ok(cells) => each(row.index(), Ok(&cells)),
                    Err(why) => each(row.index(), Err(why)),
                }
            }
            return;
        }
        let columns = match self.columns(input) {
            Ok(columns) => columns,
            Err(why) => {
                for i in 0..input.len() as u32 {
                    each(i, Err(why.clone()));
                }
                return;
            }
        };
        let mut cells: Row<Cell<'a>> = Row::new();
        'rows: for i in 0..input.len() {
            cells.clear();
            for (field, column) in self.fields.iter().zip(&columns) {
                let cell = column.as_ref().map_or(Cell::Null, |c| c.cell(i));
                if cell == Cell::Null && !field.nullable {
                    each(i as u32, Err(not_null(field, column.is_some())));
                    continue 'rows;
                }
                cells.push(cell);
            }
            each(i as u32, Ok(&cells));
        }
    }

    /// Whether any field is declared NOT NULL.
    pub fn checks_nulls(&self) -> bool {
        self.fields.iter().any(|f| !f.nullable)
    }
}

fn not_null(field: &Field, present: bool) -> String {
    let how = if present { "is null" } else { "is missing" };
    format!("field {:?} {how} but declared NOT NULL", field.name)
}
