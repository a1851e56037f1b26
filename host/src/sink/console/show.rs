//! Spark's console text, to the character: `Dataset.show` tables,
//! `printSchema` trees and the console sink's `Batch: N` header.
//!
//! Rules (from `Dataset.showString`): every cell is a string; `NULL` for
//! nulls; doubles as Java prints them; cells longer than `truncate` are cut
//! to `truncate - 3` characters plus `...`; columns are at least 3 wide and
//! right-aligned when truncating, left-aligned otherwise; the header row sits
//! between two borders and a border closes the table; past `num_rows`,
//! `only showing top N rows` (with no blank line after it: Spark 4, checked against
//! PySpark 4.2 by `tests/sluice/spark.rs`).

use crate::data::processed::ChainOutput;
use crate::data::rows;
use crate::data::{Field, FieldType, type_name};
use sluice_sdk::value::{java_double, java_float};
use unicode_width::UnicodeWidthStr;

/// How Spark-style tables are shown (`--num-rows`, `--truncate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStyle {
    /// Rows shown per table.
    pub num_rows: usize,
    /// Cut cells longer than 20 characters, as Spark does.
    pub truncate: bool,
}

impl TableStyle {
    /// `Dataset.show(numRows, truncate)` of `rows` under `fields`.
    pub fn render(&self, fields: &[Field], rows: &[Vec<Option<String>>]) -> String {
        table(
            fields,
            rows,
            self.num_rows,
            if self.truncate { 20 } else { 0 },
        )
    }
}

/// The columns to show: the declared schema, or one `value` column when the
/// plugin declared none (its values are shown as text).
pub fn columns(schema: Option<&[Field]>) -> Vec<Field> {
    match schema {
        Some(fields) if !fields.is_empty() => fields.to_vec(),
        _ => vec![Field {
            name: "value".into(),
            ty: FieldType::String,
            nullable: true,
            parent: None,
        }],
    }
}

/// Spark's `printSchema` tree, with its trailing blank line; a struct's
/// fields are indented under it.
pub fn schema_tree(fields: &[Field]) -> String {
    fn level(out: &mut String, fields: &[Field], parent: Option<usize>, depth: usize) {
        for i in rows::children(fields, parent) {
            let f = &fields[i];
            out.push_str(&" |   ".repeat(depth));
            out.push_str(&format!(
                " |-- {}: {} (nullable = {})\n",
                f.name,
                type_name(f.ty),
                f.nullable
            ));
            if f.ty == FieldType::Struct {
                level(out, fields, Some(i), depth + 1);
            }
        }
    }
    let mut out = String::from("root\n");
    level(&mut out, fields, None, 0);
    out.push('\n');
    out
}

/// The header the console sink prints before each micro-batch.
pub fn batch_header(batch_id: u64) -> String {
    let rule = "-".repeat(43);
    format!("{rule}\nBatch: {batch_id}\n{rule}\n")
}

fn cell(field: &Field, value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (field.ty, value) {
        (_, Value::Null) => None,
        (FieldType::Double, Value::Number(n)) => n.as_f64().map(java_double),
        (FieldType::Float, Value::Number(n)) => n.as_f64().map(|v| java_float(v as f32)),
        (_, Value::String(s)) => Some(s.clone()),
        (_, Value::Bool(b)) => Some(b.to_string()),
        (_, other) => Some(other.to_string()),
    }
}

/// The cells of one output value under `fields`: a JSON object's fields,
/// or (for a single `value` column with no declared schema) the text itself.
pub fn row(fields: &[Field], value: Option<&[u8]>, declared: bool) -> Vec<Option<String>> {
    let Some(value) = value else {
        return vec![None; fields.len()];
    };
    if !declared {
        return vec![Some(String::from_utf8_lossy(value).into_owned())];
    }
    match serde_json::from_slice::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(map)) => fields
            .iter()
            .map(|f| map.get(&f.name).and_then(|v| cell(f, v)))
            .collect(),
        _ => vec![None; fields.len()],
    }
}

/// The columns to show `out` under: `fields`, or, when the chain declares
/// none (it ends in a plugin that declares no schema, as a filter) and the
/// rows are typed, the columns they carry.
pub fn shown_columns(fields: &[Field], declared: bool, out: &ChainOutput<'_>) -> Vec<Field> {
    match &out.batch().rows {
        Some(typed) if !declared && !typed.fields.is_empty() => typed.fields.clone(),
        _ => fields.to_vec(),
    }
}

/// The first `max` rows of a chain's output as table cells under `fields`:
/// typed rows cell by cell, raw values through [`row`].
pub fn table_rows(
    out: &ChainOutput<'_>,
    fields: &[Field],
    declared: bool,
    max: usize,
) -> Vec<Vec<Option<String>>> {
    let b = out.batch();
    // A struct's fields are shown inside its cell, as Spark shows them.
    let top: Vec<Field> = fields
        .iter()
        .filter(|f| f.parent.is_none())
        .cloned()
        .collect();
    let fields = &top[..];
    (0..out.len().min(max))
        .map(|i| match &b.rows {
            Some(typed) => fields
                .iter()
                .map(|f| {
                    let c = rows::children(&typed.fields, None)
                        .find(|c| typed.fields[*c].name == f.name)?;
                    rows::show(typed, c, i)
                })
                .collect(),
            None => row(fields, crate::data::batch::value(b, i), declared),
        })
        .collect()
}

fn escape_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{7}' => out.push_str("\\a"),
            c => out.push(c),
        }
    }
    out
}

fn truncated(s: String, truncate: usize) -> String {
    if truncate == 0 || s.chars().count() <= truncate {
        return s;
    }
    let keep = if truncate < 4 { truncate } else { truncate - 3 };
    let mut cut: String = s.chars().take(keep).collect();
    if truncate >= 4 {
        cut.push_str("...");
    }
    cut
}

/// `Dataset.show(numRows, truncate)` of `rows` (at most `num_rows` are
/// shown; `has_more` adds the footer even when exactly `num_rows` are given).
/// `truncate` 0 means no truncation. Ends with a blank line, as `show` prints.
pub fn table(
    fields: &[Field],
    rows: &[Vec<Option<String>>],
    num_rows: usize,
    truncate: usize,
) -> String {
    let has_more = rows.len() > num_rows;
    let header: Vec<String> = fields
        .iter()
        .filter(|f| f.parent.is_none())
        .map(|f| escape_meta(&f.name))
        .collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .take(num_rows)
        .map(|r| {
            r.iter()
                .map(|c| truncated(escape_meta(c.as_deref().unwrap_or("NULL")), truncate))
                .collect()
        })
        .collect();
    let mut widths = vec![3usize; header.len()];
    for r in std::iter::once(&header).chain(&body) {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.width());
        }
    }
    let mut out = String::new();
    let border: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(*w)))
        .collect::<String>()
        + "+\n";
    let line = |out: &mut String, r: &[String]| {
        for (c, w) in r.iter().zip(&widths) {
            let pad = " ".repeat(w - c.width());
            out.push('|');
            if truncate > 0 {
                out.push_str(&pad);
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&pad);
            }
        }
        out.push_str("|\n");
    };
    out.push_str(&border);
    line(&mut out, &header);
    out.push_str(&border);
    for r in &body {
        line(&mut out, r);
    }
    out.push_str(&border);
    // Spark 4 (its `showString` ends the footer without a newline, `println` adds one):
    // a full table is followed by a blank line, a cut one by its footer line alone.
    if has_more {
        out.push_str(&format!(
            "only showing top {num_rows} {}\n",
            if num_rows == 1 { "row" } else { "rows" }
        ));
    } else {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<Field> {
        let f = |n: &str, ty| Field {
            name: n.into(),
            ty,
            nullable: true,
            parent: None,
        };
        vec![
            f("event_time", FieldType::String),
            f("ticker", FieldType::String),
            f("price", FieldType::Double),
        ]
    }

    #[test]
    fn spark_table_truncates_and_right_aligns() {
        let rows = vec![row(
            &fields(),
            Some(br#"{"event_time":"2026-11-25T12:00:00.123456","ticker":"AAPL","price":42.17}"#),
            true,
        )];
        assert_eq!(
            table(&fields(), &rows, 20, 20),
            "+--------------------+------+-----+\n\
             |          event_time|ticker|price|\n\
             +--------------------+------+-----+\n\
             |2026-11-25T12:00:...|  AAPL|42.17|\n\
             +--------------------+------+-----+\n\n"
        );
    }

    #[test]
    fn nulls_doubles_footer_and_left_alignment() {
        let rows = vec![
            row(
                &fields(),
                Some(br#"{"event_time":null,"ticker":"A","price":100}"#),
                true,
            ),
            row(
                &fields(),
                Some(br#"{"event_time":"x","ticker":null,"price":1e7}"#),
                true,
            ),
        ];
        assert_eq!(
            table(&fields(), &rows, 1, 0),
            "+----------+------+-----+\n\
             |event_time|ticker|price|\n\
             +----------+------+-----+\n\
             |NULL      |A     |100.0|\n\
             +----------+------+-----+\n\
             only showing top 1 row\n"
        );
        assert!(table(&fields(), &rows, 20, 20).contains("|         x|  NULL|1.0E7|"));
    }

    #[test]
    fn empty_table_has_header_between_borders() {
        assert_eq!(
            table(&fields()[1..2], &[], 20, 20),
            "+------+\n|ticker|\n+------+\n+------+\n\n"
        );
    }

    #[test]
    fn print_schema_tree() {
        assert_eq!(
            schema_tree(&fields()),
            "root\n |-- event_time: string (nullable = true)\n |-- ticker: string (nullable = true)\n |-- price: double (nullable = true)\n\n"
        );
    }
}
