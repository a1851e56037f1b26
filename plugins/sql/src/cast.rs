//! Spark's casts between the column types (`Cast.scala`), in ANSI mode or
//! legacy mode; timestamps in the session time zone UTC.

use crate::compile::{Ty, sql_type};
use sluice_sdk::FieldType;
use sluice_sdk::time::show_timestamp;
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Micros since the epoch of a civil date and time in UTC, if valid.
pub(crate) fn micros_of(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(micros))
}

/// Spark's `stringToTimestamp` in the session time zone UTC: `yyyy`,
/// `yyyy-[m]m`, `yyyy-[m]m-[d]d`, then optionally ` ` or `T` and
/// `[h]h:[m]m[:[s]s[.fraction]]`, then optionally a zone: `Z`, `UTC`,
/// `GMT`, `+hh`, `+hh:mm`, `+hhmm` (and `-`). The fraction keeps
/// microseconds (later digits are cut).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let s = text.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let year_text = parts.next()?;
    if year_text.len() < 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = year_text.parse().ok()?;
    let mut small = |max_len: usize| -> Option<Option<u32>> {
        match parts.next() {
            None => Some(None),
            Some(p)
                if (1..=max_len).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(Some(p.parse().ok()?))
            }
            Some(_) => None,
        }
    };
    let month = small(2)?.unwrap_or(1);
    let day = small(2)?.unwrap_or(1);
    if parts.next().is_some() {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0u32, 0i64);
    if let Some(rest) = rest.filter(|r| !r.is_empty()) {
        let zone_at = rest.find(['Z', '+', '-', 'U', 'G']).unwrap_or(rest.len());
        let (time, zone) = rest.split_at(zone_at);
        let mut fields = time.splitn(3, ':');
        let number = |t: Option<&str>| -> Option<u32> {
            let t = t?;
            if (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        };
        hour = number(fields.next())?;
        minute = number(fields.next())?;
        if let Some(sec) = fields.next() {
            let (whole, fraction) = sec.split_once('.').unwrap_or((sec, ""));
            second = number(Some(whole))?;
            if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
                return None;
            }
            let six: String = fraction.chars().chain("000000".chars()).take(6).collect();
            micros = six.parse().ok()?;
        }
        offset = zone_offset(zone.trim())?;
    }
    micros_of(year, month, day, hour, minute, second, micros)?.checked_sub(offset * 1_000_000)
}

/// Seconds east of UTC of a zone suffix.
fn zone_offset(zone: &str) -> Option<i64> {
    match zone {
        "" | "Z" | "UTC" | "GMT" => return Some(0),
        _ => {}
    }
    let zone = zone
        .strip_prefix("UTC")
        .or_else(|| zone.strip_prefix("GMT"))
        .unwrap_or(zone);
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse::<i64>().ok()?),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_spark_casts_them() {
        let t = |s| parse_timestamp(s).map(show_timestamp);
        assert_eq!(
            t("2026-11-25 12:00:00").as_deref(),
            Some("2026-11-25 12:00:00")
        );
        assert_eq!(
            t("2026-11-25T12:00:01.5Z").as_deref(),
            Some("2026-11-25 12:00:01.5")
        );
        assert_eq!(t("2026-11-25").as_deref(), Some("2026-11-25 00:00:00"));
        assert_eq!(t("2026-1-5 1:2").as_deref(), Some("2026-01-05 01:02:00"));
        assert_eq!(
            t("2026-11-25 12:00:00+01:00").as_deref(),
            Some("2026-11-25 11:00:00")
        );
        assert_eq!(t("2026-02-30"), None);
        assert_eq!(t("abc"), None);
        assert_eq!(t("2026-11-25 25:00"), None);
    }

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
