//! From sqlparser's AST to a typed [`Expr`]: columns resolved, types
//! checked and coerced as Spark's analyzer does, and names built as Spark
//! names an unaliased column.

use crate::func::Func;
use crate::{Options, SqlError, position};
use sluice_sdk::value::{Cell, java_double};
use sluice_sdk::{Field, FieldType};
use sqlparser::ast::{
    self, BinaryOperator, CastKind, CeilFloorKind, DateTimeField, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, SelectItem, UnaryOperator, Value,
};
use sqlparser::tokenizer::Span;

/// A column type, or `None` for the type of a bare `NULL`.
pub type Ty = Option<FieldType>;

/// A compiled expression: what it computes, its Spark type and its Spark
/// name.
#[derive(Debug, Clone)]
pub struct Expr {
    pub(crate) node: Node,
    pub(crate) ty: Ty,
    pub(crate) name: String,
}

/// One output column of a select list.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The column's name: its alias, or the name Spark generates.
    pub name: String,
    /// What computes it.
    pub expr: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Comparison operators (`!=` compiles to `NOT =`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `<=>`: equal, with NULL equal to NULL
    NullSafeEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Column(usize),
    Literal(Cell<'static>),
    Arith {
        op: Arith,
        l: Box<Expr>,
        r: Box<Expr>,
        ansi: bool,
    },
    Neg(Box<Expr>, bool),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    IsNull(Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Like(Box<Expr>, Matcher),
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>),
    Cast {
        from: Box<Expr>,
        ansi: bool,
    },
    Call(Func, Vec<Expr>, bool),
}

impl Expr {
    /// How an error message shows this expression: its name, with a string
    /// literal in quotes.
    pub(crate) fn shown(&self) -> String {
        match &self.node {
            Node::Literal(Cell::Str(s)) => format!("'{s}'"),
            _ => self.name.clone(),
        }
    }

    /// The Spark type of the result (`None` for a bare NULL).
    pub fn ty(&self) -> Ty {
        self.ty
    }

    /// The name Spark gives this expression as an unaliased column.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `column op number` on a double column: the case a filter can run as
    /// one loop over the column.
    pub fn column_vs_number(&self) -> Option<(usize, Cmp, f64)> {
        let Node::Cmp(op, left, right) = &self.node else {
            return None;
        };
        match (&left.node, &right.node, left.ty) {
            (Node::Column(c), Node::Literal(Cell::F64(n)), Some(FieldType::Double)) => {
                Some((*c, *op, *n))
            }
            _ => None,
        }
    }
}

pub(crate) struct Compiler<'a> {
    text: &'a str,
    fields: &'a [Field],
    options: Options,
}

fn numeric_rank(ty: FieldType) -> Option<u8> {
    match ty {
        FieldType::Integer => Some(1),
        FieldType::Long => Some(2),
        FieldType::Float => Some(3),
        FieldType::Double => Some(4),
        _ => None,
    }
}

fn is_numeric(ty: Ty) -> bool {
    ty.is_some_and(|t| numeric_rank(t).is_some())
}

/// Spark's SQL name of a type, as `CAST(x AS INT)` shows it.
pub(crate) fn sql_type(ty: Ty) -> &'static str {
    match ty {
        None => "VOID",
        Some(FieldType::String) => "STRING",
        Some(FieldType::Double) => "DOUBLE",
        Some(FieldType::Float) => "FLOAT",
        Some(FieldType::Long) => "BIGINT",
        Some(FieldType::Integer) => "INT",
        Some(FieldType::Boolean) => "BOOLEAN",
        Some(FieldType::Binary) => "BINARY",
        Some(FieldType::Timestamp) => "TIMESTAMP",
        Some(FieldType::Struct) => "STRUCT",
    }
}

pub(crate) fn type_word(ty: Ty) -> &'static str {
    match ty {
        None => "null",
        Some(t) => sluice_sdk::schema::type_name(t),
    }
}

/// The names in `known` close to `name`, for "did you mean" hints.
pub(crate) fn close_matches<'k>(name: &str, known: impl Iterator<Item = &'k str>) -> Vec<&'k str> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(f64, &str)> = known
        .map(|k| (strsim::jaro_winkler(&lower, &k.to_lowercase()), k))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(text: &'a str, fields: &'a [Field], options: Options) -> Self {
        Compiler {
            text,
            fields,
            options,
        }
    }

    pub(crate) fn ansi(&self) -> bool {
        self.options.ansi
    }

    fn err<T>(&self, span: Span, message: impl Into<String>) -> Result<T, SqlError> {
        Err(SqlError {
            position: position(self.text, span.start.line, span.start.column),
            message: message.into(),
        })
    }

    pub(crate) fn predicate(&self, ast: &ast::Expr) -> Result<Expr, SqlError> {
        let expr = self.expr(ast)?;
        match expr.ty {
            Some(FieldType::Boolean) | None => Ok(expr),
            ty => self.err(
                ast::Spanned::span(ast),
                format!(
                    "a predicate must be boolean, but {} is {}",
                    expr.shown(),
                    type_word(ty)
                ),
            ),
        }
    }

    pub(crate) fn select_item(
        &self,
        item: &SelectItem,
        out: &mut Vec<Selected>,
    ) -> Result<(), SqlError> {
        match item {
            SelectItem::UnnamedExpr(ast) => {
                let expr = self.expr(ast)?;
                out.push(Selected {
                    name: expr.name.clone(),
                    expr,
                });
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let expr = self.expr(expr)?;
                out.push(Selected {
                    name: alias.value.clone(),
                    expr,
                });
            }
            SelectItem::Wildcard(_) => {
                for (i, field) in self.fields.iter().enumerate() {
                    if field.parent.is_none() {
                        out.push(Selected {
                            name: field.name.clone(),
                            expr: Expr {
                                node: Node::Column(i),
                                ty: Some(field.ty),
                                name: field.name.clone(),
                            },
                        });
                    }
                }
            }
            other => {
                return self.err(
                    ast::Spanned::span(other),
                    format!("{other} is not supported in a select list"),
                );
            }
        }
        Ok(())
    }

    fn column(&self, ident: &Ident) -> Result<Expr, SqlError> {
        let top = || {
            self.fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.parent.is_none())
        };
        // Spark resolves names case-insensitively (spark.sql.caseSensitive=false).
        let found = top()
            .find(|(_, f)| f.name == ident.value)
            .or_else(|| top().find(|(_, f)| f.name.eq_ignore_ascii_case(&ident.value)));
        match found {
            Some((_, field)) if field.ty == FieldType::Struct => self.err(
                ident.span,
                format!(
                    "column {:?} is a struct; struct columns are not supported in expressions yet",
                    field.name
                ),
            ),
            Some((i, field)) => Ok(Expr {
                node: Node::Column(i),
                ty: Some(field.ty),
                name: ident.value.clone(),
            }),
            None => {
                let names: Vec<&str> = top().map(|(_, f)| f.name.as_str()).collect();
                let close = close_matches(&ident.value, names.iter().copied());
                let hint = if close.is_empty() {
                    format!("columns: {}", names.join(", "))
                } else {
                    format!("did you mean {}?", close.join(", "))
                };
                self.err(
                    ident.span,
                    format!("unknown column {:?} ({hint})", ident.value),
                )
            }
        }
    }

    fn literal(&self, value: &Value, span: Span) -> Result<Expr, SqlError> {
        let (cell, ty, name) = match value {
            Value::Number(text, _) => number(text).ok_or_else(|| SqlError {
                position: position(self.text, span.start.line, span.start.column),
                message: format!("{text} is not a number"),
            })?,
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => (
                Cell::Str(s.clone().into()),
                Some(FieldType::String),
                s.clone(),
            ),
            Value::Boolean(b) => (Cell::Bool(*b), Some(FieldType::Boolean), b.to_string()),
            Value::Null => (Cell::Null, None, "NULL".into()),
            other => return self.err(span, format!("the literal {other} is not supported")),
        };
        Ok(Expr {
            node: Node::Literal(cell),
            ty,
            name,
        })
    }

    pub(crate) fn expr(&self, ast: &ast::Expr) -> Result<Expr, SqlError> {
        use ast::Expr as A;
        let span = ast::Spanned::span(ast);
        match ast {
            A::Identifier(ident) => self.column(ident),
            A::CompoundIdentifier(parts) => match parts.as_slice() {
                [one] => self.column(one),
                _ => self.err(
                    span,
                    format!("{ast} names a struct field; struct fields are not supported in expressions yet"),
                ),
            },
            A::Value(v) => self.literal(&v.value, v.span),
            A::Nested(inner) => self.expr(inner),
            A::UnaryOp { op, expr } => self.unary(*op, expr, span),
            A::BinaryOp { left, op, right } => self.binary(left, op, right, span),
            A::IsNull(e) | A::IsNotNull(e) => {
                let inner = self.expr(e)?;
                let negated = matches!(ast, A::IsNotNull(_));
                let name = format!(
                    "({} IS {}NULL)",
                    inner.name,
                    if negated { "NOT " } else { "" }
                );
                let test = boolean(Node::IsNull(Box::new(inner)), name.clone());
                Ok(if negated { not(test, name) } else { test })
            }
            A::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => self.in_list(expr, list, *negated),
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let value = self.expr(expr)?;
                let low = self.expr(low)?;
                let high = self.expr(high)?;
                let name = format!("between({}, {}, {})", value.name, low.name, high.name);
                let ge = self.compare(Cmp::Ge, value.clone(), low, span)?;
                let le = self.compare(Cmp::Le, value, high, span)?;
                let both = boolean(Node::And(Box::new(ge), Box::new(le)), name.clone());
                Ok(if *negated {
                    not(both, format!("(NOT {name})"))
                } else {
                    both
                })
            }
            A::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            }
            | A::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => {
                let insensitive = matches!(ast, A::ILike { .. });
                self.like(expr, pattern, escape_char.as_deref(), *negated, insensitive)
            }
            A::RLike {
                negated,
                expr,
                pattern,
                ..
            } => self.rlike(expr, pattern, *negated),
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref(), span),
            A::Cast {
                kind,
                expr,
                data_type,
                format: None,
            } => {
                let inner = self.expr(expr)?;
                let Some(to) = data_type_of(data_type) else {
                    return self.err(
                        span,
                        format!(
                            "CAST to {data_type} is not supported (types: string, double, float, bigint, int, boolean, binary, timestamp)"
                        ),
                    );
                };
                // Spark names a cast column by what it casts: `CAST(price AS INT)`
                // is the column `price`.
                let try_ = matches!(kind, CastKind::TryCast | CastKind::SafeCast);
                self.cast_to(inner, to, span, !try_ && self.options.ansi)
            }
            A::Floor { expr, field } | A::Ceil { expr, field } => {
                if !matches!(field, CeilFloorKind::DateTimeField(DateTimeField::NoDateTime)) {
                    return self.err(span, "FLOOR/CEIL take one argument here");
                }
                let (func, called) = if matches!(ast, A::Floor { .. }) {
                    (Func::Floor, "floor")
                } else {
                    (Func::Ceil, "ceil")
                };
                self.call(func, called, vec![self.expr(expr)?], span)
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                shorthand,
                ..
            } => {
                let mut args = vec![self.expr(expr)?];
                for arg in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.expr(arg)?);
                }
                let called = if *shorthand { "substr" } else { "substring" };
                self.call(Func::Substring, called, args, span)
            }
            A::Function(function) => self.function(function, span),
            other => self.err(
                span,
                format!("{other} is not supported (see docs/sql.md for what is)"),
            ),
        }
    }

    fn unary(&self, op: UnaryOperator, expr: &ast::Expr, span: Span) -> Result<Expr, SqlError> {
        let inner = self.expr(expr)?;
        match op {
            UnaryOperator::Not => {
                self.expect_boolean(&inner, span)?;
                let name = format!("(NOT {})", inner.name);
                Ok(not(inner, name))
            }
            UnaryOperator::Plus if is_numeric(inner.ty) => Ok(inner),
            UnaryOperator::Minus => match inner.node {
                // A negative literal is a literal in Spark: `-1`, not `(- 1)`.
                Node::Literal(Cell::I64(n)) => {
                    let cell = Cell::I64(-n);
                    let ty = match inner.ty {
                        Some(FieldType::Long) if -n >= i64::from(i32::MIN) => {
                            Some(FieldType::Integer)
                        }
                        ty => ty,
                    };
                    Ok(Expr {
                        node: Node::Literal(cell),
                        ty,
                        name: format!("-{}", inner.name),
                    })
                }
                Node::Literal(Cell::F64(x)) => Ok(Expr {
                    node: Node::Literal(Cell::F64(-x)),
                    ty: inner.ty,
                    name: format!("-{}", inner.name),
                }),
                _ if is_numeric(inner.ty) || inner.ty.is_none() => Ok(Expr {
                    name: format!("(- {})", inner.name),
                    ty: inner.ty,
                    node: Node::Neg(Box::new(inner), self.options.ansi),
                }),
                _ => self.err(
                    span,
                    format!("cannot negate {} ({})", inner.name, type_word(inner.ty)),
                ),
            },
            other => self.err(span, format!("the operator {other} is not supported")),
        }
    }

    fn binary(
        &self,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
        span: Span,
    ) -> Result<Expr, SqlError> {
        let l = self.expr(left)?;
        let r = self.expr(right)?;
        use BinaryOperator as B;
        let arith = |a| self.arith(a, l.clone(), r.clone(), op, span);
        let cmp = |c| self.compare(c, l.clone(), r.clone(), span);
        match op {
            B::Plus => arith(Arith::Add),
            B::Minus => arith(Arith::Sub),
            B::Multiply => arith(Arith::Mul),
            B::Divide => arith(Arith::Div),
            B::Modulo => arith(Arith::Rem),
            B::Eq => cmp(Cmp::Eq),
            B::Spaceship => cmp(Cmp::NullSafeEq),
            B::Lt => cmp(Cmp::Lt),
            B::LtEq => cmp(Cmp::Le),
            B::Gt => cmp(Cmp::Gt),
            B::GtEq => cmp(Cmp::Ge),
            B::NotEq => {
                let eq = cmp(Cmp::Eq)?;
                let name = format!("(NOT {})", eq.name);
                Ok(not(eq, name))
            }
            B::And | B::Or => {
                self.expect_boolean(&l, ast::Spanned::span(left))?;
                self.expect_boolean(&r, ast::Spanned::span(right))?;
                let and = matches!(op, B::And);
                let name = format!("({} {} {})", l.name, if and { "AND" } else { "OR" }, r.name);
                let node = if and {
                    Node::And(Box::new(l), Box::new(r))
                } else {
                    Node::Or(Box::new(l), Box::new(r))
                };
                Ok(boolean(node, name))
            }
            B::StringConcat => self.call(Func::Concat, "concat", vec![l, r], span),
            other => self.err(span, format!("the operator {other} is not supported")),
        }
    }

    fn expect_boolean(&self, e: &Expr, span: Span) -> Result<(), SqlError> {
        match e.ty {
            Some(FieldType::Boolean) | None => Ok(()),
            ty => self.err(
                span,
                format!("expected a boolean, but {} is {}", e.shown(), type_word(ty)),
            ),
        }
    }

    fn arith(
        &self,
        op: Arith,
        l: Expr,
        r: Expr,
        sql: &BinaryOperator,
        span: Span,
    ) -> Result<Expr, SqlError> {
        let name = format!("({} {sql} {})", l.name, r.name);
        for side in [&l, &r] {
            if !is_numeric(side.ty) && side.ty.is_some() {
                return self.err(
                    span,
                    format!(
                        "cannot apply {sql} to {} ({}); CAST it to a number first",
                        side.shown(),
                        type_word(side.ty)
                    ),
                );
            }
        }
        let ty = if op == Arith::Div {
            // Spark's `/` is always fractional: int / int is a double.
            Some(FieldType::Double)
        } else {
            wider(l.ty, r.ty).or(Some(FieldType::Integer))
        };
        let Some(to) = ty else { unreachable!() };
        let l = self.cast_to(l, to, span, true)?;
        let r = self.cast_to(r, to, span, true)?;
        Ok(Expr {
            node: Node::Arith {
                op,
                l: Box::new(l),
                r: Box::new(r),
                ansi: self.options.ansi,
            },
            ty,
            name,
        })
    }

    /// The common type two operands are compared in, as Spark coerces them:
    /// numbers to the wider number, a string to a timestamp beside a
    /// timestamp, NULL to anything.
    fn common(&self, l: &Expr, r: &Expr) -> Option<Ty> {
        match (l.ty, r.ty) {
            (None, t) | (t, None) => Some(t),
            (Some(a), Some(b)) if a == b => Some(Some(a)),
            (a, b) if is_numeric(a) && is_numeric(b) => Some(wider(a, b)),
            (Some(FieldType::Timestamp), Some(FieldType::String))
            | (Some(FieldType::String), Some(FieldType::Timestamp)) => {
                Some(Some(FieldType::Timestamp))
            }
            _ => None,
        }
    }

    pub(crate) fn compare(&self, op: Cmp, l: Expr, r: Expr, span: Span) -> Result<Expr, SqlError> {
        let symbol = match op {
            Cmp::Eq => "=",
            Cmp::NullSafeEq => "<=>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        };
        let name = format!("({} {symbol} {})", l.name, r.name);
        let Some(ty) = self.common(&l, &r) else {
            return self.err(
                span,
                format!(
                    "cannot compare {} ({}) with {} ({})",
                    l.shown(),
                    type_word(l.ty),
                    r.shown(),
                    type_word(r.ty)
                ),
            );
        };
        let (l, r) = match ty {
            Some(to) => (
                self.cast_to(l, to, span, self.options.ansi)?,
                self.cast_to(r, to, span, self.options.ansi)?,
            ),
            None => (l, r),
        };
        Ok(boolean(Node::Cmp(op, Box::new(l), Box::new(r)), name))
    }

    fn in_list(&self, e: &ast::Expr, list: &[ast::Expr], negated: bool) -> Result<Expr, SqlError> {
        let value = self.expr(e)?;
        let mut items = Vec::new();
        let mut ty = value.ty;
        for item in list {
            let item = self.expr(item)?;
            let probe = Expr {
                ty,
                ..value.clone()
            };
            match self.common(&probe, &item) {
                Some(t) => ty = t,
                None => {
                    return self.err(
                        ast::Spanned::span(e),
                        format!(
                            "cannot compare {} ({}) with {} ({}) in IN",
                            value.shown(),
                            type_word(value.ty),
                            item.shown(),
                            type_word(item.ty)
                        ),
                    );
                }
            }
            items.push(item);
        }
        let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        let name = format!("({} IN ({}))", value.name, names.join(", "));
        let span = ast::Spanned::span(e);
        let (value, items) = match ty {
            Some(to) => (
                self.cast_to(value, to, span, self.options.ansi)?,
                items
                    .into_iter()
                    .map(|i| self.cast_to(i, to, span, self.options.ansi))
                    .collect::<Result<_, _>>()?,
            ),
            None => (value, items),
        };
        let test = boolean(Node::In(Box::new(value), items), name.clone());
        Ok(if negated {
            not(test, format!("(NOT {name})"))
        } else {
            test
        })
    }

    fn pattern_text(&self, pattern: &ast::Expr) -> Result<(String, String), SqlError> {
        let p = self.expr(pattern)?;
        match &p.node {
            Node::Literal(Cell::Str(s)) => Ok((s.to_string(), p.name)),
            _ => self.err(
                ast::Spanned::span(pattern),
                "the pattern must be a string literal",
            ),
        }
    }

    fn like(
        &self,
        e: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        negated: bool,
        insensitive: bool,
    ) -> Result<Expr, SqlError> {
        let value = self.as_string(self.expr(e)?, ast::Spanned::span(e))?;
        let (text, shown) = self.pattern_text(pattern)?;
        let escape = match escape {
            None => '\\',
            Some(ast::Expr::Value(v)) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s)
                    if s.chars().count() == 1 =>
                {
                    s.chars().next().unwrap_or('\\')
                }
                _ => return self.err(v.span, "ESCAPE takes one character"),
            },
            Some(other) => {
                return self.err(ast::Spanned::span(other), "ESCAPE takes one character");
            }
        };
        let matcher = like_matcher(&text, escape, insensitive).map_err(|message| SqlError {
            position: position(
                self.text,
                ast::Spanned::span(pattern).start.line,
                ast::Spanned::span(pattern).start.column,
            ),
            message,
        })?;
        let name = if insensitive {
            format!("ilike({}, {shown})", value.name)
        } else {
            format!("{} LIKE {shown}", value.name)
        };
        let test = boolean(Node::Like(Box::new(value), matcher), name.clone());
        Ok(if negated {
            not(test, format!("(NOT {name})"))
        } else {
            test
        })
    }

    fn rlike(&self, e: &ast::Expr, pattern: &ast::Expr, negated: bool) -> Result<Expr, SqlError> {
        let value = self.as_string(self.expr(e)?, ast::Spanned::span(e))?;
        let (text, shown) = self.pattern_text(pattern)?;
        let span = ast::Spanned::span(pattern);
        let regex = regex_lite::Regex::new(&text).or_else(|e| {
            self.err(
                span,
                format!("the regular expression {text:?} does not compile: {e}"),
            )
        })?;
        let name = format!("RLIKE({}, {shown})", value.name);
        let test = boolean(
            Node::Like(Box::new(value), Matcher::Regex(regex)),
            name.clone(),
        );
        Ok(if negated {
            not(test, format!("(NOT {name})"))
        } else {
            test
        })
    }

    fn case(
        &self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        otherwise: Option<&ast::Expr>,
        span: Span,
    ) -> Result<Expr, SqlError> {
        let operand = operand.map(|o| self.expr(o)).transpose()?;
        let mut name = String::from("CASE");
        let mut branches = Vec::new();
        let mut ty: Ty = None;
        let mut results = Vec::new();
        for when in conditions {
            let condition = self.expr(&when.condition)?;
            let result = self.expr(&when.result)?;
            let condition = match &operand {
                Some(o) => self.compare(
                    Cmp::Eq,
                    o.clone(),
                    condition,
                    ast::Spanned::span(&when.condition),
                )?,
                None => {
                    self.expect_boolean(&condition, ast::Spanned::span(&when.condition))?;
                    condition
                }
            };
            // Spark shows `CASE x WHEN 1 …` as `CASE WHEN (x = 1) …`.
            name.push_str(&format!(" WHEN {} THEN {}", condition.name, result.name));
            ty = self.result_type(ty, &result, ast::Spanned::span(&when.result))?;
            branches.push(condition);
            results.push(result);
        }
        let otherwise = match otherwise {
            Some(e) => {
                let e2 = self.expr(e)?;
                name.push_str(&format!(" ELSE {}", e2.name));
                ty = self.result_type(ty, &e2, ast::Spanned::span(e))?;
                Some(e2)
            }
            None => None,
        };
        name.push_str(" END");
        let cast = |e: Expr| match ty {
            Some(to) => self.cast_to(e, to, span, true),
            None => Ok(e),
        };
        let mut pairs = Vec::new();
        for (c, r) in branches.into_iter().zip(results) {
            pairs.push((c, cast(r)?));
        }
        let otherwise = otherwise.map(cast).transpose()?.map(Box::new);
        Ok(Expr {
            node: Node::Case(pairs, otherwise),
            ty,
            name,
        })
    }

    /// The common type of a CASE / coalesce so far and one more result.
    pub(crate) fn result_type(&self, so_far: Ty, next: &Expr, span: Span) -> Result<Ty, SqlError> {
        match (so_far, next.ty) {
            (None, t) | (t, None) => Ok(t),
            (Some(a), Some(b)) if a == b => Ok(Some(a)),
            (a, b) if is_numeric(a) && is_numeric(b) => Ok(wider(a, b)),
            (a, b) => self.err(
                span,
                format!(
                    "{} is {}, but the other results are {}; CAST them to one type",
                    next.shown(),
                    type_word(b),
                    type_word(a)
                ),
            ),
        }
    }

    /// `e` as type `to`: itself, or wrapped in a cast. Refuses what Spark's
    /// implicit and explicit casts refuse.
    pub(crate) fn cast_to(
        &self,
        e: Expr,
        to: FieldType,
        span: Span,
        ansi: bool,
    ) -> Result<Expr, SqlError> {
        if e.ty == Some(to) {
            return Ok(e);
        }
        if let Some(from) = e.ty
            && !crate::cast::can_cast(from, to)
        {
            return self.err(
                span,
                format!(
                    "cannot cast {} from {} to {}",
                    e.shown(),
                    type_word(Some(from)),
                    type_word(Some(to))
                ),
            );
        }
        // Constant casts are done once, here: a bad one is a config error
        // (NULL without `ansi`, or in TRY_CAST).
        if let Node::Literal(cell) = &e.node {
            return match crate::cast::cast(cell.clone(), e.ty, to, ansi) {
                Ok(cell) => Ok(Expr {
                    node: Node::Literal(owned(cell)),
                    ty: Some(to),
                    name: e.name,
                }),
                Err(why) => self.err(span, why),
            };
        }
        Ok(Expr {
            name: e.name.clone(),
            ty: Some(to),
            node: Node::Cast {
                from: Box::new(e),
                ansi,
            },
        })
    }

    /// `e` as a string, as Spark implicitly casts the arguments of string
    /// functions.
    pub(crate) fn as_string(&self, e: Expr, span: Span) -> Result<Expr, SqlError> {
        match e.ty {
            None | Some(FieldType::String) => Ok(e),
            Some(FieldType::Binary) | Some(FieldType::Struct) => self.err(
                span,
                format!("{} is {}; expected a string", e.name, type_word(e.ty)),
            ),
            Some(_) => self.cast_to(e, FieldType::String, span, true),
        }
    }

    fn function(&self, function: &ast::Function, span: Span) -> Result<Expr, SqlError> {
        let name = function.name.to_string().to_lowercase();
        let Some(func) = Func::named(&name) else {
            let close = close_matches(&name, Func::NAMES.iter().copied());
            let hint = if close.is_empty() {
                format!("functions: {}", Func::NAMES.join(", "))
            } else {
                format!("did you mean {}?", close.join(", "))
            };
            return self.err(span, format!("unknown function {name} ({hint})"));
        };
        let args = match &function.args {
            FunctionArguments::None => Vec::new(),
            FunctionArguments::List(list) => {
                let mut args = Vec::new();
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(self.expr(e)?),
                        other => {
                            return self.err(
                                span,
                                format!("the argument {other} of {name} is not supported"),
                            );
                        }
                    }
                }
                args
            }
            FunctionArguments::Subquery(_) => {
                return self.err(span, "subqueries are not supported");
            }
        };
        self.call(func, &name, args, span)
    }

    fn call(
        &self,
        func: Func,
        called: &str,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<Expr, SqlError> {
        let fail = |message: String| self.err::<Expr>(span, message);
        func.compile(self, called, args, span).or_else(|e| match e {
            crate::func::CallError::Sql(e) => Err(e),
            crate::func::CallError::Message(m) => fail(m),
        })
    }
}

fn owned(cell: Cell<'_>) -> Cell<'static> {
    match cell {
        Cell::Null => Cell::Null,
        Cell::Str(s) => Cell::Str(s.into_owned().into()),
        Cell::F64(x) => Cell::F64(x),
        Cell::I64(n) => Cell::I64(n),
        Cell::Bool(b) => Cell::Bool(b),
        Cell::Bytes(b) => Cell::Bytes(b.into_owned().into()),
        Cell::Micros(t) => Cell::Micros(t),
    }
}

pub(crate) fn boolean(node: Node, name: String) -> Expr {
    Expr {
        node,
        ty: Some(FieldType::Boolean),
        name,
    }
}

fn not(e: Expr, name: String) -> Expr {
    boolean(Node::Not(Box::new(e)), name)
}

pub(crate) fn wider(a: Ty, b: Ty) -> Ty {
    match (a, b) {
        (None, t) | (t, None) => t,
        (Some(x), Some(y)) => {
            if numeric_rank(x) >= numeric_rank(y) {
                Some(x)
            } else {
                Some(y)
            }
        }
    }
}

/// A numeric literal as Spark types it: an integer that fits is an `INT`,
/// a larger one a `BIGINT`; a decimal (`0.92`, Spark's DECIMAL) and an
/// exponent form (`1e3`) are doubles here. The name is Spark's pretty form.
fn number(text: &str) -> Option<(Cell<'static>, Ty, String)> {
    if !text.contains(['.', 'e', 'E'])
        && let Ok(n) = text.parse::<i64>()
    {
        let ty = if i32::try_from(n).is_ok() {
            FieldType::Integer
        } else {
            FieldType::Long
        };
        return Some((Cell::I64(n), Some(ty), n.to_string()));
    }
    let x: f64 = text.parse().ok()?;
    let name = if text.contains(['e', 'E']) {
        java_double(x)
    } else {
        text.to_string()
    };
    Some((Cell::F64(x), Some(FieldType::Double), name))
}

/// The type a `CAST(… AS type)` names, by Spark's type names.
fn data_type_of(data_type: &ast::DataType) -> Option<FieldType> {
    let text = data_type.to_string().to_lowercase();
    let word = text.split('(').next().unwrap_or("").trim();
    Some(match word {
        "string" | "varchar" | "char" | "text" => FieldType::String,
        "double" | "float64" | "double precision" => FieldType::Double,
        "float" | "real" | "float32" => FieldType::Float,
        "bigint" | "long" | "int64" => FieldType::Long,
        "int" | "integer" | "smallint" | "tinyint" | "short" | "byte" => FieldType::Integer,
        "boolean" | "bool" => FieldType::Boolean,
        "binary" => FieldType::Binary,
        "timestamp" => FieldType::Timestamp,
        _ => return None,
    })
}

/// How a LIKE pattern or a regular expression is matched: the patterns
/// users write most (`'A%'`, `'%x'`, `'%x%'`, no `_`) as plain string tests,
/// as Spark rewrites them (StartsWith, EndsWith, Contains); others as a
/// regular expression.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    PrefixSuffix(String, String),
    Contains(String),
    Regex(regex_lite::Regex),
}

impl Matcher {
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Exact(t) => s == t,
            Matcher::Prefix(p) => s.starts_with(p.as_str()),
            Matcher::Suffix(x) => s.ends_with(x.as_str()),
            Matcher::PrefixSuffix(p, x) => {
                s.len() >= p.len() + x.len() && s.starts_with(p.as_str()) && s.ends_with(x.as_str())
            }
            Matcher::Contains(t) => s.contains(t.as_str()),
            Matcher::Regex(r) => r.is_match(s),
        }
    }
}

/// The matcher of a LIKE pattern: `%` any run, `_` one character, `escape`
/// before either (or itself) for the character itself.
fn like_matcher(pattern: &str, escape: char, insensitive: bool) -> Result<Matcher, String> {
    // The literal runs between `%`s, if the pattern has no `_`.
    let mut pieces = vec![String::new()];
    let mut simple = !insensitive;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => match chars.next() {
                Some(next) if next == '%' || next == '_' || next == escape => {
                    pieces.last_mut().unwrap_or(&mut String::new()).push(next)
                }
                _ => simple = false,
            },
            '%' => pieces.push(String::new()),
            '_' => simple = false,
            c => pieces.last_mut().unwrap_or(&mut String::new()).push(c),
        }
    }
    if simple {
        let n = pieces.len();
        let (first, last) = (&pieces[0], &pieces[n - 1]);
        let middle_empty = n < 2 || pieces[1..n - 1].iter().all(String::is_empty);
        match n {
            1 => return Ok(Matcher::Exact(pieces.swap_remove(0))),
            _ if n >= 2 && middle_empty && last.is_empty() => {
                return Ok(Matcher::Prefix(first.clone()));
            }
            _ if n >= 2 && middle_empty && first.is_empty() => {
                return Ok(Matcher::Suffix(last.clone()));
            }
            _ if n >= 2 && middle_empty => {
                return Ok(Matcher::PrefixSuffix(first.clone(), last.clone()));
            }
            3 if first.is_empty() && last.is_empty() => {
                return Ok(Matcher::Contains(pieces[1].clone()));
            }
            _ => {}
        }
    }
    like_regex(pattern, escape, insensitive).map(Matcher::Regex)
}

/// Spark's LIKE as a regular expression: `%` any run, `_` one character,
/// `escape` before either (or itself) for the character itself.
fn like_regex(pattern: &str, escape: char, insensitive: bool) -> Result<regex_lite::Regex, String> {
    let mut out = String::from(if insensitive { "(?is)^" } else { "(?s)^" });
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == escape => match chars.next() {
                Some(next @ ('%' | '_')) => out.push_str(&regex_lite::escape(&next.to_string())),
                Some(next) if next == escape => {
                    out.push_str(&regex_lite::escape(&next.to_string()))
                }
                _ => {
                    return Err(format!(
                        "the escape character {escape:?} must be followed by %, _ or itself in the LIKE pattern {pattern:?}"
                    ));
                }
            },
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex_lite::escape(&c.to_string())),
        }
    }
    out.push('$');
    regex_lite::Regex::new(&out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_shortcuts_match_as_the_regular_expression_does() {
        let patterns = [
            "A%", "%L", "%AP%", "A%L", "A%%L", "%", "%%", "", "AAPL", "A_PL", "%\\%%", "a\\_b%",
            "A%P%L",
        ];
        let texts = [
            "", "A", "AAPL", "AL", "APL", "a_b", "a_bc", "x%y", "ALA", "AP",
        ];
        for pattern in patterns {
            let quick = like_matcher(pattern, '\\', false).unwrap();
            let regex = like_regex(pattern, '\\', false).unwrap();
            for text in texts {
                assert_eq!(
                    quick.is_match(text),
                    regex.is_match(text),
                    "{text:?} LIKE {pattern:?}"
                );
            }
        }
    }
}
