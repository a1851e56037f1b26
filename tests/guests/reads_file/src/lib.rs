//! Tries to read a file: must be refused at load.
use sluice_sdk::{Config, Error, Fail, Out, Row, Transform};

struct ReadsFile;
impl Transform for ReadsFile {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(ReadsFile)
    }
    fn process(&mut self, _: &Row, out: &mut Out) -> Result<(), Fail> {
        let secret = std::fs::read("/etc/passwd").unwrap_or_default();
        out.emit(&secret);
        Ok(())
    }
}
sluice_sdk::export_transform!(ReadsFile);
