//! The aggregate functions of `window_agg`, with Spark's buffers and
//! results: `avg` (a double sum and a count), `sum` (a double for floating
//! input, a long for integral), `count`, `min`, `max`.

use crate::state::Key;
use serde_json::{Value, json};
use sluice_sdk::{Cell, Field, FieldType, field};

/// One aggregate of the `agg` list.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    /// `count(*)` (`None`) or `count(column)`.
    Count(Option<String>),
    Sum(String),
    Avg(String),
    Min(String),
    Max(String),
}

/// An aggregate's running value.
#[derive(Debug, Clone, PartialEq)]
pub enum Buffer {
    Count(i64),
    /// A double sum (`None`: no value yet: the sum is null).
    SumF(Option<f64>),
    /// A long sum.
    SumI(Option<i64>),
    /// Sum (as a double, from 0.0) and count of the values.
    Avg(f64, i64),
    /// The least or greatest value so far.
    Extreme(Option<Key>),
}

/// Parses `avg(price), count(*), max(price)`.
pub fn parse_list(text: &str) -> Result<Vec<Agg>, String> {
    let mut aggs = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item.split_once('(').ok_or_else(|| {
            format!("{item:?} is not an aggregate; write e.g. avg(price) or count(*)")
        })?;
        let arg = rest
            .strip_suffix(')')
            .ok_or_else(|| format!("{item:?} lacks its closing parenthesis"))?
            .trim();
        let column = || -> Result<String, String> {
            match arg {
                "" | "*" => Err(format!("{item:?} needs a column")),
                c => Ok(c.trim_matches('`').to_string()),
            }
        };
        aggs.push(match name.trim().to_ascii_lowercase().as_str() {
            "count" if arg == "*" || arg == "1" => Agg::Count(None),
            "count" => Agg::Count(Some(column()?)),
            "sum" => Agg::Sum(column()?),
            "avg" | "mean" => Agg::Avg(column()?),
            "min" => Agg::Min(column()?),
            "max" => Agg::Max(column()?),
            other => {
                return Err(format!(
                    "unknown aggregate {other:?} in {item:?}; use avg, sum, min, max or count"
                ));
            }
        });
    }
    if aggs.is_empty() {
        return Err("give at least one aggregate, e.g. avg(price)".into());
    }
    Ok(aggs)
}

fn numeric(ty: FieldType) -> bool {
    matches!(
        ty,
        FieldType::Double | FieldType::Float | FieldType::Long | FieldType::Integer
    )
}

impl Agg {
    /// The column it reads (`None` for `count(*)`).
    pub fn column(&self) -> Option<&str> {
        match self {
            Agg::Count(c) => c.as_deref(),
            Agg::Sum(c) | Agg::Avg(c) | Agg::Min(c) | Agg::Max(c) => Some(c),
        }
    }

    /// Its output column, named as Spark names it, for input of type `input`.
    pub fn field(&self, input: Option<FieldType>) -> Result<Field, String> {
        let ty = input.unwrap_or(FieldType::Long);
        let (name, out) = match self {
            Agg::Count(None) => ("count(1)".to_string(), FieldType::Long),
            Agg::Count(Some(c)) => (format!("count({c})"), FieldType::Long),
            Agg::Sum(c) | Agg::Avg(c) if !numeric(ty) => {
                return Err(format!(
                    "{}({c}) needs a numeric column, but {c} is a {}",
                    if matches!(self, Agg::Sum(_)) {
                        "sum"
                    } else {
                        "avg"
                    },
                    sluice_sdk::schema::type_name(ty)
                ));
            }
            Agg::Sum(c) => (
                format!("sum({c})"),
                match ty {
                    FieldType::Long | FieldType::Integer => FieldType::Long,
                    _ => FieldType::Double,
                },
            ),
            Agg::Avg(c) => (format!("avg({c})"), FieldType::Double),
            Agg::Min(c) => (format!("min({c})"), ty),
            Agg::Max(c) => (format!("max({c})"), ty),
        };
        // A streaming aggregate's columns are all nullable in Spark's schema.
        Ok(field(&name, out))
    }

    /// A buffer with nothing in it.
    pub fn empty(&self) -> Buffer {
        match self {
            Agg::Count(_) => Buffer::Count(0),
            Agg::Sum(_) => Buffer::SumF(None),
            Agg::Avg(_) => Buffer::Avg(0.0, 0),
            Agg::Min(_) | Agg::Max(_) => Buffer::Extreme(None),
        }
    }

    /// Adds one row's value.
    pub fn update(&self, buffer: &mut Buffer, cell: &Cell<'_>) {
        let null = matches!(cell, Cell::Null);
        match (self, buffer) {
            (Agg::Count(None), Buffer::Count(n)) => *n += 1,
            (Agg::Count(Some(_)), Buffer::Count(n)) if !null => *n += 1,
            (Agg::Sum(_), b) => match (cell, &*b) {
                (Cell::F64(x), Buffer::SumF(s)) => *b = Buffer::SumF(Some(s.unwrap_or(0.0) + x)),
                (Cell::I64(x), Buffer::SumF(None)) => *b = Buffer::SumI(Some(*x)),
                (Cell::I64(x), Buffer::SumI(s)) => {
                    *b = Buffer::SumI(Some(s.unwrap_or(0).wrapping_add(*x)))
                }
                _ => {}
            },
            (Agg::Avg(_), Buffer::Avg(sum, n)) => {
                let x = match cell {
                    Cell::F64(x) => *x,
                    Cell::I64(x) => *x as f64,
                    _ => return,
                };
                *sum += x;
                *n += 1;
            }
            (Agg::Min(_) | Agg::Max(_), Buffer::Extreme(held)) if !null => {
                let key = Key::of(cell);
                let better = match held {
                    None => true,
                    Some(h) if matches!(self, Agg::Min(_)) => key < *h,
                    Some(h) => key > *h,
                };
                if better {
                    *held = Some(key);
                }
            }
            _ => {}
        }
    }

    /// Merges a batch's partial buffer into the held one (Spark's merge:
    /// held + partial).
    pub fn merge(&self, held: &mut Buffer, partial: &Buffer) {
        match (held, partial) {
            (Buffer::Count(a), Buffer::Count(b)) => *a += b,
            (h @ (Buffer::SumF(_) | Buffer::SumI(_)), p) => match (&*h, p) {
                (_, Buffer::SumF(None)) => {}
                (Buffer::SumF(None), p) => *h = p.clone(),
                (Buffer::SumF(Some(a)), Buffer::SumF(Some(b))) => *h = Buffer::SumF(Some(a + b)),
                (Buffer::SumI(Some(a)), Buffer::SumI(Some(b))) => {
                    *h = Buffer::SumI(Some(a.wrapping_add(*b)))
                }
                _ => {}
            },
            (Buffer::Avg(s, n), Buffer::Avg(ps, pn)) => {
                *s += ps;
                *n += pn;
            }
            (Buffer::Extreme(h), Buffer::Extreme(Some(p))) => {
                let better = match h {
                    None => true,
                    Some(v) if matches!(self, Agg::Min(_)) => *p < *v,
                    Some(v) => *p > *v,
                };
                if better {
                    *h = Some(p.clone());
                }
            }
            _ => {}
        }
    }

    /// The value Spark shows for a buffer, as a cell of column type `ty`.
    pub fn result<'a>(&self, buffer: &'a Buffer, ty: FieldType) -> Cell<'a> {
        match buffer {
            Buffer::Count(n) => Cell::I64(*n),
            Buffer::SumF(Some(s)) => Cell::F64(*s),
            Buffer::SumI(Some(s)) if ty == FieldType::Double => Cell::F64(*s as f64),
            Buffer::SumI(Some(s)) => Cell::I64(*s),
            Buffer::Avg(_, 0) => Cell::Null,
            Buffer::Avg(s, n) => Cell::F64(s / *n as f64),
            Buffer::Extreme(Some(k)) => k.cell(),
            _ => Cell::Null,
        }
    }
}

impl Buffer {
    pub fn encode(&self) -> Value {
        match self {
            Buffer::Count(n) => json!({ "n": n }),
            Buffer::SumF(s) => json!({ "sf": s.map(f64::to_bits) }),
            Buffer::SumI(s) => json!({ "si": s }),
            Buffer::Avg(s, n) => json!({ "a": [s.to_bits(), n] }),
            Buffer::Extreme(k) => json!({ "x": k.as_ref().map(Key::encode) }),
        }
    }

    pub fn decode(v: &Value) -> Option<Buffer> {
        let (tag, v) = v.as_object()?.iter().next()?;
        Some(match tag.as_str() {
            "n" => Buffer::Count(v.as_i64()?),
            "sf" if v.is_null() => Buffer::SumF(None),
            "sf" => Buffer::SumF(Some(f64::from_bits(v.as_u64()?))),
            "si" => Buffer::SumI(if v.is_null() { None } else { Some(v.as_i64()?) }),
            "a" => Buffer::Avg(f64::from_bits(v[0].as_u64()?), v[1].as_i64()?),
            "x" if v.is_null() => Buffer::Extreme(None),
            "x" => Buffer::Extreme(Some(Key::decode(v)?)),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_as_spark() {
        let aggs =
            parse_list("avg(price), count(*), sum(price), min(price), max(qty), sum(qty)").unwrap();
        let names: Vec<String> = aggs
            .iter()
            .map(|a| {
                let ty = if a.column() == Some("qty") {
                    FieldType::Long
                } else {
                    FieldType::Double
                };
                let f = a.field(Some(ty)).unwrap();
                format!("{} {}", f.name, sluice_sdk::schema::type_name(f.ty))
            })
            .collect();
        assert_eq!(
            names,
            [
                "avg(price) double",
                "count(1) long",
                "sum(price) double",
                "min(price) double",
                "max(qty) long",
                "sum(qty) long"
            ]
        );
        assert!(
            parse_list("median(price)")
                .unwrap_err()
                .contains("unknown aggregate")
        );
        assert!(
            Agg::Avg("ticker".into())
                .field(Some(FieldType::String))
                .is_err()
        );
    }

    #[test]
    fn partial_sums_merge_into_held_ones() {
        let avg = Agg::Avg("p".into());
        let mut held = avg.empty();
        avg.update(&mut held, &Cell::F64(1.0));
        avg.update(&mut held, &Cell::Null);
        let mut partial = avg.empty();
        avg.update(&mut partial, &Cell::F64(2.0));
        avg.merge(&mut held, &partial);
        assert_eq!(avg.result(&held, FieldType::Double), Cell::F64(1.5));
        assert_eq!(avg.result(&avg.empty(), FieldType::Double), Cell::Null);
        let max = Agg::Max("p".into());
        let mut m = max.empty();
        for x in [3.0, f64::NAN, 5.0] {
            max.update(&mut m, &Cell::F64(x));
        }
        assert!(matches!(max.result(&m, FieldType::Double), Cell::F64(x) if x.is_nan()));
    }
}
