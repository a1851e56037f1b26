//! Misbehaves on command: the record value says how.
//! `loop` spins forever, `alloc` allocates until memory runs out, `panic`
//! panics, `recurse` overflows the stack; anything else passes through.
use sluice_sdk::{Config, Error, Fail, Out, Record, Transform};
use std::hint::black_box;

struct Hostile;

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    recurse(depth + 1) + frame[0]
}

impl Transform for Hostile {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(Hostile)
    }
    fn process(&mut self, record: &Record, out: &mut Out) -> Result<(), Fail> {
        match record.value().unwrap_or_default() {
            b"loop" => {
                let mut n = 0u64;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            b"alloc" => {
                let mut hoard = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            b"panic" => panic!("boom on record {}", record.offset()),
            b"recurse" => {
                black_box(recurse(0));
            }
            _ => out.keep(record),
        }
        Ok(())
    }
}
sluice_sdk::export_transform!(Hostile);
