//! Routes each record to the topic its value names: `TOPIC|payload` becomes
//! `payload` on TOPIC (key, headers and timestamp kept); a value with no `|`
//! goes to the pipeline's own output topic.
use sluice_sdk::{Accepts, Config, Error, Fail, Info, Out, Row, Transform, info};

struct Router;
impl Transform for Router {
    // It reads the value's bytes: typed rows reach it as JSON objects.
    fn about() -> Info {
        Info {
            accepts: Accepts::Raw,
            ..info("routes TOPIC|payload values to TOPIC", Vec::new())
        }
    }
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(Router)
    }
    fn process(&mut self, record: &Row, out: &mut Out) -> Result<(), Fail> {
        let value = record.value().unwrap_or_default();
        match value.iter().position(|b| *b == b'|') {
            Some(bar) => {
                let topic = String::from_utf8_lossy(&value[..bar]).into_owned();
                out.emit(&value[bar + 1..]).topic(&topic);
            }
            None => out.keep(),
        }
        Ok(())
    }
}
sluice_sdk::export_transform!(Router);
