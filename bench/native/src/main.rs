//! `native_tutorial FILE`: the tutorial's parse and `price > 50` filter over
//! a file of JSON lines, to stdout.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: native_tutorial FILE");
    let input = std::fs::read(path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    native_tutorial::run(&input, &mut out)?;
    out.flush()
}
