//! Fuzz target: schema_filter's `where` parser and evaluator. Any text
//! either parses or gives an error with a position, and a parsed predicate
//! evaluates any record without a panic.
//! (Shared by the libFuzzer target and the stable smoke test.)

use schema_filter::SchemaFilter;

/// One fuzz input: the predicate, a NUL, then a record value.
pub fn run(raw: &[u8]) {
    // The predicate, a NUL, then a record value.
    let mut parts = raw.splitn(2, |b| *b == 0);
    let Ok(predicate) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let value = parts.next();
    let Ok(filter) = SchemaFilter::new(
        "event_time string, ticker string, price double, volume long, ok boolean",
        None,
        Some(predicate),
    ) else {
        return;
    };
    if let Ok(cells) = filter.check(value) {
        let _ = filter.passes(&cells);
    }
}
