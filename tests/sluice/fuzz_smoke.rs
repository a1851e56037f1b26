//! The fuzz targets (`fuzz/src/`) on stable, bounded: every committed seed,
//! then mutations of them for 30 s per target — the 60-second fuzz run of
//! every CI run. The long runs are `scripts/fuzz` (libFuzzer, nightly).

#[path = "../../fuzz/src/plugin_output.rs"]
mod plugin_output;
#[path = "../../fuzz/src/where_predicate.rs"]
mod where_predicate;

use std::time::{Duration, Instant};

fn smoke(target: &str, run: fn(&[u8])) {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&seeds)
        .unwrap_or_else(|e| panic!("{}: {e}", seeds.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!inputs.is_empty(), "no seeds in {}", seeds.display());
    for input in &inputs {
        run(input);
    }
    // Mutations of the seeds (bytes flipped, cut, repeated), from a fixed xorshift stream.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut runs = 0u64;
    while Instant::now() < deadline && runs < 10_000_000 {
        let mut input = inputs[(next() % inputs.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % (input.len() as u64 + 1)) as usize;
            match next() % 4 {
                0 if at < input.len() => input[at] = next() as u8,
                1 => input.insert(at, next() as u8),
                2 => input.truncate(at),
                _ => input.extend_from_within(..at.min(input.len()) / 2),
            }
        }
        run(&input);
        if next() % 64 == 0 {
            inputs.push(input);
        }
        runs += 1;
    }
    eprintln!("{target}: {runs} inputs");
}

#[test]
fn plugin_output_decoding_never_panics() {
    smoke("plugin_output", plugin_output::run);
}

#[test]
fn where_predicates_never_panic() {
    smoke("where_predicate", where_predicate::run);
}
