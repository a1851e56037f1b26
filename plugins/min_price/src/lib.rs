//! `min_price`: the smallest useful plugin, an example for plugin authors.
//! Keeps the stock ticks whose price is at least `min` (config, default 50).
use sluice_sdk::{Config, Error, Fail, Out, Record, Transform};

struct MinPrice(f64);
impl Transform for MinPrice {
    fn init(config: &mut Config) -> Result<Self, Error> {
        Ok(MinPrice(config.parse_or("min", 50.0)?))
    }
    fn process(&mut self, record: &Record, out: &mut Out) -> Result<(), Fail> {
        if record.json_f64("price")?.is_some_and(|p| p >= self.0) {
            out.keep(record)
        }
        Ok(())
    }
}
sluice_sdk::export_transform!(MinPrice);
