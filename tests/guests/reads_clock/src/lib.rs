//! Reads the wall clock: refused at load unless granted `clocks`.
use sluice_sdk::{Config, Error, Fail, Out, Row, Transform};

struct ReadsClock;
impl Transform for ReadsClock {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(ReadsClock)
    }
    fn process(&mut self, _: &Row, out: &mut Out) -> Result<(), Fail> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        out.emit(now.as_secs().to_string().as_bytes());
        Ok(())
    }
}
sluice_sdk::export_transform!(ReadsClock);
