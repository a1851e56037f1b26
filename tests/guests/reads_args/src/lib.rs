//! Reads the process arguments: must be refused at load.
use sluice_sdk::{Config, Error, Fail, Out, Row, Transform};

struct ReadsArgs;
impl Transform for ReadsArgs {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(ReadsArgs)
    }
    fn process(&mut self, _: &Row, out: &mut Out) -> Result<(), Fail> {
        out.emit(std::env::args().collect::<Vec<_>>().join(" ").as_bytes());
        Ok(())
    }
}
sluice_sdk::export_transform!(ReadsArgs);
