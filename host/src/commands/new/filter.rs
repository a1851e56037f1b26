//! `{{name}}`: keeps the stock ticks whose price is at least `min` (default 50).
//! A filter emits each input record unchanged, or nothing.
use sluice_sdk::{Config, Error, Fail, Info, Out, Record, Transform, key};

struct Plugin {
    min: f64,
}

impl Transform for Plugin {
    fn about() -> Info {
        Info {
            description: "keeps the records whose price is at least min".into(),
            config: vec![key("min", "the lowest price kept", Some("50"))],
        }
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        Ok(Plugin {
            min: config.parse_or("min", 50.0)?,
        })
    }

    fn process(&mut self, record: &Record, out: &mut Out) -> Result<(), Fail> {
        // A value that is not a JSON object with a number `price` is a record error:
        // the host sends it to the dead-letter topic (or drops it, or stops) and goes on.
        if record.json_f64("price")?.is_some_and(|price| price >= self.min) {
            out.keep(record);
        }
        Ok(())
    }
}

sluice_sdk::export_transform!(Plugin);
