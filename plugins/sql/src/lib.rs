//! Spark SQL expressions on Sluice rows.
//!
//! The text is parsed by [sqlparser-rs](https://docs.rs/sqlparser) (its
//! Databricks dialect, which is Spark's: backquoted names, `'…'` and `"…"`
//! strings, `\` escapes) and compiled once against the input schema into an
//! [`Expr`]: columns resolved (case-insensitively, as Spark does by default),
//! types checked and coerced as Spark coerces them, and each expression
//! named as Spark names an unaliased column (`(price * 2)`). Evaluation
//! follows Spark's semantics: SQL's three-valued logic, Spark's ordering of
//! doubles (NaN equals NaN and sorts above every number, `-0.0 = 0.0`),
//! integer arithmetic in the column's width, and, with `ansi` on (Spark 4's
//! default, `spark.sql.ansi.enabled`), an error for an overflow, a division
//! by zero or a malformed cast where legacy mode gives NULL.
//!
//! - `compile`: the AST to a typed [`Expr`], with positions in errors.
//! - `eval`: evaluating an [`Expr`] on a row of cells.
//! - `cast`: Spark's casts between the column types.
//! - `func`: the functions (`round`, `substring`, `date_format`, …).
//! - `rows`: reading input rows (typed columns or raw JSON) as cells.

mod cast;
mod compile;
mod eval;
mod func;
pub mod rows;

pub use compile::{Cmp, Expr, Selected};
pub use eval::{compare_doubles, holds};

use sluice_sdk::{Config, ConfigKey, Error, Field, key};
use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::{Parser, ParserError};
use std::fmt;

/// An expression that does not parse or does not type-check.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlError {
    /// Character position (0-based) of the problem in the text.
    pub position: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

/// How expressions behave where Spark has a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `spark.sql.ansi.enabled`: an integer overflow, a division by zero or
    /// a malformed cast is an error (the record's) instead of NULL.
    pub ansi: bool,
}

impl Options {
    /// The `ansi` config key, as the SQL plugins document it.
    pub fn key() -> ConfigKey {
        key(
            "ansi",
            "spark.sql.ansi.enabled: true makes an overflow, a division by zero or a malformed cast the record's error; false makes it NULL",
            Some("true"),
        )
    }

    /// Reads the `ansi` key (true unless given).
    pub fn from_config(config: &mut Config) -> Result<Options, Error> {
        Ok(Options {
            ansi: config.parse_or("ansi", true)?,
        })
    }
}

impl Default for Options {
    fn default() -> Self {
        Options { ansi: true }
    }
}

/// Compiles a boolean predicate (`schema_filter`'s `where`, Spark's
/// `df.filter("…")`) over the columns `fields`.
pub fn predicate(text: &str, fields: &[Field], options: Options) -> Result<Expr, SqlError> {
    let mut parser = parser(text)?;
    let ast = parser.parse_expr().map_err(|e| parse_error(text, e))?;
    end(text, &mut parser)?;
    compile::Compiler::new(text, fields, options).predicate(&ast)
}

/// Compiles a select list (`select`'s `exprs`, Spark's `df.selectExpr(…)`):
/// comma-separated expressions, each optionally `AS name`, and `*` for every
/// input column.
pub fn select_list(
    text: &str,
    fields: &[Field],
    options: Options,
) -> Result<Vec<Selected>, SqlError> {
    let mut parser = parser(text)?;
    let items = parser
        .parse_comma_separated(Parser::parse_select_item)
        .map_err(|e| parse_error(text, e))?;
    end(text, &mut parser)?;
    let compiler = compile::Compiler::new(text, fields, options);
    let mut selected = Vec::new();
    for item in &items {
        compiler.select_item(item, &mut selected)?;
    }
    Ok(selected)
}

fn parser(text: &str) -> Result<Parser<'static>, SqlError> {
    static DIALECT: DatabricksDialect = DatabricksDialect {};
    Parser::new(&DIALECT)
        .with_recursion_limit(64)
        .try_with_sql(text)
        .map_err(|e| parse_error(text, e))
}

/// Fails unless the parser consumed the whole text.
fn end(text: &str, parser: &mut Parser<'_>) -> Result<(), SqlError> {
    let next = parser.peek_token();
    if next.token == sqlparser::tokenizer::Token::EOF {
        return Ok(());
    }
    Err(SqlError {
        position: position(text, next.span.start.line, next.span.start.column),
        message: format!("expected an operator or the end, found {}", next.token),
    })
}

/// sqlparser's message, with its `at Line: L, Column: C` turned into our
/// 0-based character position (the end of the text when it has none: the
/// parser ran out of input).
fn parse_error(text: &str, error: ParserError) -> SqlError {
    let message = match error {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return SqlError {
                position: 0,
                message: "the expression nests too deeply (more than 64 levels)".into(),
            };
        }
    };
    let (message, at) = match message.rsplit_once(" at Line: ") {
        Some((message, at)) => (message.to_string(), Some(at.to_string())),
        None => (message, None),
    };
    let position = at
        .and_then(|at| {
            let (line, column) = at.split_once(", Column: ")?;
            Some(position(text, line.parse().ok()?, column.parse().ok()?))
        })
        .unwrap_or_else(|| text.chars().count());
    let message = if message.starts_with("No infix parser for token") {
        let found = text.chars().nth(position).unwrap_or(' ');
        format!("unexpected {found:?}")
    } else if message.contains("after IS") {
        "expected NULL, NOT NULL, TRUE or FALSE after IS".to_string()
            + message.split(" after IS").nth(1).unwrap_or_default()
    } else if let Some(rest) = message.strip_prefix("Unterminated") {
        format!("unterminated{rest}")
    } else {
        message
    };
    let message = message
        .replace("Expected: ", "expected ")
        .replace(", found: EOF", ", found the end")
        .replace(", found: ", ", found ");
    SqlError { position, message }
}

/// The 0-based character position of sqlparser's 1-based line and column.
pub(crate) fn position(text: &str, line: u64, column: u64) -> usize {
    let before: usize = text
        .split('\n')
        .take(line.saturating_sub(1) as usize)
        .map(|l| l.chars().count() + 1)
        .sum();
    before + column.saturating_sub(1) as usize
}
