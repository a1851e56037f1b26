//! Fuzz target: the SQL expressions of `schema_filter.where` and
//! `select.exprs` (sqlparser-rs, then Sluice's compiler and evaluator). Any
//! text either compiles or gives an error with a position, and what
//! compiles evaluates any record without a panic.
//! (Shared by the libFuzzer target and the stable smoke test.)

use sluice_sql::rows::Schema;
use sluice_sql::{Options, predicate, select_list};

/// One fuzz input: the expression, a NUL, then a record value.
pub fn run(raw: &[u8]) {
    let mut parts = raw.splitn(2, |b| *b == 0);
    let Ok(text) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let value = parts.next();
    let Ok(schema) = Schema::from_config(
        "event_time string, ticker string, price double, volume long, ok boolean, n int",
        None,
    ) else {
        return;
    };
    let Ok(cells) = schema.read_value(value) else {
        return;
    };
    for ansi in [true, false] {
        let options = Options { ansi };
        if let Ok(p) = predicate(text, &schema.fields, options) {
            let _ = p.passes(&cells);
        }
        if let Ok(list) = select_list(text, &schema.fields, options) {
            for selected in list {
                let _ = selected.expr.eval(&cells);
            }
        }
    }
}
