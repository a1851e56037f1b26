//! Evaluating a compiled [`Expr`] on one row of cells.

use crate::cast::cast;
use crate::compile::{Arith, Cmp, Expr, Node};
use crate::func::{Func, arithmetic_overflow};
use sluice_sdk::FieldType;
use sluice_sdk::value::Cell;
use std::cmp::Ordering;

/// Spark's ordering of doubles (`SQLOrderingUtil.compareDoubles`): NaN
/// equals NaN and is above every other value; `-0.0` equals `0.0`.
pub fn compare_doubles(a: f64, b: f64) -> Ordering {
    if a == b {
        Ordering::Equal
    } else {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        }
    }
}

/// Whether `ordering` satisfies `op` (`NullSafeEq` as `Eq`).
pub fn holds(op: Cmp, ordering: Ordering) -> bool {
    match op {
        Cmp::Eq | Cmp::NullSafeEq => ordering == Ordering::Equal,
        Cmp::Lt => ordering == Ordering::Less,
        Cmp::Le => ordering != Ordering::Greater,
        Cmp::Gt => ordering == Ordering::Greater,
        Cmp::Ge => ordering != Ordering::Less,
    }
}

/// Orders two non-null cells of one type.
fn order(a: &Cell<'_>, b: &Cell<'_>) -> Ordering {
    match (a, b) {
        (Cell::F64(x), Cell::F64(y)) => compare_doubles(*x, *y),
        (Cell::I64(x), Cell::I64(y)) | (Cell::Micros(x), Cell::Micros(y)) => x.cmp(y),
        // UTF-8 byte order is code point order, as Spark's UTF8String compares.
        (Cell::Str(x), Cell::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Cell::Bool(x), Cell::Bool(y)) => x.cmp(y),
        (Cell::Bytes(x), Cell::Bytes(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

impl Expr {
    /// Evaluates this expression on `row` (one cell per input field).
    /// `Err` is the record's error (an ANSI-mode overflow, division by zero
    /// or malformed cast), in Spark's words.
    pub fn eval<'a>(&'a self, row: &[Cell<'a>]) -> Result<Cell<'a>, String> {
        Ok(match &self.node {
            Node::Column(i) => row.get(*i).cloned().unwrap_or(Cell::Null),
            // Borrowed: a string constant is not copied per record.
            Node::Literal(Cell::Str(s)) => Cell::Str(std::borrow::Cow::Borrowed(s)),
            Node::Literal(Cell::Bytes(b)) => Cell::Bytes(std::borrow::Cow::Borrowed(b)),
            Node::Literal(cell) => cell.clone(),
            Node::Arith { op, l, r, ansi } => {
                let (a, b) = (l.eval(row)?, r.eval(row)?);
                if a == Cell::Null || b == Cell::Null {
                    return Ok(Cell::Null);
                }
                arith(*op, a, b, self.ty, *ansi)?
            }
            Node::Neg(e, ansi) => match e.eval(row)? {
                Cell::I64(n) => {
                    let min = if self.ty == Some(FieldType::Integer) {
                        i64::from(i32::MIN)
                    } else {
                        i64::MIN
                    };
                    match (n == min, ansi) {
                        (true, true) => return Err(arithmetic_overflow(self.ty)),
                        (true, false) => Cell::I64(n),
                        _ => Cell::I64(-n),
                    }
                }
                Cell::F64(x) => Cell::F64(-x),
                other => other,
            },
            Node::Cmp(op, l, r) => {
                let (a, b) = (l.eval(row)?, r.eval(row)?);
                match (&a, &b, op) {
                    (Cell::Null, Cell::Null, Cmp::NullSafeEq) => Cell::Bool(true),
                    (Cell::Null, _, Cmp::NullSafeEq) | (_, Cell::Null, Cmp::NullSafeEq) => {
                        Cell::Bool(false)
                    }
                    (Cell::Null, _, _) | (_, Cell::Null, _) => Cell::Null,
                    _ => Cell::Bool(holds(*op, order(&a, &b))),
                }
            }
            Node::And(l, r) => match l.eval(row)? {
                Cell::Bool(false) => Cell::Bool(false),
                left => match (left, r.eval(row)?) {
                    (_, Cell::Bool(false)) => Cell::Bool(false),
                    (Cell::Bool(true), Cell::Bool(true)) => Cell::Bool(true),
                    _ => Cell::Null,
                },
            },
            Node::Or(l, r) => match l.eval(row)? {
                Cell::Bool(true) => Cell::Bool(true),
                left => match (left, r.eval(row)?) {
                    (_, Cell::Bool(true)) => Cell::Bool(true),
                    (Cell::Bool(false), Cell::Bool(false)) => Cell::Bool(false),
                    _ => Cell::Null,
                },
            },
            Node::Not(e) => match e.eval(row)? {
                Cell::Bool(b) => Cell::Bool(!b),
                _ => Cell::Null,
            },
            Node::IsNull(e) => Cell::Bool(e.eval(row)? == Cell::Null),
            Node::In(e, items) => {
                let value = e.eval(row)?;
                if value == Cell::Null {
                    return Ok(Cell::Null);
                }
                let mut saw_null = false;
                for item in items {
                    match item.eval(row)? {
                        Cell::Null => saw_null = true,
                        other if order(&value, &other) == Ordering::Equal => {
                            return Ok(Cell::Bool(true));
                        }
                        _ => {}
                    }
                }
                if saw_null {
                    Cell::Null
                } else {
                    Cell::Bool(false)
                }
            }
            Node::Like(e, matcher) => match e.eval(row)? {
                Cell::Str(s) => Cell::Bool(matcher.is_match(&s)),
                _ => Cell::Null,
            },
            Node::Case(branches, otherwise) => {
                for (condition, result) in branches {
                    if condition.eval(row)? == Cell::Bool(true) {
                        return result.eval(row);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row)?,
                    None => Cell::Null,
                }
            }
            Node::Cast { from, ansi } => {
                let Some(to) = self.ty else {
                    return Ok(Cell::Null);
                };
                cast(from.eval(row)?, from.ty, to, *ansi)?
            }
            Node::Call(Func::Coalesce, args, _) => {
                for arg in args {
                    let value = arg.eval(row)?;
                    if value != Cell::Null {
                        return Ok(value);
                    }
                }
                Cell::Null
            }
            Node::Call(func, args, ansi) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    let value = arg.eval(row)?;
                    if value == Cell::Null {
                        return Ok(Cell::Null);
                    }
                    values.push(value);
                }
                func.apply(values, self.ty, *ansi)?
            }
        })
    }

    /// Whether a row passes this predicate: true, not false or unknown.
    pub fn passes(&self, row: &[Cell<'_>]) -> Result<bool, String> {
        Ok(self.eval(row)? == Cell::Bool(true))
    }
}

const DIVIDE_BY_ZERO: &str =
    "[DIVIDE_BY_ZERO] Division by zero (set ansi=false to return NULL instead)";

/// `a op b` on non-null operands already cast to the result type `ty`
/// (for `/`, both doubles). Without `ansi`, an overflow wraps around in the
/// type's width (Java's arithmetic) and a zero divisor gives NULL.
fn arith<'a>(
    op: Arith,
    a: Cell<'a>,
    b: Cell<'a>,
    ty: crate::compile::Ty,
    ansi: bool,
) -> Result<Cell<'a>, String> {
    let zero = || {
        if ansi {
            Err(DIVIDE_BY_ZERO.to_string())
        } else {
            Ok(Cell::Null)
        }
    };
    match (a, b) {
        (Cell::I64(x), Cell::I64(y)) => {
            let int = ty == Some(FieldType::Integer);
            let result = match op {
                Arith::Add => x.checked_add(y),
                Arith::Sub => x.checked_sub(y),
                Arith::Mul => x.checked_mul(y),
                Arith::Rem if y == 0 => return zero(),
                // Java's remainder: the sign of the dividend; MIN % -1 is 0.
                Arith::Rem => Some(x.checked_rem(y).unwrap_or(0)),
                Arith::Div => unreachable!("`/` is compiled on doubles"),
            };
            match result {
                Some(n) if !int || i32::try_from(n).is_ok() => Ok(Cell::I64(n)),
                _ if ansi => Err(arithmetic_overflow(ty)),
                _ => {
                    let wrapped = match op {
                        Arith::Add => x.wrapping_add(y),
                        Arith::Sub => x.wrapping_sub(y),
                        _ => x.wrapping_mul(y),
                    };
                    Ok(Cell::I64(if int {
                        i64::from(wrapped as i32)
                    } else {
                        wrapped
                    }))
                }
            }
        }
        (Cell::F64(x), Cell::F64(y)) => {
            let float = ty == Some(FieldType::Float);
            let result = match op {
                Arith::Add => x + y,
                Arith::Sub => x - y,
                Arith::Mul => x * y,
                // Spark checks the divisor of `/` and `%` for zero, doubles too.
                Arith::Div | Arith::Rem if y == 0.0 => return zero(),
                Arith::Div => x / y,
                Arith::Rem => x % y,
            };
            Ok(Cell::F64(if float {
                f64::from(result as f32)
            } else {
                result
            }))
        }
        _ => Ok(Cell::Null),
    }
}
