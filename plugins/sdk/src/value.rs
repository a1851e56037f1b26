//! Spark's rules for turning JSON values into typed columns, and back.
//!
//! These follow `org.apache.spark.sql.catalyst.json.JacksonParser` with
//! Spark's default JSON options: a double column takes JSON integers and
//! floats and the strings `NaN`, `Infinity`, `+Infinity`, `+INF`,
//! `-Infinity`, `-INF`; a string column (in `from_json`) takes any JSON value
//! and keeps its text; `null` is null for every type.

use crate::time::parse_timestamp;
use crate::{Field, FieldType};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// One typed column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A string column.
    Str(Cow<'a, str>),
    /// A double or float column.
    F64(f64),
    /// A long or integer column.
    I64(i64),
    /// A boolean column.
    Bool(bool),
    /// A binary column.
    Bytes(Cow<'a, [u8]>),
    /// A timestamp column: microseconds since the Unix epoch, UTC.
    Micros(i64),
}

/// Up to eight items inline (no allocation per record for the common
/// schemas), more on the heap.
pub type Row<T> = smallvec::SmallVec<[T; 8]>;

/// What the top level of a JSON document is.
pub enum Document<'a> {
    /// An object; `slots[i]` is the raw value of `fields[i]` if present
    /// (the last one when a key is repeated).
    Object(Row<Option<&'a RawValue>>),
    /// The literal `null`.
    Null,
    /// Anything else: a string, number, boolean or array (named).
    Other(&'static str),
}

struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct DocumentSeed<'f> {
    fields: &'f [Field],
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = Document<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = Document<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut slots: Row<Option<&'de RawValue>> = smallvec::smallvec![None; self.fields.len()];
        while let Some(Key(key)) = map.next_key()? {
            match self.fields.iter().position(|f| f.name == key) {
                Some(i) => slots[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(Document::Object(slots))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Document::Null)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Document::Other("an array"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Document::Other("a string"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Document::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Document::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Document::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Document::Other("a number"))
    }
}

/// Reads the top-level JSON value of `json`, picking out the raw values of
/// `fields` (matched case-sensitively) without copying them. Like Jackson in
/// Spark, it reads the first value and ignores what follows it.
pub fn read_document<'a>(
    json: &'a [u8],
    fields: &[Field],
) -> Result<Document<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    DocumentSeed { fields }.deserialize(&mut de)
}

fn describe(raw: &str) -> String {
    const MAX: usize = 40;
    if raw.len() <= MAX {
        return raw.to_string();
    }
    let mut end = MAX;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &raw[..end])
}

fn json_kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        _ => "number",
    }
}

/// Removes the insignificant whitespace of a JSON text (Jackson's
/// `copyCurrentStructure` writes nested values compactly).
fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

fn string_of(raw: &RawValue) -> Result<Cow<'_, str>, String> {
    let text = raw.get();
    // A raw string token without escapes is its own contents between the quotes.
    if text.len() >= 2 && !text.contains('\\') {
        return Ok(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    if let Ok(s) = serde_json::from_str::<&str>(text) {
        return Ok(Cow::Borrowed(s));
    }
    serde_json::from_str::<String>(text)
        .map(Cow::Owned)
        .map_err(|e| e.to_string())
}

fn non_numeric(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" | "+INF" => Some(f64::INFINITY),
        "-Infinity" | "-INF" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// A raw JSON value as the cell its own JSON type suggests: a string as
/// text, an integral number as a long, another number as a double, a boolean
/// as one; an object or array as its compact JSON text; `null` as null.
pub fn natural(raw: &RawValue) -> Cell<'_> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'n') => Cell::Null,
        Some(b't') => Cell::Bool(true),
        Some(b'f') => Cell::Bool(false),
        Some(b'"') => string_of(raw).map_or(Cell::Null, Cell::Str),
        Some(b'{' | b'[') => Cell::Str(Cow::Owned(compact(text))),
        _ => match text.parse::<i64>() {
            Ok(n) => Cell::I64(n),
            Err(_) => text.parse::<f64>().map_or(Cell::Null, Cell::F64),
        },
    }
}

/// Converts one raw JSON value to a column of type `ty`.
///
/// `any_as_string` is `from_json`'s rule that a string column takes any
/// JSON value as its text; without it (schema checks) a string column
/// needs a JSON string. The error says what was expected and what was found.
pub fn convert<'a>(
    raw: &'a RawValue,
    ty: FieldType,
    any_as_string: bool,
) -> Result<Cell<'a>, String> {
    let text = raw.get();
    let mismatch = || {
        format!(
            "expected {}, found {} {}",
            crate::schema::type_name(ty),
            json_kind(text),
            describe(text)
        )
    };
    if text == "null" {
        return Ok(Cell::Null);
    }
    let first = text.as_bytes().first().copied().unwrap_or(b' ');
    match ty {
        FieldType::String | FieldType::Binary => {
            if first == b'"' {
                string_of(raw).map(Cell::Str)
            } else if any_as_string {
                Ok(Cell::Str(match first {
                    b'{' | b'[' => Cow::Owned(compact(text)),
                    // Jackson re-writes a float through a double: 1.50 -> 1.5, 1e3 -> 1000.0.
                    b'-' | b'0'..=b'9' if text.contains(['.', 'e', 'E']) => Cow::Owned(
                        text.parse::<f64>()
                            .map(java_double)
                            .unwrap_or_else(|_| text.to_string()),
                    ),
                    _ => Cow::Borrowed(text),
                }))
            } else {
                Err(mismatch())
            }
        }
        FieldType::Double | FieldType::Float => {
            let value = if first == b'"' {
                string_of(raw)
                    .ok()
                    .and_then(|s| non_numeric(&s))
                    .ok_or_else(mismatch)?
            } else if first == b'-' || first.is_ascii_digit() {
                text.parse::<f64>().map_err(|_| mismatch())?
            } else {
                return Err(mismatch());
            };
            Ok(Cell::F64(if ty == FieldType::Float {
                value as f32 as f64
            } else {
                value
            }))
        }
        FieldType::Long | FieldType::Integer => {
            let n: i64 = text.parse().map_err(|_| match json_kind(text) {
                "number" if !text.contains(['.', 'e', 'E']) => {
                    format!(
                        "{} is out of range for {}",
                        describe(text),
                        crate::schema::type_name(ty)
                    )
                }
                _ => mismatch(),
            })?;
            if ty == FieldType::Integer && i32::try_from(n).is_err() {
                return Err(format!("{text} is out of range for integer"));
            }
            Ok(Cell::I64(n))
        }
        FieldType::Boolean => match text {
            "true" => Ok(Cell::Bool(true)),
            "false" => Ok(Cell::Bool(false)),
            _ => Err(mismatch()),
        },
        FieldType::Timestamp => {
            let micros = if first == b'"' {
                string_of(raw).ok().and_then(|s| parse_timestamp(&s))
            } else {
                seconds(text)
            };
            micros.map(Cell::Micros).ok_or_else(mismatch)
        }
        FieldType::Struct => Err("reading a struct from JSON is not supported yet".into()),
    }
}

/// A JSON integer as `from_json` reads a timestamp: seconds since the epoch.
fn seconds(text: &str) -> Option<i64> {
    if text.contains(['.', 'e', 'E']) {
        return None;
    }
    text.parse::<i64>().ok()?.checked_mul(1_000_000)
}

/// Converts one JSON value read by [`crate::json`] to a column of type `ty`,
/// by the same rules as [`convert`] (`from_json`'s when `any_as_string`).
pub fn convert_token<'a>(
    token: crate::json::Token<'a>,
    ty: FieldType,
    any_as_string: bool,
) -> Result<Cell<'a>, String> {
    use crate::json::Token;
    let mismatch = |token: &Token<'_>| {
        let (kind, text) = match token {
            Token::Null => ("null", "null".to_string()),
            Token::Bool(b) => ("boolean", b.to_string()),
            Token::Str(s) => (
                "string",
                serde_json::to_string(s.as_ref()).unwrap_or_default(),
            ),
            Token::Number { text, .. } => ("number", text.to_string()),
            Token::NonNumeric(v) => ("number", java_double(*v)),
            Token::Compound(raw) => (json_kind(raw), raw.to_string()),
        };
        format!(
            "expected {}, found {kind} {}",
            crate::schema::type_name(ty),
            describe(&text)
        )
    };
    if token == Token::Null {
        return Ok(Cell::Null);
    }
    match ty {
        FieldType::String | FieldType::Binary => match token {
            Token::Str(s) => Ok(Cell::Str(s)),
            _ if !any_as_string => Err(mismatch(&token)),
            // Jackson re-writes a float through a double: 1.50 -> 1.5, 1e3 -> 1000.0.
            Token::Number { text, float: true } => Ok(Cell::Str(Cow::Owned(
                text.parse::<f64>()
                    .map(java_double)
                    .unwrap_or_else(|_| text.to_string()),
            ))),
            Token::Number { text, .. } => Ok(Cell::Str(Cow::Borrowed(text))),
            Token::NonNumeric(v) => Ok(Cell::Str(Cow::Owned(java_double(v)))),
            Token::Bool(b) => Ok(Cell::Str(Cow::Borrowed(if b { "true" } else { "false" }))),
            Token::Compound(raw) => Ok(Cell::Str(Cow::Owned(compact(raw)))),
            Token::Null => Ok(Cell::Null),
        },
        FieldType::Double | FieldType::Float => {
            let value = match &token {
                Token::Number { text, .. } => text.parse::<f64>().map_err(|_| mismatch(&token))?,
                Token::NonNumeric(v) => *v,
                Token::Str(s) => non_numeric(s).ok_or_else(|| mismatch(&token))?,
                _ => return Err(mismatch(&token)),
            };
            Ok(Cell::F64(if ty == FieldType::Float {
                value as f32 as f64
            } else {
                value
            }))
        }
        FieldType::Long | FieldType::Integer => match &token {
            Token::Number { text, float: false } => {
                let n: i64 = text.parse().map_err(|_| {
                    format!(
                        "{} is out of range for {}",
                        describe(text),
                        crate::schema::type_name(ty)
                    )
                })?;
                if ty == FieldType::Integer && i32::try_from(n).is_err() {
                    return Err(format!("{text} is out of range for integer"));
                }
                Ok(Cell::I64(n))
            }
            _ => Err(mismatch(&token)),
        },
        FieldType::Boolean => match token {
            Token::Bool(b) => Ok(Cell::Bool(b)),
            _ => Err(mismatch(&token)),
        },
        // A string as Spark's timestamp cast reads it (the fallback of
        // from_json's default timestampFormat), an integer as seconds.
        FieldType::Timestamp => match &token {
            Token::Str(s) => parse_timestamp(s),
            Token::Number { text, float: false } => seconds(text),
            _ => None,
        }
        .map(Cell::Micros)
        .ok_or_else(|| mismatch(&token)),
        FieldType::Struct => Err("reading a struct from JSON is not supported yet".into()),
    }
}

/// Formats a double the way Java's `Double.toString` (and so Spark's
/// console sink) does: `100.0`, `42.17`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.
pub fn java_double(value: f64) -> String {
    java_layout(
        value,
        || ryu::Buffer::new().format_finite(value).to_string(),
        || format!("{value:e}"),
        || format!("{value:.1e}"),
    )
}

/// Appends `value` as Java's `Double.toString` writes it (see
/// [`java_double`]), without a temporary for the common plain case.
pub fn write_java_double(out: &mut Vec<u8>, value: f64) {
    if (1e-3..1e7).contains(&value.abs()) {
        // Shortest round-trip digits; ryu writes plain decimals in this range.
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format_finite(value);
        out.extend_from_slice(text.as_bytes());
        if !text.contains('.') {
            out.extend_from_slice(b".0");
        }
    } else {
        out.extend_from_slice(java_double(value).as_bytes());
    }
}

/// Formats a float the way Java's `Float.toString` does (shortest digits
/// of the `f32`, so `42.17f` prints `42.17`, not the widened double).
pub fn java_float(value: f32) -> String {
    java_layout(
        f64::from(value),
        || value.to_string(),
        || format!("{value:e}"),
        || format!("{value:.1e}"),
    )
}

/// Java's layout around Rust's shortest round-trip digits: `plain` and
/// `scientific` render the number in the caller's precision, `two_digits`
/// with two significant digits, correctly rounded. Java always shows two
/// (`d.dE…`) and, where the shortest form has one, takes the two-digit
/// decimal nearest the value: `4.9E-324`, not `5.0E-324`, for the smallest
/// subnormal (for normal numbers that is the one digit and a zero).
fn java_layout(
    value: f64,
    plain: impl Fn() -> String,
    scientific: impl Fn() -> String,
    two_digits: impl Fn() -> String,
) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    if (1e-3..1e7).contains(&value.abs()) {
        let s = plain();
        return if s.contains('.') { s } else { s + ".0" };
    }
    let mut sci = scientific();
    if !sci.split('e').next().unwrap_or_default().contains('.') {
        sci = two_digits();
    }
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

/// Appends a column value as JSON, as Spark's `to_json` (Jackson) writes
/// it: doubles as Java prints them (`100.0`, `1.0E7`), non-finite doubles as
/// the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, binary as base64,
/// timestamps as `yyyy-MM-ddTHH:mm:ss.SSSZ` in UTC.
pub fn write_json_cell(out: &mut Vec<u8>, cell: &Cell<'_>) {
    match cell {
        Cell::Null => out.extend_from_slice(b"null"),
        Cell::Str(s) => write_json_str(out, s),
        Cell::F64(v) if v.is_finite() => write_java_double(out, *v),
        Cell::F64(v) => {
            out.push(b'"');
            out.extend_from_slice(java_double(*v).as_bytes());
            out.push(b'"');
        }
        Cell::I64(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Cell::Bool(v) => out.extend_from_slice(if *v { b"true" } else { b"false" }),
        Cell::Bytes(b) => {
            out.push(b'"');
            base64(out, b);
            out.push(b'"');
        }
        Cell::Micros(v) => {
            out.push(b'"');
            out.extend_from_slice(crate::time::json_timestamp(*v).as_bytes());
            out.push(b'"');
        }
    }
}

/// Appends `s` as a JSON string (quotes and escapes).
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    write_json_text(out, s.as_bytes());
}

/// Appends UTF-8 `text` as a JSON string, escaping as serde_json and
/// Jackson do: `"`, `\\` and control characters; other characters as they are.
pub fn write_json_text(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    let mut rest = text;
    while let Some(at) = crate::json::find_special(rest, b'"', true) {
        out.extend_from_slice(&rest[..at]);
        match rest[at] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

/// Appends a row as a compact JSON object with `fields` in order, leaving
/// out null fields as Spark's `to_json` does (`ignoreNullFields`).
pub fn write_json_row(out: &mut Vec<u8>, fields: &[Field], cells: &[Cell<'_>]) {
    out.push(b'{');
    let mut first = true;
    for (field, cell) in fields.iter().zip(cells) {
        if *cell == Cell::Null {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_json_str(out, &field.name);
        out.push(b':');
        write_json_cell(out, cell);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_from_json_reads_them() {
        let read = |json: &str| {
            let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
            convert(&raw, FieldType::Timestamp, false).map(|c| match c {
                Cell::Micros(t) => crate::time::show_timestamp(t),
                other => format!("{other:?}"),
            })
        };
        assert_eq!(
            read("\"2026-11-25T12:00:00.5Z\"").unwrap(),
            "2026-11-25 12:00:00.5"
        );
        assert_eq!(
            read("\"2026-11-25 13:00:00+01:00\"").unwrap(),
            "2026-11-25 12:00:00"
        );
        assert_eq!(read("1764072000").unwrap(), "2025-11-25 12:00:00");
        assert_eq!(read("null").unwrap(), "Null");
        assert_eq!(
            read("1.5").unwrap_err(),
            "expected timestamp, found number 1.5"
        );
        assert_eq!(
            read("\"soon\"").unwrap_err(),
            "expected timestamp, found string \"soon\""
        );
    }

    #[test]
    fn java_double_matches_java() {
        for (v, s) in [
            (100.0, "100.0"),
            (42.17, "42.17"),
            (1e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (-2.5, "-2.5"),
            (9999999.0, "9999999.0"),
        ] {
            assert_eq!(java_double(v), s, "{v}");
        }
        assert_eq!(java_float(42.17), "42.17");
        assert_eq!(java_float(1e10), "1.0E10");
    }

    #[test]
    fn to_json_cells_as_spark_writes_them() {
        let mut out = Vec::new();
        for cell in [
            Cell::F64(1e7),
            Cell::F64(f64::NAN),
            Cell::Str("a\"b".into()),
            Cell::Bytes((&b"hello"[..]).into()),
            Cell::Micros(1_764_072_000_123_456),
        ] {
            write_json_cell(&mut out, &cell);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"1.0E7 "NaN" "a\"b" "aGVsbG8=" "2025-11-25T12:00:00.123Z" "#
        );
    }

    #[test]
    fn java_doubles_written_in_place_match_java_double() {
        for v in [
            42.17,
            100.0,
            0.001,
            9999999.999,
            1e7,
            1e-4,
            -0.5,
            5e-324,
            1.7976931348623157e308,
            0.1,
            123456.789,
        ] {
            let mut out = Vec::new();
            write_java_double(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), java_double(v), "{v}");
        }
        assert_eq!(java_double(5e-324), "4.9E-324");
        assert_eq!(java_double(1e23), "1.0E23");
        assert_eq!(java_double(2e-5), "2.0E-5");
        assert_eq!(java_float(f32::from_bits(1)), "1.4E-45");
        assert_eq!(
            java_double(1.7976931348623157e308),
            "1.7976931348623157E308"
        );
    }

    #[test]
    fn json_strings_escape_as_serde_json_does() {
        for text in [
            "plain",
            "a\"b\\c",
            "tab\there\nnl\u{1}\u{1f}\u{7f}",
            "日本\"語",
            "",
            "12345678\"9",
        ] {
            let mut out = Vec::new();
            write_json_str(&mut out, text);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn compact_keeps_strings() {
        assert_eq!(compact("{ \"a b\" : [1, 2] }"), "{\"a b\":[1,2]}");
    }
}
