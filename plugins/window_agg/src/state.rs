//! The state of `window_agg`: the open windows of every group with their
//! aggregate buffers, and its snapshot encoding (JSON, floats by their bits
//! so every value comes back exactly).

use crate::agg::Buffer;
use serde_json::{Value, json};
use sluice_sdk::Cell;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One grouping value, ordered as Spark sorts ascending (nulls first, then
/// numbers numerically, NaN above every other double, strings by bytes).
#[derive(Debug, Clone)]
pub enum Key {
    Null,
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(String),
    Bytes(Vec<u8>),
    Micros(i64),
}

impl Key {
    /// The key of a cell (-0.0 groups with 0.0, every NaN with NaN, as in Spark).
    pub fn of(cell: &Cell<'_>) -> Key {
        match cell {
            Cell::Null => Key::Null,
            Cell::Bool(b) => Key::Bool(*b),
            Cell::I64(v) => Key::I64(*v),
            Cell::F64(v) if v.is_nan() => Key::F64(f64::NAN),
            Cell::F64(v) if *v == 0.0 => Key::F64(0.0),
            Cell::F64(v) => Key::F64(*v),
            Cell::Str(s) => Key::Str(s.to_string()),
            Cell::Bytes(b) => Key::Bytes(b.to_vec()),
            Cell::Micros(v) => Key::Micros(*v),
        }
    }

    /// The key as a cell again.
    pub fn cell(&self) -> Cell<'_> {
        match self {
            Key::Null => Cell::Null,
            Key::Bool(b) => Cell::Bool(*b),
            Key::I64(v) => Cell::I64(*v),
            Key::F64(v) => Cell::F64(*v),
            Key::Str(s) => Cell::Str(s.as_str().into()),
            Key::Bytes(b) => Cell::Bytes(b.as_slice().into()),
            Key::Micros(v) => Cell::Micros(*v),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Null => 0,
            Key::Bool(_) => 1,
            Key::I64(_) => 2,
            Key::F64(_) => 3,
            Key::Str(_) => 4,
            Key::Bytes(_) => 5,
            Key::Micros(_) => 6,
        }
    }

    pub fn encode(&self) -> Value {
        match self {
            Key::Null => Value::Null,
            Key::Bool(b) => json!(b),
            Key::I64(v) => json!({ "i": v }),
            Key::F64(v) => json!({ "f": v.to_bits() }),
            Key::Str(s) => json!(s),
            Key::Bytes(b) => json!({ "b": b }),
            Key::Micros(v) => json!({ "t": v }),
        }
    }

    pub fn decode(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::String(s) => Key::Str(s.clone()),
            Value::Object(o) => {
                let (tag, v) = o.iter().next()?;
                match tag.as_str() {
                    "i" => Key::I64(v.as_i64()?),
                    "f" => Key::F64(f64::from_bits(v.as_u64()?)),
                    "t" => Key::Micros(v.as_i64()?),
                    "b" => Key::Bytes(serde_json::from_value(v.clone()).ok()?),
                    _ => return None,
                }
            }
            _ => return None,
        })
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::I64(a), Key::I64(b)) | (Key::Micros(a), Key::Micros(b)) => a.cmp(b),
            (Key::F64(a), Key::F64(b)) => a.total_cmp(b),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            (Key::Bytes(a), Key::Bytes(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// A window of a group: what one output row is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    /// The window's start, µs.
    pub start: i64,
    /// The `group_by` values.
    pub keys: Vec<Key>,
}

/// Every open window with its buffers (one per aggregate), in output order.
#[derive(Debug, Default, PartialEq)]
pub struct State {
    pub groups: BTreeMap<Group, Vec<Buffer>>,
}

impl State {
    /// The snapshot: `{"v":1,"groups":[[start,[keys],[buffers]],...]}`.
    pub fn encode(&self) -> Vec<u8> {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|(g, b)| {
                json!([
                    g.start,
                    g.keys.iter().map(Key::encode).collect::<Vec<_>>(),
                    b.iter().map(Buffer::encode).collect::<Vec<_>>()
                ])
            })
            .collect();
        serde_json::to_vec(&json!({ "v": 1, "groups": groups })).unwrap_or_default()
    }

    /// A snapshot read back; `aggs` is how many buffers each window has.
    pub fn decode(bytes: &[u8], aggs: usize) -> Result<State, String> {
        let bad = || {
            "the state is not a window_agg snapshot of this configuration (its agg list changed?); delete the changelog topic to start empty".to_string()
        };
        let v: Value = serde_json::from_slice(bytes).map_err(|_| bad())?;
        let mut state = State::default();
        for g in v["groups"].as_array().ok_or_else(bad)? {
            let start = g[0].as_i64().ok_or_else(bad)?;
            let keys = g[1]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(Key::decode)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(bad)?;
            let buffers = g[2]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(Buffer::decode)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(bad)?;
            if buffers.len() != aggs {
                return Err(bad());
            }
            state.groups.insert(Group { start, keys }, buffers);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_exactly() {
        let mut state = State::default();
        let keys = vec![
            Key::Str("AAPL".into()),
            Key::F64(-1.5e-300),
            Key::Null,
            Key::Micros(7),
        ];
        state.groups.insert(
            Group {
                start: 60_000_000,
                keys,
            },
            vec![
                Buffer::Count(3),
                Buffer::Avg(0.1 + 0.2, 2),
                Buffer::SumF(Some(f64::NAN)),
                Buffer::Extreme(Some(Key::I64(-4))),
            ],
        );
        let back = State::decode(&state.encode(), 4).unwrap();
        assert_eq!(back.encode(), state.encode());
        assert!(State::decode(&state.encode(), 3).is_err());
        assert!(State::decode(b"nonsense", 4).is_err());
    }

    #[test]
    fn keys_sort_as_spark_sorts_ascending() {
        let mut keys = vec![Key::F64(f64::NAN), Key::F64(2.0), Key::Null, Key::F64(-1.0)];
        keys.sort();
        assert_eq!(
            keys,
            vec![Key::Null, Key::F64(-1.0), Key::F64(2.0), Key::F64(f64::NAN)]
        );
        assert_eq!(Key::of(&Cell::F64(-0.0)), Key::of(&Cell::F64(0.0)));
    }
}
