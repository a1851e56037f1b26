//! `min_price`: the smallest useful plugin, an example for plugin authors.
//! Keeps the stock ticks whose price is at least `min` (config, default 50).
use sluice_sdk::{Config, Error, Filter, Row};

struct MinPrice(f64);
impl Filter for MinPrice {
    fn init(config: &mut Config) -> Result<Self, Error> {
        Ok(MinPrice(config.parse_or("min", 50.0)?))
    }
    fn keep(&self, row: &Row) -> bool {
        row.f64("price").is_some_and(|p| p >= self.0)
    }
}
sluice_sdk::export_filter!(MinPrice);
