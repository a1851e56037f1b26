//! The functions: their Spark types, names and semantics.

use crate::SqlError;
use crate::compile::{Compiler, Expr, Node, Ty};
use sluice_sdk::FieldType;
use sluice_sdk::time::{civil, micros_of, parse_timestamp};
use sluice_sdk::value::Cell;
use sqlparser::tokenizer::Span;
use std::borrow::Cow;

/// A function with what was fixed at compile time (a scale, a pattern).
#[derive(Debug, Clone)]
pub(crate) enum Func {
    Abs,
    Round(i32),
    Floor,
    Ceil,
    Upper,
    Lower,
    Length,
    Substring,
    Concat,
    Coalesce,
    ToTimestamp(Option<Pattern>),
    DateFormat(Pattern),
}

pub(crate) enum CallError {
    Sql(SqlError),
    Message(String),
}

impl From<SqlError> for CallError {
    fn from(e: SqlError) -> Self {
        CallError::Sql(e)
    }
}

impl Func {
    /// The functions known by name (for "did you mean").
    pub(crate) const NAMES: &'static [&'static str] = &[
        "abs",
        "round",
        "floor",
        "ceil",
        "ceiling",
        "upper",
        "ucase",
        "lower",
        "lcase",
        "length",
        "char_length",
        "character_length",
        "substring",
        "substr",
        "concat",
        "coalesce",
        "to_timestamp",
        "date_format",
        "current_timestamp",
    ];

    pub(crate) fn named(name: &str) -> Option<Func> {
        Some(match name {
            "abs" => Func::Abs,
            "round" => Func::Round(0),
            "floor" => Func::Floor,
            "ceil" | "ceiling" => Func::Ceil,
            "upper" | "ucase" => Func::Upper,
            "lower" | "lcase" => Func::Lower,
            "length" | "char_length" | "character_length" => Func::Length,
            "substring" | "substr" => Func::Substring,
            "concat" => Func::Concat,
            "coalesce" => Func::Coalesce,
            "to_timestamp" => Func::ToTimestamp(None),
            "date_format" => Func::DateFormat(Pattern(Vec::new())),
            "current_timestamp" => Func::Coalesce, // refused in compile below
            _ => return None,
        })
    }

    /// Type-checks `args` and builds the call, named as Spark names it
    /// (`called` is the name the user wrote).
    pub(crate) fn compile(
        self,
        c: &Compiler<'_>,
        called: &str,
        mut args: Vec<Expr>,
        span: Span,
    ) -> Result<Expr, CallError> {
        if called == "current_timestamp" {
            return Err(CallError::Message(
                "current_timestamp() is not available: a plugin has no clock unless granted, and expressions here are deterministic; use the record's event-time column".into(),
            ));
        }
        let names: Vec<String> = args.iter().map(|a| a.name.clone()).collect();
        let arity = |min: usize, max: usize| -> Result<(), CallError> {
            if (min..=max).contains(&args.len()) {
                Ok(())
            } else {
                let wanted = if min == max {
                    format!("{min}")
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                };
                Err(CallError::Message(format!(
                    "{called} takes {wanted} argument(s), got {}",
                    args.len()
                )))
            }
        };
        let numeric = |e: &Expr| -> Result<(), CallError> {
            match e.ty {
                None
                | Some(
                    FieldType::Integer | FieldType::Long | FieldType::Float | FieldType::Double,
                ) => Ok(()),
                Some(t) => Err(CallError::Message(format!(
                    "{called} takes a number, but {} is {}",
                    e.name,
                    sluice_sdk::schema::type_name(t)
                ))),
            }
        };
        let int_literal = |e: &Expr, what: &str| -> Result<i64, CallError> {
            match (&e.node, e.ty) {
                (Node::Literal(Cell::I64(n)), Some(FieldType::Integer)) => Ok(*n),
                _ => Err(CallError::Message(format!(
                    "{called}'s {what} must be an integer literal, got {}",
                    e.name
                ))),
            }
        };
        let string_literal = |e: &Expr, what: &str| -> Result<String, CallError> {
            match &e.node {
                Node::Literal(Cell::Str(s)) => Ok(s.to_string()),
                _ => Err(CallError::Message(format!(
                    "{called}'s {what} must be a string literal, got {}",
                    e.name
                ))),
            }
        };
        let (func, ty, name) = match self {
            Func::Abs => {
                arity(1, 1)?;
                numeric(&args[0])?;
                let ty = args[0].ty.or(Some(FieldType::Double));
                (Func::Abs, ty, format!("abs({})", names[0]))
            }
            Func::Round(_) => {
                arity(1, 2)?;
                numeric(&args[0])?;
                let scale = match args.get(1) {
                    Some(s) => int_literal(s, "scale")?,
                    None => 0,
                };
                args.truncate(1);
                let ty = args[0].ty.or(Some(FieldType::Double));
                (
                    Func::Round(scale as i32),
                    ty,
                    format!("{called}({}, {scale})", names[0]),
                )
            }
            Func::Floor | Func::Ceil => {
                arity(1, 1)?;
                numeric(&args[0])?;
                let word = if matches!(self, Func::Floor) {
                    "FLOOR"
                } else {
                    "CEIL"
                };
                let word = if called == "ceiling" { "ceiling" } else { word };
                (self, Some(FieldType::Long), format!("{word}({})", names[0]))
            }
            Func::Upper | Func::Lower => {
                arity(1, 1)?;
                let a = args.remove(0);
                args.push(c.as_string(a, span)?);
                (
                    self,
                    Some(FieldType::String),
                    format!("{called}({})", names[0]),
                )
            }
            Func::Length => {
                arity(1, 1)?;
                if args[0].ty != Some(FieldType::Binary) {
                    let a = args.remove(0);
                    args.push(c.as_string(a, span)?);
                }
                (
                    self,
                    Some(FieldType::Integer),
                    format!("{called}({})", names[0]),
                )
            }
            Func::Substring => {
                arity(2, 3)?;
                let s = c.as_string(args.remove(0), span)?;
                let mut rest = Vec::new();
                for a in args.drain(..) {
                    if !matches!(a.ty, None | Some(FieldType::Integer)) {
                        return Err(CallError::Message(format!(
                            "{called} takes integer positions, but {} is {}",
                            a.name,
                            crate::compile::type_word(a.ty)
                        )));
                    }
                    rest.push(a);
                }
                let len = names
                    .get(2)
                    .cloned()
                    .unwrap_or_else(|| i32::MAX.to_string());
                args.push(s);
                args.extend(rest);
                (
                    self,
                    Some(FieldType::String),
                    format!("{called}({}, {}, {len})", names[0], names[1]),
                )
            }
            Func::Concat => {
                arity(1, usize::MAX)?;
                args = args
                    .into_iter()
                    .map(|a| c.as_string(a, span))
                    .collect::<Result<_, _>>()?;
                (
                    self,
                    Some(FieldType::String),
                    format!("concat({})", names.join(", ")),
                )
            }
            Func::Coalesce => {
                arity(1, usize::MAX)?;
                let mut ty: Ty = None;
                for a in &args {
                    ty = c.result_type(ty, a, span)?;
                }
                if let Some(to) = ty {
                    args = args
                        .into_iter()
                        .map(|a| c.cast_to(a, to, span, true))
                        .collect::<Result<_, _>>()?;
                }
                (self, ty, format!("coalesce({})", names.join(", ")))
            }
            Func::ToTimestamp(_) => {
                arity(1, 2)?;
                let pattern = match args.get(1) {
                    Some(p) => Some(Pattern::new(&string_literal(p, "format")?)?),
                    None => None,
                };
                args.truncate(1);
                if pattern.is_some() || args[0].ty != Some(FieldType::Timestamp) {
                    let a = args.remove(0);
                    args.push(c.as_string(a, span)?);
                }
                (
                    Func::ToTimestamp(pattern),
                    Some(FieldType::Timestamp),
                    format!("to_timestamp({})", names.join(", ")),
                )
            }
            Func::DateFormat(_) => {
                arity(2, 2)?;
                let pattern = Pattern::new(&string_literal(&args[1], "format")?)?;
                args.truncate(1);
                if args[0].ty != Some(FieldType::Timestamp) {
                    let a = args.remove(0);
                    args.push(c.cast_to(a, FieldType::Timestamp, span, true)?);
                }
                (
                    Func::DateFormat(pattern),
                    Some(FieldType::String),
                    format!("date_format({})", names.join(", ")),
                )
            }
        };
        Ok(Expr {
            node: Node::Call(func, args, c.ansi()),
            ty,
            name,
        })
    }

    /// Applies the function to its evaluated arguments (all non-null
    /// except for `coalesce`, which the evaluator handles lazily).
    pub(crate) fn apply<'a>(
        &self,
        args: Vec<Cell<'a>>,
        ty: Ty,
        ansi: bool,
    ) -> Result<Cell<'a>, String> {
        let mut args = args.into_iter();
        let mut next = || args.next().unwrap_or(Cell::Null);
        Ok(match self {
            Func::Abs => match next() {
                Cell::I64(n) => {
                    let limit = if ty == Some(FieldType::Integer) {
                        i64::from(i32::MIN)
                    } else {
                        i64::MIN
                    };
                    if n == limit {
                        if ansi {
                            return Err(overflow_error(ty));
                        }
                        Cell::I64(n)
                    } else {
                        Cell::I64(n.abs())
                    }
                }
                Cell::F64(x) => Cell::F64(x.abs()),
                other => other,
            },
            Func::Round(scale) => match next() {
                Cell::F64(x) if ty == Some(FieldType::Float) => Cell::F64(f64::from(
                    round_half_up(f64::from(x as f32), *scale, true) as f32,
                )),
                Cell::F64(x) => Cell::F64(round_half_up(x, *scale, false)),
                Cell::I64(n) if *scale < 0 => {
                    // Half away from zero, in i128 so that only the result
                    // can overflow the column's type (which wraps without ANSI).
                    let unit = 10i128
                        .checked_pow(scale.unsigned_abs())
                        .unwrap_or(i128::MAX);
                    let wide = i128::from(n);
                    let rounded = (wide.abs() + unit / 2) / unit * unit;
                    let rounded = if n < 0 { -rounded } else { rounded };
                    let int = ty == Some(FieldType::Integer);
                    let fits = if int {
                        i32::try_from(rounded).is_ok()
                    } else {
                        i64::try_from(rounded).is_ok()
                    };
                    if !fits && ansi {
                        return Err(overflow_error(ty));
                    }
                    Cell::I64(if int {
                        i64::from(rounded as i32)
                    } else {
                        rounded as i64
                    })
                }
                other => other,
            },
            Func::Floor | Func::Ceil => match next() {
                Cell::F64(x) => {
                    let y = if matches!(self, Func::Floor) {
                        x.floor()
                    } else {
                        x.ceil()
                    };
                    // A BIGINT: out of range is an overflow in ANSI mode, else
                    // Java's saturating (long) cast.
                    if ansi && !(y >= i64::MIN as f64 && y < i64::MAX as f64) {
                        return Err(overflow_error(Some(FieldType::Long)));
                    }
                    Cell::I64(y as i64)
                }
                other => other,
            },
            Func::Upper => Cell::Str(next_str(next()).to_uppercase().into()),
            Func::Lower => Cell::Str(next_str(next()).to_lowercase().into()),
            Func::Length => match next() {
                Cell::Bytes(b) => Cell::I64(b.len() as i64),
                other => Cell::I64(next_str(other).chars().count() as i64),
            },
            Func::Substring => {
                let s = next_str(next());
                let pos = match next() {
                    Cell::I64(n) => n,
                    _ => 1,
                };
                let len = match next() {
                    Cell::I64(n) => n,
                    _ => i64::from(i32::MAX),
                };
                Cell::Str(substring_sql(&s, pos, len).into())
            }
            Func::Concat => {
                let mut out = String::new();
                for arg in std::iter::from_fn(|| Some(next())).take_while(|c| *c != Cell::Null) {
                    out.push_str(&next_str(arg));
                }
                Cell::Str(out.into())
            }
            Func::Coalesce => next(),
            Func::ToTimestamp(pattern) => match next() {
                Cell::Micros(t) => Cell::Micros(t),
                other => {
                    let text = next_str(other);
                    let parsed = match pattern {
                        Some(p) => p.parse(&text),
                        None => parse_timestamp(&text),
                    };
                    match parsed {
                        Some(t) => Cell::Micros(t),
                        // Without a format it is a cast, and fails as one.
                        None if ansi && pattern.is_none() => {
                            return Err(crate::cast::malformed(
                                &Cell::Str(text),
                                Some(FieldType::String),
                                FieldType::Timestamp,
                            ));
                        }
                        None if ansi => {
                            return Err(format!(
                                "[CANNOT_PARSE_TIMESTAMP] Text '{text}' could not be parsed{} (set ansi=false to return NULL instead)",
                                pattern
                                    .as_ref()
                                    .map(|p| format!(" with the format {:?}", p.text()))
                                    .unwrap_or_default()
                            ));
                        }
                        None => Cell::Null,
                    }
                }
            },
            Func::DateFormat(pattern) => match next() {
                Cell::Micros(t) => Cell::Str(pattern.format(t).into()),
                other => other,
            },
        })
    }
}

fn overflow_error(ty: Ty) -> String {
    format!(
        "[ARITHMETIC_OVERFLOW] {} overflow (CAST to BIGINT or DOUBLE first, or set ansi=false to wrap around as Java does)",
        if ty == Some(FieldType::Integer) {
            "integer"
        } else {
            "long"
        }
    )
}

pub(crate) fn arithmetic_overflow(ty: Ty) -> String {
    overflow_error(ty)
}

fn next_str(cell: Cell<'_>) -> Cow<'_, str> {
    match cell {
        Cell::Str(s) => s,
        other => crate::cast::to_text(&other, None).into_owned().into(),
    }
}

/// Spark's `UTF8String.substringSQL`: 1-based, 0 is the start, a negative
/// position counts from the end; `len` characters at most.
fn substring_sql(s: &str, pos: i64, len: i64) -> String {
    let chars = s.chars().count() as i64;
    let start = if pos > 0 {
        pos - 1
    } else if pos < 0 {
        chars + pos
    } else {
        0
    };
    let end = start.saturating_add(len).min(chars);
    let start = start.max(0);
    if start >= end {
        return String::new();
    }
    s.chars()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect()
}

/// Rounds `x` to `scale` decimal places, half away from zero, on its
/// shortest decimal form (as Spark rounds a double: through
/// `BigDecimal(x.toString)`), so `round(1.005, 2)` is `1.01`.
fn round_half_up(x: f64, scale: i32, float: bool) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // The common case, exactly and without formatting: when x·10^scale is
    // far from a tie (…5 in the shortest form) and small enough for exact
    // integers (below 1e9 the product is within 1e-7 of the decimal's), rounding
    // the product is rounding the decimal, and k / 10^scale is k·10^-scale
    // correctly rounded.
    if !float && (0..=15).contains(&scale) {
        let unit = 10f64.powi(scale);
        let scaled = x * unit;
        let fraction = (scaled - scaled.trunc()).abs();
        if scaled.abs() < 1e9 && (fraction - 0.5).abs() > 1e-6 {
            let rounded = scaled.round();
            return if rounded == 0.0 { 0.0 } else { rounded / unit };
        }
    }
    round_decimal(x, scale, float)
}

/// [`round_half_up`] through the decimal digits, for every case.
fn round_decimal(x: f64, scale: i32, float: bool) -> f64 {
    if x == 0.0 {
        // Through BigDecimal, which has no negative zero.
        return 0.0;
    }
    let text = if float {
        format!("{:e}", x as f32)
    } else {
        format!("{x:e}")
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let negative = mantissa.starts_with('-');
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    // Digits kept: those at or above the 10^-scale place.
    let keep = exponent + 1 + i64::from(scale);
    if keep >= digits.len() as i64 {
        return x;
    }
    let mut kept: u128 = 0;
    for d in digits.iter().take(keep.max(0) as usize) {
        kept = kept * 10 + u128::from(*d);
    }
    let next = if keep >= 0 { digits[keep as usize] } else { 0 };
    if next >= 5 {
        kept += 1;
    }
    let value: f64 = format!("{kept}e{}", -i64::from(scale))
        .parse()
        .unwrap_or(0.0);
    if negative && value != 0.0 {
        -value
    } else {
        value
    }
}

/// A `java.time` format pattern (the subset Spark users reach for): `y`,
/// `M` (`MMM` and `MMMM` for names), `d`, `H`, `h`, `m`, `s`, `S` (fraction),
/// `a`, `E`, quoted text and punctuation.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Field(char, usize),
    Text(String),
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

impl Pattern {
    fn new(text: &str) -> Result<Pattern, CallError> {
        let mut pieces = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(CallError::Message(format!(
                                "the format {text:?} has an unterminated quote"
                            )));
                        }
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(other) => literal.push(other),
                    }
                }
                if literal.is_empty() {
                    literal.push('\'');
                }
                pieces.push(Piece::Text(literal));
            } else if c.is_ascii_alphabetic() {
                if !"yMdHhmsSaE".contains(c) {
                    return Err(CallError::Message(format!(
                        "the format letter {c:?} in {text:?} is not supported (supported: y M d H h m s S a E)"
                    )));
                }
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                pieces.push(Piece::Field(c, n));
            } else {
                pieces.push(Piece::Text(c.to_string()));
            }
        }
        Ok(Pattern(pieces))
    }

    fn text(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Field(c, n) => c.to_string().repeat(*n),
                Piece::Text(t) => t.clone(),
            })
            .collect()
    }

    fn format(&self, micros: i64) -> String {
        let seconds = micros.div_euclid(1_000_000);
        let fraction = micros.rem_euclid(1_000_000);
        let days = seconds.div_euclid(86_400);
        let (y, m, d) = civil(days);
        let s = seconds.rem_euclid(86_400);
        let (hour, minute, second) = (s / 3600, s / 60 % 60, s % 60);
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field('y', 2) => out.push_str(&format!("{:02}", y.rem_euclid(100))),
                Piece::Field('y', n) => out.push_str(&format!("{y:0n$}")),
                Piece::Field('M', 3) => out.push_str(&MONTHS[m as usize - 1][..3]),
                Piece::Field('M', n) if *n >= 4 => out.push_str(MONTHS[m as usize - 1]),
                Piece::Field('M', n) => out.push_str(&format!("{m:0n$}")),
                Piece::Field('d', n) => out.push_str(&format!("{d:0n$}")),
                Piece::Field('H', n) => out.push_str(&format!("{hour:0n$}")),
                Piece::Field('h', n) => {
                    let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
                    out.push_str(&format!("{h12:0n$}"));
                }
                Piece::Field('m', n) => out.push_str(&format!("{minute:0n$}")),
                Piece::Field('s', n) => out.push_str(&format!("{second:0n$}")),
                Piece::Field('S', n) => {
                    let six = format!("{fraction:06}");
                    out.push_str(&format!("{six:0<n$}")[..*n]);
                }
                Piece::Field('a', _) => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                Piece::Field('E', n) => {
                    let name = DAYS[days.rem_euclid(7) as usize];
                    out.push_str(if *n >= 4 { name } else { &name[..3] });
                }
                Piece::Field(_, _) => {}
            }
        }
        out
    }

    /// Parses `text` with this pattern (strictly: the whole text), in UTC.
    fn parse(&self, text: &str) -> Option<i64> {
        let mut rest = text;
        let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut micros) = (1970i64, 1, 1, 0, 0, 0, 0);
        let mut pm = None;
        let mut twelve = false;
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => rest = rest.strip_prefix(t.as_str())?,
                Piece::Field('M', n) if *n >= 3 => {
                    let i = MONTHS.iter().position(|name| {
                        let name = if *n == 3 { &name[..3] } else { name };
                        rest.starts_with(name)
                    })?;
                    let len = if *n == 3 { 3 } else { MONTHS[i].len() };
                    rest = &rest[len..];
                    mo = i as u32 + 1;
                }
                Piece::Field('a', _) => {
                    pm = Some(if let Some(r) = rest.strip_prefix("PM") {
                        rest = r;
                        true
                    } else {
                        rest = rest.strip_prefix("AM")?;
                        false
                    });
                }
                Piece::Field('E', _) => {
                    let name = DAYS.iter().find(|name| rest.starts_with(&name[..3]))?;
                    rest = rest.strip_prefix(*name).unwrap_or(&rest[3..]);
                }
                Piece::Field(c, n) => {
                    let max = match c {
                        'y' if *n != 2 => 9,
                        'S' => *n,
                        _ => (*n).max(2),
                    };
                    let len = rest
                        .bytes()
                        .take(max)
                        .take_while(u8::is_ascii_digit)
                        .count();
                    if len == 0 || (*n > 1 && len < *n && *c != 'y') {
                        return None;
                    }
                    let value: i64 = rest[..len].parse().ok()?;
                    rest = &rest[len..];
                    match c {
                        'y' if *n == 2 => y = 2000 + value,
                        'y' => y = value,
                        'M' => mo = value as u32,
                        'd' => d = value as u32,
                        'H' => h = value as u32,
                        'h' => {
                            h = value as u32;
                            twelve = true;
                        }
                        'm' => mi = value as u32,
                        's' => s = value as u32,
                        'S' => {
                            let six: String = rest_digits(&value.to_string(), len);
                            micros = six.parse().ok()?;
                        }
                        _ => return None,
                    }
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        if twelve || pm.is_some() {
            if h > 12 {
                return None;
            }
            h %= 12;
            if pm == Some(true) {
                h += 12;
            }
        }
        micros_of(y, mo, d, h, mi, s, micros)
    }
}

/// A fraction's digits (`len` of them, leading zeros restored) as six.
fn rest_digits(digits: &str, len: usize) -> String {
    let padded = format!("{digits:0>len$}");
    padded.chars().chain("000000".chars()).take(6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_up_on_the_shortest_decimal() {
        assert_eq!(round_half_up(1.005, 2, false), 1.01);
        assert_eq!(round_half_up(2.5, 0, false), 3.0);
        assert_eq!(round_half_up(-2.5, 0, false), -3.0);
        assert_eq!(round_half_up(0.125, 2, false), 0.13);
        assert_eq!(round_half_up(123.456, -1, false), 120.0);
        assert_eq!(round_half_up(0.004, 2, false), 0.0);
        assert_eq!(round_half_up(1e300, 2, false), 1e300);
    }

    #[test]
    fn the_quick_rounding_agrees_with_the_decimal_one() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 100_000_000) as f64;
            let x = digits / 10f64.powi((seed >> 40) as i32 % 9)
                * if seed & 1 == 0 { 1.0 } else { -1.0 };
            for scale in 0..6 {
                let quick = round_half_up(x, scale, false);
                let exact = round_decimal(x, scale, false);
                assert_eq!(quick.to_bits(), exact.to_bits(), "round({x}, {scale})");
            }
        }
    }

    #[test]
    fn substring_as_spark() {
        assert_eq!(substring_sql("AAPL", 1, 2), "AA");
        assert_eq!(substring_sql("AAPL", 0, 2), "AA");
        assert_eq!(substring_sql("AAPL", -2, 5), "PL");
        assert_eq!(substring_sql("AAPL", 3, i64::from(i32::MAX)), "PL");
        assert_eq!(substring_sql("AAPL", 9, 1), "");
        assert_eq!(substring_sql("héllo", 2, 2), "él");
    }

    #[test]
    fn patterns_format_and_parse() {
        let p = |t: &str| match Pattern::new(t) {
            Ok(p) => p,
            Err(_) => panic!("{t}"),
        };
        let t = parse_timestamp("2026-11-25 13:04:05.123").unwrap_or_default();
        assert_eq!(p("yyyy-MM-dd HH:mm").format(t), "2026-11-25 13:04");
        assert_eq!(p("dd MMM yyyy, hh:mm a").format(t), "25 Nov 2026, 01:04 PM");
        assert_eq!(p("EEE HH:mm:ss.SSS").format(t), "Wed 13:04:05.123");
        assert_eq!(
            p("yyyy/MM/dd HH:mm:ss").parse("2026/11/25 13:04:05"),
            parse_timestamp("2026-11-25 13:04:05")
        );
        assert_eq!(p("yyyy/MM/dd").parse("2026/11/2x"), None);
    }
}
