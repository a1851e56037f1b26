//! Spark DDL schema strings, as `from_json` and `spark.read.schema` take them.
//!
//! `"event_time string, ticker string, price double"`, optionally wrapped in
//! `STRUCT<...>`, with `name: type`, backquoted names, `NOT NULL` and
//! `COMMENT '...'`.

use crate::{Field, FieldType};
use std::fmt;

/// A schema string that does not parse: what is wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct DdlError {
    /// Character position (0-based) in the schema string.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DdlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

/// The Spark name of a column type, as `printSchema` shows it.
pub fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "string",
        FieldType::Double => "double",
        FieldType::Float => "float",
        FieldType::Long => "long",
        FieldType::Integer => "integer",
        FieldType::Boolean => "boolean",
        FieldType::Binary => "binary",
        FieldType::Timestamp => "timestamp",
        FieldType::Struct => "struct",
    }
}

fn parse_type(word: &str) -> Option<FieldType> {
    Some(match word.to_ascii_lowercase().as_str() {
        "string" | "varchar" | "char" | "text" => FieldType::String,
        "double" => FieldType::Double,
        "float" | "real" => FieldType::Float,
        "bigint" | "long" => FieldType::Long,
        "int" | "integer" | "smallint" | "tinyint" | "short" | "byte" => FieldType::Integer,
        "boolean" | "bool" => FieldType::Boolean,
        "binary" => FieldType::Binary,
        "timestamp" => FieldType::Timestamp,
        _ => return None,
    })
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    text: &'a str,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.char_indices().collect(),
            pos: 0,
            text,
        }
    }

    fn skip_ws(&mut self) {
        while self
            .chars
            .get(self.pos)
            .is_some_and(|(_, c)| c.is_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).map(|(_, c)| *c)
    }

    /// Character position of the next token.
    fn at(&mut self) -> usize {
        self.skip_ws();
        self.pos
    }

    fn err<T>(&mut self, message: impl Into<String>) -> Result<T, DdlError> {
        Err(DdlError {
            position: self.at(),
            message: message.into(),
        })
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A bare word (letters, digits, `_`) or a backquoted name.
    fn word(&mut self) -> Option<String> {
        self.skip_ws();
        if self.eat('`') {
            let mut name = String::new();
            while let Some(&(_, c)) = self.chars.get(self.pos) {
                self.pos += 1;
                if c == '`' {
                    if self.chars.get(self.pos).map(|p| p.1) == Some('`') {
                        self.pos += 1;
                        name.push('`');
                        continue;
                    }
                    return Some(name);
                }
                name.push(c);
            }
            return None;
        }
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|(_, c)| c.is_alphanumeric() || *c == '_')
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.slice(start, self.pos).to_string())
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        let byte = |i: usize| self.chars.get(i).map_or(self.text.len(), |(b, _)| *b);
        &self.text[byte(from)..byte(to)]
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        match self.word() {
            Some(w) if w.eq_ignore_ascii_case(kw) => true,
            _ => {
                self.pos = save;
                false
            }
        }
    }
}

/// Parses a Spark DDL schema string into fields.
pub fn parse_ddl(ddl: &str) -> Result<Vec<Field>, DdlError> {
    let mut lx = Lexer::new(ddl);
    let save = lx.pos;
    let wrapped = lx.keyword("struct") && lx.eat('<');
    if !wrapped {
        lx.pos = save;
    }
    let mut fields: Vec<Field> = Vec::new();
    loop {
        let at = lx.at();
        let Some(name) = lx.word() else {
            return lx.err("expected a column name");
        };
        if fields.iter().any(|f| f.name == name) {
            return Err(DdlError {
                position: at,
                message: format!("duplicate column {name:?}"),
            });
        }
        lx.eat(':');
        let type_at = lx.at();
        let Some(ty_word) = lx.word() else {
            return lx.err(format!("expected a type for column {name:?}"));
        };
        let Some(ty) = parse_type(&ty_word) else {
            return Err(DdlError {
                position: type_at,
                message: format!(
                    "unsupported type {ty_word:?} for column {name:?}; supported: string, double, float, bigint, int, boolean, binary, timestamp"
                ),
            });
        };
        if lx.eat('(') {
            // varchar(10), char(3): the length is accepted and ignored.
            while lx.peek().is_some_and(|c| c != ')') {
                lx.pos += 1;
            }
            if !lx.eat(')') {
                return lx.err("expected \")\"");
            }
        }
        let mut nullable = true;
        loop {
            if lx.keyword("not") {
                if !lx.keyword("null") {
                    return lx.err("expected NULL after NOT");
                }
                nullable = false;
            } else if lx.keyword("comment") {
                if !lx.eat('\'') {
                    return lx.err("expected a quoted comment");
                }
                while lx.chars.get(lx.pos).is_some_and(|(_, c)| *c != '\'') {
                    lx.pos += 1;
                }
                if lx.chars.get(lx.pos).is_none() {
                    return lx.err("unterminated comment");
                }
                lx.pos += 1;
            } else {
                break;
            }
        }
        fields.push(Field {
            name,
            ty,
            nullable,
            parent: None,
        });
        if !lx.eat(',') {
            break;
        }
    }
    if wrapped && !lx.eat('>') {
        return lx.err("expected \">\" closing STRUCT<");
    }
    if lx.peek().is_some() {
        return lx.err("expected \",\" or the end of the schema");
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_tutorial_schema() {
        let fields = parse_ddl("event_time string, ticker string, price double").unwrap();
        let names: Vec<_> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.ty, f.nullable))
            .collect();
        assert_eq!(
            names,
            [
                ("event_time", FieldType::String, true),
                ("ticker", FieldType::String, true),
                ("price", FieldType::Double, true)
            ]
        );
    }

    #[test]
    fn struct_wrapper_colons_backquotes_not_null() {
        let fields = parse_ddl("STRUCT<`my col`: INT NOT NULL, b varchar(3) COMMENT 'x'>").unwrap();
        assert_eq!(fields[0].name, "my col");
        assert_eq!(fields[0].ty, FieldType::Integer);
        assert!(!fields[0].nullable);
        assert_eq!(fields[1].ty, FieldType::String);
    }

    #[test]
    fn errors_name_the_position() {
        let err = parse_ddl("ticker string, price decimal").unwrap_err();
        assert_eq!(err.position, 21);
        assert!(err.message.contains("\"decimal\""), "{err}");
        assert_eq!(parse_ddl("a string,").unwrap_err().position, 9);
        assert_eq!(parse_ddl("a string b").unwrap_err().position, 9);
    }
}
