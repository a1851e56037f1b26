//! `select`: computes new columns from Spark SQL expressions, as Spark's
//! `df.selectExpr(…)` does.
//!
//! `exprs` is a select list: `ticker, round(price * 0.92, 2) AS price_eur`,
//! `*` for every input column (the default). Each output column is named by its alias or
//! as Spark names an unaliased expression (`(price * 2)`), and typed as
//! Spark types it; `--check` and `-f schema` show them. The input is typed
//! rows or raw JSON objects, read against `schema` (a Spark DDL string, the
//! tutorial's by default), exactly as `schema_filter` reads them. A row that
//! does not conform, or whose expression fails (ANSI mode: an overflow, a
//! division by zero, a malformed cast), is a record error naming the column.

use sluice_sdk::value::Row;
use sluice_sdk::{
    Accepts, Cell, Config, Error, Fail, Field, FieldType, Info, Input, Out, Output, Transform,
    field, key,
};
use sluice_sql::rows::Schema;
use sluice_sql::{Options, Selected};

pub use sluice_sql::rows::DEFAULT_SCHEMA;

/// The plugin state: the input schema and the compiled select list.
pub struct Select {
    schema: Schema,
    selected: Vec<Selected>,
}

impl Select {
    /// Compiles `exprs` against `schema`; errors name the key and position.
    pub fn new(schema: &str, exprs: &str, options: Options) -> Result<Self, Error> {
        let schema = Schema::from_config(schema, None)?;
        let selected = sluice_sql::select_list(exprs, &schema.fields, options)
            .map_err(|e| Error::BadConfig(format!("config exprs={exprs:?}: {e}")))?;
        // Spark allows two columns of one name; a record (a JSON object, a
        // row read by name downstream) cannot hold them.
        for (i, s) in selected.iter().enumerate() {
            if selected[..i].iter().any(|t| t.name == s.name) {
                return Err(Error::BadConfig(format!(
                    "config exprs={exprs:?}: two columns are named {:?}; give one another name with AS",
                    s.name
                )));
            }
        }
        Ok(Select { schema, selected })
    }

    /// The output cells of one input row, or the first column's error.
    fn row<'a>(&'a self, cells: &[Cell<'a>]) -> Result<Row<Cell<'a>>, String> {
        self.selected
            .iter()
            .map(|s| {
                s.expr
                    .eval(cells)
                    .map_err(|why| format!("column {:?}: {why}", s.name))
            })
            .collect()
    }
}

impl Transform for Select {
    fn about() -> Info {
        Info {
            accepts: Accepts::Any,
            reads_metadata: false,
            ..sluice_sdk::info(
                "computes columns from Spark SQL expressions, like Spark's selectExpr",
                vec![
                    key(
                        "exprs",
                        "Spark SQL select list, e.g. ticker, round(price * 0.92, 2) AS price_eur (* for all input columns)",
                        Some("*"),
                    ),
                    key(
                        "schema",
                        "Spark DDL schema of the input records",
                        Some(DEFAULT_SCHEMA),
                    ),
                    Options::key(),
                ],
            )
        }
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let schema = config.get_or("schema", DEFAULT_SCHEMA).to_string();
        let options = Options::from_config(config)?;
        let exprs = config.get_or("exprs", "*").to_string();
        Select::new(&schema, &exprs, options)
    }

    fn schema(&self) -> Option<Vec<Field>> {
        Some(
            self.selected
                .iter()
                // A bare NULL has Spark's type void; it is shown as a string.
                .map(|s| field(&s.name, s.expr.ty().unwrap_or(FieldType::String)))
                .collect(),
        )
    }

    fn process(
        &mut self,
        row: &sluice_sdk::Row<'_, '_>,
        out: &mut Out<'_, '_, '_>,
    ) -> Result<(), Fail> {
        let cells = self.schema.read_value(row.value())?;
        out.emit_row(&self.row(&cells)?)
    }

    fn process_batch(&mut self, input: &Input<'_>, output: &mut Output) -> Result<(), Error> {
        let mut fatal = None;
        self.schema
            .for_each_row(input, |i, cells| match cells.and_then(|c| self.row(c)) {
                Ok(values) => match output.typed_row(i) {
                    Ok(rows) => rows.push_cells(&values),
                    Err(Fail::Fatal(m) | Fail::Record(m)) => fatal = Some(m),
                },
                Err(why) => output.reject(i, why),
            });
        match fatal {
            Some(message) => Err(Error::Fatal(message)),
            None => Ok(()),
        }
    }
}

sluice_sdk::export_transform!(Select);
