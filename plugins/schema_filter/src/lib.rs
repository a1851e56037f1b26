//! `schema_filter`: checks records against a Spark DDL schema and keeps
//! those that satisfy a SQL `where` predicate (Spark's `df.filter("…")`).
//!
//! - Typed rows (from `parse_stock`) are checked column by column: a column
//!   of another type than the schema's makes every row a record error; the
//!   predicate reads cells (a `column op number` predicate on a double
//!   column runs as one loop over the column).
//! - Raw JSON values are parsed against the schema: one that does not
//!   conform (not a JSON object, a field of the wrong type) is a record error
//!   that names the field and why.
//! - A null in a `NOT NULL` / `not_null` field is a record error.
//! - The predicate is Spark SQL, parsed and evaluated by `sluice-sql`. A row
//!   for which it is false or NULL is dropped; an error while evaluating it
//!   (ANSI mode: a division by zero, a malformed cast) is the record's error.
//! - The rows that pass go back to the host as a selection, unchanged and
//!   uncopied.

use sluice_sdk::{Accepts, Config, Error, Field, Info, Input, Out, Output, Transform, key};
use sluice_sql::compare_doubles;
use sluice_sql::rows::Schema;
use sluice_sql::{Expr, Options, holds};

pub use sluice_sql::rows::DEFAULT_SCHEMA;

/// The plugin state: the schema and the compiled predicate.
pub struct SchemaFilter {
    schema: Schema,
    predicate: Option<Expr>,
}

impl SchemaFilter {
    /// Builds the filter; errors name the config key and the position.
    pub fn new(
        schema: &str,
        not_null: Option<&str>,
        where_: Option<&str>,
        options: Options,
    ) -> Result<Self, Error> {
        let schema = Schema::from_config(schema, not_null)?;
        let predicate = match where_ {
            None => None,
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(
                sluice_sql::predicate(text, &schema.fields, options)
                    .map_err(|e| Error::BadConfig(format!("config where={text:?}: {e}")))?,
            ),
        };
        Ok(SchemaFilter { schema, predicate })
    }

    /// Whether a conforming row passes the predicate (unknown does not).
    pub fn passes(&self, cells: &[sluice_sdk::Cell<'_>]) -> Result<bool, String> {
        match &self.predicate {
            None => Ok(true),
            Some(p) => p.passes(cells),
        }
    }

    /// The vectorised case: `column op number` on a double column of typed
    /// rows, with no NOT NULL field to check. One comparison per value
    /// (Spark's double ordering), nulls never pass. False when it does not
    /// apply.
    fn filter_column(&self, input: &Input<'_>, output: &mut Output) -> bool {
        if self.schema.checks_nulls() || input.fields().is_none() {
            return false;
        }
        let Some((c, op, n)) = self.predicate.as_ref().and_then(Expr::column_vs_number) else {
            return false;
        };
        let Ok(columns) = self.schema.columns(input) else {
            return false;
        };
        let Some(column) = &columns[c] else {
            return false;
        };
        let Some(values) = column.f64s() else {
            return false;
        };
        for (i, x) in values.iter().enumerate().take(input.len()) {
            if holds(op, compare_doubles(*x, n)) && column.is_valid(i) {
                output.keep_index(i as u32);
            }
        }
        true
    }
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
                        "Spark SQL predicate, e.g. price BETWEEN 10 AND 50 AND ticker LIKE 'A%'",
                        None,
                    ),
                    Options::key(),
                ],
            )
        }
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let schema = config.get_or("schema", DEFAULT_SCHEMA).to_string();
        let not_null = config.get("not_null").map(str::to_string);
        let where_ = config.get("where").map(str::to_string);
        let options = Options::from_config(config)?;
        SchemaFilter::new(&schema, not_null.as_deref(), where_.as_deref(), options)
    }

    fn schema(&self) -> Option<Vec<Field>> {
        Some(self.schema.fields.clone())
    }

    fn process(
        &mut self,
        row: &sluice_sdk::Row<'_, '_>,
        out: &mut Out<'_, '_, '_>,
    ) -> Result<(), sluice_sdk::Fail> {
        let cells = self.schema.read_value(row.value())?;
        if self.passes(&cells)? {
            out.keep();
        }
        Ok(())
    }

    fn process_batch(&mut self, input: &Input<'_>, output: &mut Output) -> Result<(), Error> {
        if self.filter_column(input, output) {
            return Ok(());
        }
        self.schema
            .for_each_row(input, |i, cells| match cells.and_then(|c| self.passes(c)) {
                Ok(true) => output.keep_index(i),
                Ok(false) => {}
                Err(why) => output.reject(i, why),
            });
        Ok(())
    }
}

sluice_sdk::export_transform!(SchemaFilter);
