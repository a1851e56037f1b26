//! Slow but correct: each record takes 30 ms of the host's monotonic clock
//! (granted with `--grant slow=clocks`), however fast the machine, then
//! passes on unchanged.
use sluice_sdk::{Config, Error, Fail, Out, Row, Transform};
use std::time::{Duration, Instant};

struct Slow;
impl Transform for Slow {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(Slow)
    }
    fn process(&mut self, _: &Row, out: &mut Out) -> Result<(), Fail> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(30) {
            std::hint::spin_loop();
        }
        out.keep();
        Ok(())
    }
}
sluice_sdk::export_transform!(Slow);
