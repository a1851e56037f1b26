//! `{{name}}`: maps each stock tick to a new row, `ticker` and the price in cents.
//! A map emits one output per input: here a typed row of the columns that
//! `schema()` declares, which the next plugin and the sink read as cells.
use sluice_sdk::schema::parse_ddl;
use sluice_sdk::{Cell, Config, Error, Fail, Field, Info, Out, Row, Transform, info};

struct Plugin {
    columns: Vec<Field>,
}

impl Transform for Plugin {
    fn about() -> Info {
        info("ticker and price in cents of each stock tick", Vec::new())
    }

    fn init(_config: &mut Config) -> Result<Self, Error> {
        let columns = parse_ddl("ticker string, price_cents long")
            .map_err(|e| Error::BadConfig(format!("output schema: {e}")))?;
        Ok(Plugin { columns })
    }

    // The output columns: `host test -f table` and the console sink show them.
    fn schema(&self) -> Option<Vec<Field>> {
        Some(self.columns.clone())
    }

    fn process(&mut self, row: &Row, out: &mut Out) -> Result<(), Fail> {
        // A record without them is a record error: the host sends it to the
        // dead-letter topic (or drops it, or stops) and goes on.
        let ticker = row.str("ticker").ok_or("no ticker")?;
        let price = row.f64("price").ok_or("no numeric price")?;
        out.emit_row(&[Cell::Str(ticker), Cell::I64((price * 100.0).round() as i64)])
    }
}

sluice_sdk::export_transform!(Plugin);
