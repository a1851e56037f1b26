//! The tutorial's job written the ordinary way, as a Rust programmer would
//! with no stream processor: each line of stock JSON parsed with serde_json
//! (derive, borrowed strings), kept when `price > 50`, written back as one
//! JSON line. Sluice's benchmarks compare their figures with this one's.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// One tick, as the tutorial's producer writes it.
#[derive(Deserialize, Serialize)]
struct Tick<'a> {
    #[serde(borrow)]
    event_time: Option<&'a str>,
    #[serde(borrow)]
    ticker: Option<&'a str>,
    price: Option<f64>,
}

/// Filters the JSON lines of `input` to `out`; returns how many were kept.
/// A line that does not parse is skipped.
pub fn run(input: &[u8], out: &mut impl Write) -> io::Result<usize> {
    let mut kept = 0;
    for line in input.split(|b| *b == b'\n') {
        let Ok(tick) = serde_json::from_slice::<Tick<'_>>(line) else {
            continue;
        };
        if tick.price.is_some_and(|p| p > 50.0) {
            serde_json::to_writer(&mut *out, &tick)?;
            out.write_all(b"\n")?;
            kept += 1;
        }
    }
    Ok(kept)
}
