//! `{{name}}`: keeps the stock ticks whose price is at least `min` (default 50).
//! A filter keeps or drops each row; the rows it keeps go on unchanged. It
//! reads typed rows (after `parse_stock`) and raw JSON values alike.
use sluice_sdk::{Config, Error, Filter, Info, Row, info, key};

struct Plugin {
    min: f64,
}

impl Filter for Plugin {
    fn about() -> Info {
        info(
            "keeps the records whose price is at least min",
            vec![key("min", "the lowest price kept", Some("50"))],
        )
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        Ok(Plugin {
            min: config.parse_or("min", 50.0)?,
        })
    }

    fn keep(&self, row: &Row) -> bool {
        // A missing, null or non-numeric price is `None`: the row is dropped.
        row.f64("price").is_some_and(|price| price >= self.min)
    }
}

sluice_sdk::export_filter!(Plugin);
