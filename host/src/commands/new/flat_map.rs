//! `{{name}}`: a record holding a JSON array becomes one record per element;
//! any other record passes through. A flat-map emits zero, one or many outputs.
use serde_json::Value;
use sluice_sdk::{Accepts, Config, Error, Fail, Info, Out, Row, Transform, info};

struct Plugin;

impl Transform for Plugin {
    fn about() -> Info {
        Info {
            // It reads raw bytes: typed rows reach it as JSON objects.
            accepts: Accepts::Raw,
            ..info("splits JSON arrays into one record per element", Vec::new())
        }
    }

    fn init(_config: &mut Config) -> Result<Self, Error> {
        Ok(Plugin)
    }

    fn process(&mut self, row: &Row, out: &mut Out) -> Result<(), Fail> {
        match serde_json::from_slice::<Value>(row.value().unwrap_or_default())? {
            Value::Array(items) => {
                for item in items {
                    out.emit_with(|buf| serde_json::to_writer(buf, &item).expect("writing JSON to a Vec"));
                }
            }
            _ => out.keep(),
        }
        Ok(())
    }
}

sluice_sdk::export_transform!(Plugin);
