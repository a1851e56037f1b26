//! The `where` predicate: a small SQL boolean expression over a row.
//!
//! ```text
//! expr      := and ("OR" and)*
//! and       := not ("AND" not)*
//! not       := "NOT" not | primary
//! primary   := "(" expr ")"
//!            | operand ( cmp operand | ["NOT"] "IN" "(" literal ("," literal)* ")"
//!                      | "IS" ["NOT"] "NULL" )?          -- bare operand: a boolean column
//! cmp       := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! operand   := column | literal
//! literal   := 'string' | "string" | number | TRUE | FALSE | NULL
//! ```
//! Keywords are case-insensitive; a column name is a bare word or `backquoted`.
//! Evaluation follows SQL's three-valued logic: a comparison with NULL is
//! unknown, and a row passes only when the whole predicate is true.

use sluice_sdk::value::Cell;
use sluice_sdk::{Field, FieldType};
use std::cmp::Ordering;
use std::fmt;

mod lexer;

use lexer::{Token, tokenize};

/// A predicate that does not parse or does not type-check.
#[derive(Debug, Clone, PartialEq)]
pub struct PredicateError {
    /// Character position (0-based) of the problem in the predicate.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PredicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

/// A literal value in a predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// 'text'
    Str(String),
    /// 42, -1.5, 1e3
    Num(f64),
    /// TRUE / FALSE
    Bool(bool),
    /// NULL
    Null,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A column, by its index in the schema.
    Column(usize),
    /// A constant.
    Literal(Literal),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// a OR b
    Or(Box<Expr>, Box<Expr>),
    /// a AND b
    And(Box<Expr>, Box<Expr>),
    /// NOT a
    Not(Box<Expr>),
    /// a op b
    Cmp(Operand, CmpOp, Operand),
    /// a [NOT] IN (x, y, ...)
    In(Operand, Vec<Literal>, bool),
    /// a IS [NOT] NULL
    IsNull(Operand, bool),
    /// a boolean column (or literal) on its own
    Truth(Operand),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Text,
    Number,
    Boolean,
    Null,
    Other,
}

struct Parser<'a> {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end: usize,
    fields: &'a [Field],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(p, _)| *p)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, PredicateError> {
        Err(PredicateError {
            position: self.at(),
            message: message.into(),
        })
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end".into(),
            Some(Token::Word(w)) => format!("{w:?}"),
            Some(Token::Quoted(w)) => format!("`{w}`"),
            Some(Token::Str(s)) => format!("'{s}'"),
            Some(Token::Num(n)) => format!("{n}"),
            Some(Token::Op(op)) => format!("{op:?}"),
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Token::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), PredicateError> {
        if self.op(op) {
            Ok(())
        } else {
            self.err(format!("expected {op:?}, found {}", self.found()))
        }
    }

    fn or(&mut self) -> Result<Expr, PredicateError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, PredicateError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, PredicateError> {
        if self.keyword("not") {
            Ok(Expr::Not(Box::new(self.not()?)))
        } else {
            self.primary()
        }
    }

    fn literal(&mut self) -> Option<Literal> {
        let lit = match self.peek()? {
            Token::Str(s) => Literal::Str(s.clone()),
            Token::Num(n) => Literal::Num(*n),
            Token::Word(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Token::Word(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Token::Word(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return None,
        };
        self.pos += 1;
        Some(lit)
    }

    fn operand(&mut self) -> Result<(usize, Operand), PredicateError> {
        let at = self.at();
        if let Some(lit) = self.literal() {
            return Ok((at, Operand::Literal(lit)));
        }
        let name = match self.peek() {
            Some(Token::Word(w)) if !is_reserved(w) => w.clone(),
            Some(Token::Quoted(w)) => w.clone(),
            _ => {
                return self.err(format!(
                    "expected a column or a value, found {}",
                    self.found()
                ));
            }
        };
        match self.fields.iter().position(|f| f.name == name) {
            Some(i) => {
                self.pos += 1;
                Ok((at, Operand::Column(i)))
            }
            None => {
                let known: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
                self.err(format!(
                    "unknown column {name:?} (columns: {})",
                    known.join(", ")
                ))
            }
        }
    }

    fn class(&self, operand: &Operand) -> Class {
        match operand {
            Operand::Column(i) => match self.fields[*i].ty {
                FieldType::Double | FieldType::Float | FieldType::Long | FieldType::Integer => {
                    Class::Number
                }
                FieldType::Boolean => Class::Boolean,
                FieldType::String | FieldType::Binary => Class::Text,
                // Microseconds, compared as numbers; a struct compares with nothing.
                FieldType::Timestamp => Class::Number,
                FieldType::Struct => Class::Other,
            },
            Operand::Literal(lit) => literal_class(lit),
        }
    }

    fn describe(&self, operand: &Operand) -> String {
        match operand {
            Operand::Column(i) => format!(
                "{} ({})",
                self.fields[*i].name,
                class_name(self.class(operand))
            ),
            Operand::Literal(Literal::Str(s)) => format!("'{s}' (string)"),
            Operand::Literal(Literal::Num(n)) => format!("{n} (number)"),
            Operand::Literal(Literal::Bool(b)) => format!("{b} (boolean)"),
            Operand::Literal(Literal::Null) => "NULL".into(),
        }
    }

    fn check(&self, at: usize, a: &Operand, b: &Operand) -> Result<(), PredicateError> {
        let (ca, cb) = (self.class(a), self.class(b));
        if ca == cb || ca == Class::Null || cb == Class::Null {
            return Ok(());
        }
        Err(PredicateError {
            position: at,
            message: format!(
                "cannot compare {} with {}",
                self.describe(a),
                self.describe(b)
            ),
        })
    }

    fn primary(&mut self) -> Result<Expr, PredicateError> {
        if self.op("(") {
            let inner = self.or()?;
            self.expect_op(")")?;
            return Ok(inner);
        }
        let (at, left) = self.operand()?;
        for (text, op) in [
            ("=", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<>", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ] {
            if self.op(text) {
                let (_, right) = self.operand()?;
                self.check(at, &left, &right)?;
                return Ok(Expr::Cmp(left, op, right));
            }
        }
        let save = self.pos;
        let negated = self.keyword("not");
        if self.keyword("in") {
            self.expect_op("(")?;
            let mut list = Vec::new();
            loop {
                let lit_at = self.at();
                let Some(lit) = self.literal() else {
                    return self.err(format!(
                        "expected a value in the IN list, found {}",
                        self.found()
                    ));
                };
                self.check(lit_at, &left, &Operand::Literal(lit.clone()))?;
                list.push(lit);
                if !self.op(",") {
                    break;
                }
            }
            self.expect_op(")")?;
            return Ok(Expr::In(left, list, negated));
        }
        if negated {
            self.pos = save;
            return self.err("expected IN after NOT");
        }
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return self.err(format!("expected NULL after IS, found {}", self.found()));
            }
            return Ok(Expr::IsNull(left, negated));
        }
        if self.class(&left) == Class::Boolean {
            return Ok(Expr::Truth(left));
        }
        self.err(format!(
            "expected a comparison (=, !=, <, <=, >, >=, IN, IS NULL) after {}, found {}",
            self.describe(&left),
            self.found()
        ))
    }
}

fn is_reserved(word: &str) -> bool {
    ["and", "or", "not", "in", "is", "null", "true", "false"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

fn literal_class(lit: &Literal) -> Class {
    match lit {
        Literal::Str(_) => Class::Text,
        Literal::Num(_) => Class::Number,
        Literal::Bool(_) => Class::Boolean,
        Literal::Null => Class::Null,
    }
}

fn class_name(class: Class) -> &'static str {
    match class {
        Class::Text => "string",
        Class::Number => "number",
        Class::Boolean => "boolean",
        Class::Null => "null",
        Class::Other => "struct",
    }
}

/// Parses `text` against the columns `fields`, checking column names and
/// that each comparison compares like with like.
pub fn parse(text: &str, fields: &[Field]) -> Result<Expr, PredicateError> {
    let tokens = tokenize(text)?;
    let end = text.chars().count();
    let mut parser = Parser {
        tokens,
        pos: 0,
        end,
        fields,
    };
    if parser.peek().is_none() {
        return parser.err("empty predicate");
    }
    let expr = parser.or()?;
    if parser.peek().is_some() {
        return parser.err(format!(
            "expected AND, OR or the end, found {}",
            parser.found()
        ));
    }
    Ok(expr)
}

enum Val<'a> {
    Null,
    Text(&'a str),
    Num(f64),
    Bool(bool),
}

fn value<'a>(operand: &'a Operand, row: &'a [Cell<'_>]) -> Val<'a> {
    match operand {
        Operand::Column(i) => match &row[*i] {
            Cell::Null => Val::Null,
            Cell::Str(s) => Val::Text(s),
            Cell::F64(v) => Val::Num(*v),
            Cell::I64(v) | Cell::Micros(v) => Val::Num(*v as f64),
            Cell::Bool(b) => Val::Bool(*b),
            Cell::Bytes(b) => Val::Text(std::str::from_utf8(b).unwrap_or("")),
        },
        Operand::Literal(lit) => literal_value(lit),
    }
}

fn literal_value(lit: &Literal) -> Val<'_> {
    match lit {
        Literal::Str(s) => Val::Text(s),
        Literal::Num(n) => Val::Num(*n),
        Literal::Bool(b) => Val::Bool(*b),
        Literal::Null => Val::Null,
    }
}

fn compare(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Text(x), Val::Text(y)) => Some(x.cmp(y)),
        // Spark orders NaN above every other double and equal to itself.
        (Val::Num(x), Val::Num(y)) => Some(match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        }),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether `op` holds between two values that compare as `ord`.
fn holds(ord: Ordering, op: CmpOp) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `x op y` on doubles with Spark's ordering (NaN above every number).
pub fn compare_numbers(x: f64, op: CmpOp, y: f64) -> bool {
    holds(
        compare(&Val::Num(x), &Val::Num(y)).unwrap_or(Ordering::Equal),
        op,
    )
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

impl Expr {
    /// `column op number` (either way round), the predicate a vectorised
    /// loop over one column can evaluate.
    pub fn column_vs_number(&self) -> Option<(usize, CmpOp, f64)> {
        match self {
            Expr::Cmp(Operand::Column(c), op, Operand::Literal(Literal::Num(n))) => {
                Some((*c, *op, *n))
            }
            Expr::Cmp(Operand::Literal(Literal::Num(n)), op, Operand::Column(c)) => {
                Some((*c, flip(*op), *n))
            }
            _ => None,
        }
    }

    /// Evaluates the predicate on a row; `None` is SQL's unknown.
    pub fn eval(&self, row: &[Cell<'_>]) -> Option<bool> {
        match self {
            Expr::Or(a, b) => match (a.eval(row), b.eval(row)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Expr::And(a, b) => match (a.eval(row), b.eval(row)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Not(a) => a.eval(row).map(|v| !v),
            Expr::Cmp(a, op, b) => Some(holds(compare(&value(a, row), &value(b, row))?, *op)),
            Expr::In(a, list, negated) => {
                let v = value(a, row);
                if matches!(v, Val::Null) {
                    return None;
                }
                let mut saw_null = false;
                for lit in list {
                    match compare(&v, &literal_value(lit)) {
                        Some(Ordering::Equal) => return Some(!negated),
                        None => saw_null = true,
                        _ => {}
                    }
                }
                if saw_null { None } else { Some(*negated) }
            }
            Expr::IsNull(a, negated) => Some(matches!(value(a, row), Val::Null) != *negated),
            Expr::Truth(a) => match value(a, row) {
                Val::Bool(b) => Some(b),
                _ => None,
            },
        }
    }
}
