//! `{{name}}`: maps each stock tick to a new row, `ticker` and the price in cents.
//! A map emits exactly one output per input; key, headers and timestamp are kept.
use serde_json::Value;
use sluice_sdk::schema::parse_ddl;
use sluice_sdk::{Config, Error, Fail, Field, Info, Out, Record, Transform};

struct Plugin;

impl Transform for Plugin {
    fn about() -> Info {
        Info {
            description: "ticker and price in cents of each stock tick".into(),
            config: Vec::new(),
        }
    }

    fn init(_config: &mut Config) -> Result<Self, Error> {
        Ok(Plugin)
    }

    // The output columns: `host test -f table` and the console sink show them.
    fn schema(&self) -> Option<Vec<Field>> {
        parse_ddl("ticker string, price_cents long").ok()
    }

    fn process(&mut self, record: &Record, out: &mut Out) -> Result<(), Fail> {
        let tick: Value = serde_json::from_slice(record.value().unwrap_or_default())?;
        let ticker = tick["ticker"].as_str().ok_or("no ticker")?;
        let price = tick["price"].as_f64().ok_or("no numeric price")?;
        let row = serde_json::json!({"ticker": ticker, "price_cents": (price * 100.0).round() as i64});
        out.emit_with(|buf| serde_json::to_writer(buf, &row).expect("writing JSON to a Vec"));
        Ok(())
    }
}

sluice_sdk::export_transform!(Plugin);
