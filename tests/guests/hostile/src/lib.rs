//! Misbehaves on command: the record value says how.
//! `loop` spins forever, `alloc` allocates until memory runs out, `panic`
//! panics, `recurse` overflows the stack, `explode` emits a million outputs,
//! `huge` emits a 1 GiB value, `bad_input` emits an output claiming to
//! come from an input that does not exist; anything else passes through.
//! With `--config hostile.init=loop` it spins forever in `init`.
use sluice_sdk::{Config, Error, Fail, Input, Out, Output, Row, Transform};
use std::hint::black_box;

struct Hostile;

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    recurse(depth + 1) + frame[0]
}

fn spin(iterations: u64) -> u64 {
    let mut n = 0u64;
    for i in 0..iterations {
        n = black_box(n.wrapping_add(i));
    }
    n
}

impl Transform for Hostile {
    fn init(config: &mut Config) -> Result<Self, Error> {
        if config.get("init") == Some("loop") {
            loop {
                black_box(spin(1 << 20));
            }
        }
        Ok(Hostile)
    }

    fn process(&mut self, record: &Row, out: &mut Out) -> Result<(), Fail> {
        match record.value().unwrap_or_default() {
            b"loop" => loop {
                black_box(spin(1 << 20));
            },
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
            b"explode" => {
                for i in 0..1_000_000u32 {
                    out.emit(&i.to_le_bytes());
                }
            }
            b"fanout" => {
                // A legitimate fan-out: 100,000 small outputs for one record.
                for i in 0..100_000u32 {
                    out.emit(&i.to_le_bytes());
                }
            }
            b"huge" => {
                out.emit_with(|buf| buf.resize(1 << 30, b'x'));
            }
            _ => out.keep(),
        }
        Ok(())
    }

    fn process_batch(&mut self, input: &Input, output: &mut Output) -> Result<(), Error> {
        for record in input.rows() {
            if record.value() == Some(b"bad_input") {
                output.emit_for(input, input.len() as u32 + 5, b"from nowhere");
                continue;
            }
            let mut out = output.out_for(record);
            if let Err(Fail::Record(message)) = self.process(&record, &mut out) {
                output.reject(record.index(), message);
            }
        }
        Ok(())
    }
}
sluice_sdk::export_transform!(Hostile);
