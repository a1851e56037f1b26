//! `schema_filter`: checks JSON records against a Spark DDL schema and keeps
//! those that satisfy a SQL `where` predicate.
//!
//! - A record that does not conform (not a JSON object, a field of the wrong
//!   type, a null in a `NOT NULL` / `not_null` field) is a record error that
//!   names the field and why.
//! - A conforming record that fails the predicate is dropped; one that passes
//!   is output unchanged.

pub mod predicate;

use predicate::Expr;
use sluice_sdk::schema::parse_ddl;
use sluice_sdk::value::{Cell, Document, Row, convert, read_document};
use sluice_sdk::{Config, Error, Fail, Field, Info, Out, Record, Transform, key};

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
                let how = if slot.is_some() {
                    "is null"
                } else {
                    "is missing"
                };
                return Err(format!(
                    "field {:?} {how} but declared NOT NULL",
                    field.name
                ));
            }
            cells.push(cell);
        }
        Ok(cells)
    }

    /// Whether a conforming row passes the predicate (unknown does not).
    pub fn passes(&self, cells: &[Cell<'_>]) -> bool {
        self.predicate
            .as_ref()
            .is_none_or(|p| p.eval(cells) == Some(true))
    }
}

impl Transform for SchemaFilter {
    fn about() -> Info {
        Info {
            description:
                "checks JSON records against a schema and keeps those matching a SQL predicate"
                    .into(),
            config: vec![
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

    fn process(&mut self, record: &Record<'_>, out: &mut Out<'_>) -> Result<(), Fail> {
        let cells = self.check(record.value())?;
        if self.passes(&cells) {
            out.keep(record);
        }
        Ok(())
    }
}

sluice_sdk::export_transform!(SchemaFilter);
