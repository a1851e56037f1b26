//! Reads environment variables: must see none of the host's.
use sluice_sdk::{Config, Error, Fail, Out, Row, Transform};

struct ReadsEnv;
impl Transform for ReadsEnv {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(ReadsEnv)
    }
    fn process(&mut self, _: &Row, out: &mut Out) -> Result<(), Fail> {
        let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        let home = std::env::var("HOME").unwrap_or_else(|_| "<unset>".into());
        out.emit(format!("vars={} HOME={home}", vars.len()).as_bytes());
        Ok(())
    }
}
sluice_sdk::export_transform!(ReadsEnv);
