//! Batches the data model's tests share.

use super::batch::{BatchBuilder, InputRecord, bare_record};
use crate::plugin::bindings::{Batch, Output, Produced, RecordMeta, Span};

/// Two source records: one with a key, headers and a timestamp, one with a null value.
pub fn input() -> Batch {
    let mut b = BatchBuilder::with_capacity(2, 64);
    b.push(&InputRecord {
        key: Some(b"k0"),
        value: Some(b"v0"),
        headers: vec![(b"h", Some(b"x")), (b"n", None)],
        timestamp: Some(1_700_000_000_000),
        partition: 3,
        offset: 41,
    });
    b.push(&InputRecord {
        value: None,
        partition: 3,
        offset: 42,
        ..Default::default()
    });
    b.finish()
}

/// A transform's output of `records` over `data`, from `inputs`.
pub fn output(records: Vec<RecordMeta>, inputs: Vec<u32>, data: &[u8]) -> Output {
    Output {
        produced: Produced::Batch(Batch {
            len: records.len() as u32,
            data: data.to_vec(),
            headers: Vec::new(),
            records,
            values: None,
            rows: None,
            inputs,
        }),
        errors: Vec::new(),
    }
}

/// A record with a value span, inheriting metadata when `keep`.
pub fn meta(value: Option<Span>, keep: bool) -> RecordMeta {
    RecordMeta {
        value,
        keep_metadata: keep,
        ..bare_record()
    }
}

/// The batch of a non-selection output.
pub fn batch(output: Output) -> Batch {
    match output.produced {
        Produced::Batch(b) => b,
        Produced::Selection(_) => panic!("a selection"),
    }
}
