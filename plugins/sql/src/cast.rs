//! Spark's casts between the column types (`Cast.scala`), in ANSI mode or
//! legacy mode; timestamps in the session time zone UTC.

use crate::compile::{Ty, sql_type};
use sluice_sdk::FieldType;
use sluice_sdk::time::{parse_timestamp, show_timestamp};
use sluice_sdk::value::{Cell, java_double, java_float};
use std::borrow::Cow;

/// Whether Spark casts `from` to `to` at all.
pub(crate) fn can_cast(from: FieldType, to: FieldType) -> bool {
    use FieldType as F;
    let numeric = |t| matches!(t, F::Integer | F::Long | F::Float | F::Double);
    match (from, to) {
        (a, b) if a == b => true,
        (F::Struct, _) | (_, F::Struct) => false,
        (_, F::String) | (F::String, _) => true,
        (a, b) if numeric(a) && numeric(b) => true,
        (F::Boolean, b) => numeric(b),
        (a, F::Boolean) => numeric(a),
        (F::Timestamp, b) => numeric(b),
        (a, F::Timestamp) => numeric(a),
        _ => false,
    }
}

fn quoted(cell: &Cell<'_>, from: Ty) -> String {
    match cell {
        Cell::Str(s) => format!("'{s}'"),
        Cell::F64(x) if from == Some(FieldType::Float) => format!("{}F", java_float(*x as f32)),
        Cell::F64(x) => format!("{}D", java_double(*x)),
        Cell::I64(n) if from == Some(FieldType::Long) => format!("{n}L"),
        other => to_text(other, from).into_owned(),
    }
}

/// Spark's `CAST_INVALID_INPUT` message.
pub(crate) fn malformed(cell: &Cell<'_>, from: Ty, to: FieldType) -> String {
    format!(
        "[CAST_INVALID_INPUT] The value {} of the type \"{}\" cannot be cast to \"{}\" because it is malformed. Correct the value as per the syntax, or change its target type; use TRY_CAST to return NULL instead (or set ansi=false)",
        quoted(cell, from),
        sql_type(from),
        sql_type(Some(to))
    )
}

/// Spark's `CAST_OVERFLOW` message.
pub(crate) fn overflow(cell: &Cell<'_>, from: Ty, to: FieldType) -> String {
    format!(
        "[CAST_OVERFLOW] The value {} of the type \"{}\" cannot be cast to \"{}\" due to an overflow. Use TRY_CAST to return NULL instead (or set ansi=false)",
        quoted(cell, from),
        sql_type(from),
        sql_type(Some(to))
    )
}

/// A value as text, as `CAST(x AS STRING)` writes it.
pub(crate) fn to_text<'a>(cell: &Cell<'a>, from: Ty) -> Cow<'a, str> {
    match cell {
        Cell::Str(s) => s.clone(),
        Cell::F64(x) if from == Some(FieldType::Float) => java_float(*x as f32).into(),
        Cell::F64(x) => java_double(*x).into(),
        Cell::I64(n) => n.to_string().into(),
        Cell::Bool(b) => if *b { "true" } else { "false" }.into(),
        Cell::Micros(t) => show_timestamp(*t).into(),
        Cell::Bytes(b) => String::from_utf8_lossy(b).into_owned().into(),
        Cell::Null => "NULL".into(),
    }
}

/// Casts `cell` (of type `from`) to `to`. With `ansi`, a malformed or
/// overflowing value is an error; without, it is NULL (Spark's legacy mode,
/// which also wraps integers as Java does).
pub(crate) fn cast<'a>(
    cell: Cell<'a>,
    from: Ty,
    to: FieldType,
    ansi: bool,
) -> Result<Cell<'a>, String> {
    use FieldType as F;
    if cell == Cell::Null || from == Some(to) {
        return Ok(cell);
    }
    let bad = |why: String| if ansi { Err(why) } else { Ok(Cell::Null) };
    let result = match (&cell, to) {
        (_, F::String) => Cell::Str(to_text(&cell, from)),
        (Cell::Str(s), F::Integer | F::Long) => {
            match parse_integer(s, !ansi).filter(|n| to == F::Long || i32::try_from(*n).is_ok()) {
                Some(n) => Cell::I64(n),
                None => return bad(malformed(&cell, from, to)),
            }
        }
        (Cell::Str(s), F::Double | F::Float) => match parse_double(s) {
            Some(x) if to == F::Float => Cell::F64(f64::from(x as f32)),
            Some(x) => Cell::F64(x),
            None => return bad(malformed(&cell, from, to)),
        },
        (Cell::Str(s), F::Boolean) => match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "y" | "yes" | "1" => Cell::Bool(true),
            "f" | "false" | "n" | "no" | "0" => Cell::Bool(false),
            _ => return bad(malformed(&cell, from, to)),
        },
        (Cell::Str(s), F::Timestamp) => match parse_timestamp(s) {
            Some(t) => Cell::Micros(t),
            None => return bad(malformed(&cell, from, to)),
        },
        (Cell::Str(s), F::Binary) => Cell::Bytes(Cow::Owned(s.as_bytes().to_vec())),
        (Cell::I64(n), F::Integer) => match i32::try_from(*n) {
            Ok(_) => Cell::I64(*n),
            Err(_) if ansi => return Err(overflow(&cell, from, to)),
            Err(_) => Cell::I64(i64::from(*n as i32)),
        },
        (Cell::I64(n), F::Long) => Cell::I64(*n),
        (Cell::I64(n), F::Double) => Cell::F64(*n as f64),
        (Cell::I64(n), F::Float) => Cell::F64(f64::from(*n as f32)),
        (Cell::I64(n), F::Boolean) => Cell::Bool(*n != 0),
        (Cell::I64(n), F::Timestamp) => match n.checked_mul(1_000_000) {
            Some(t) => Cell::Micros(t),
            None => return bad(overflow(&cell, from, to)),
        },
        (Cell::F64(x), F::Integer | F::Long) => {
            let (lo, hi) = if to == F::Integer {
                (f64::from(i32::MIN), f64::from(i32::MAX))
            } else {
                (i64::MIN as f64, i64::MAX as f64)
            };
            let t = x.trunc();
            if ansi && !(t >= lo && t <= hi) {
                return Err(overflow(&cell, from, to));
            }
            if to == F::Integer {
                Cell::I64(i64::from(*x as i32))
            } else {
                Cell::I64(*x as i64)
            }
        }
        (Cell::F64(x), F::Double) => Cell::F64(*x),
        (Cell::F64(x), F::Float) => Cell::F64(f64::from(*x as f32)),
        (Cell::F64(x), F::Boolean) => Cell::Bool(*x != 0.0),
        (Cell::F64(x), F::Timestamp) => {
            let micros = x * 1e6;
            if !micros.is_finite() || micros.abs() >= 9.2e18 {
                return bad(overflow(&cell, from, to));
            }
            Cell::Micros(micros as i64)
        }
        (Cell::Bool(b), F::Integer | F::Long) => Cell::I64(i64::from(*b)),
        (Cell::Bool(b), F::Double | F::Float) => Cell::F64(if *b { 1.0 } else { 0.0 }),
        (Cell::Micros(t), F::Long) => Cell::I64(t.div_euclid(1_000_000)),
        (Cell::Micros(t), F::Integer) => {
            let s = t.div_euclid(1_000_000);
            match i32::try_from(s) {
                Ok(_) => Cell::I64(s),
                Err(_) if ansi => return Err(overflow(&cell, from, to)),
                Err(_) => Cell::I64(i64::from(s as i32)),
            }
        }
        (Cell::Micros(t), F::Double) => Cell::F64(*t as f64 / 1e6),
        (Cell::Micros(t), F::Float) => Cell::F64(f64::from((*t as f64 / 1e6) as f32)),
        (Cell::Bytes(_), _) | (_, _) => {
            return Err(format!(
                "cannot cast a {} to {}",
                sql_type(from),
                sql_type(Some(to))
            ));
        }
    };
    Ok(result)
}

/// Spark's `UTF8String.toLong`: trimmed, optional sign, digits; with
/// `allow_fraction` (legacy mode) a fraction is allowed and truncated.
fn parse_integer(s: &str, allow_fraction: bool) -> Option<i64> {
    let s = s.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    let (int, fraction) = match s.split_once('.') {
        Some((i, f)) if allow_fraction => (i, Some(f)),
        Some(_) => return None,
        None => (s, None),
    };
    if let Some(f) = fraction
        && !f.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = int.strip_prefix(['+', '-']).unwrap_or(int);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

/// Spark's string-to-double cast: Java's `Double.parseDouble` of the
/// trimmed text, plus `inf`, `infinity`, `nan` in any case and sign.
fn parse_double(s: &str) -> Option<f64> {
    let s = s.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        _ => {}
    }
    // Java accepts a type suffix (`1.5d`, `2f`) and nothing else non-numeric.
    let body = s.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(s);
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    body.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_to_numbers() {
        assert_eq!(parse_integer(" 42 ", false), Some(42));
        assert_eq!(parse_integer("1.9", true), Some(1));
        assert_eq!(parse_integer("1.9", false), None);
        assert_eq!(parse_integer("-", false), None);
        assert_eq!(parse_double("1.5d"), Some(1.5));
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double("abc"), None);
    }
}
