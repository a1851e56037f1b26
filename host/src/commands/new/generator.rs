//! `{{name}}`: generates `count` records (default 10), `{"n": 0}`, `{"n": 1}`, …
//! A generator is a source: `host test` and `host generate` read it instead of input.
use sluice_sdk::schema::parse_ddl;
use sluice_sdk::{BatchBuilder, Config, Error, Field, Generator, Info, info, key};

struct Plugin {
    next: u64,
    count: u64,
}

impl Generator for Plugin {
    fn about() -> Info {
        info(
            "counts from 0",
            vec![key("count", "number of records, then the generator ends", Some("10"))],
        )
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        Ok(Plugin {
            next: 0,
            count: config.parse_or("count", 10)?,
        })
    }

    fn schema(&self) -> Option<Vec<Field>> {
        parse_ddl("n long").ok()
    }

    fn next_batch(&mut self, max: u32, out: &mut BatchBuilder) -> Result<bool, Error> {
        for i in 0..u64::from(max).min(self.count - self.next) {
            let n = self.next + i;
            out.push_with(|buf| buf.extend_from_slice(format!("{{\"n\": {n}}}").as_bytes()));
        }
        self.next += u64::from(max).min(self.count - self.next);
        Ok(self.next < self.count)
    }
}

sluice_sdk::export_generator!(Plugin);
