//! libFuzzer entry for `src/where_predicate.rs`.
#![no_main]

#[path = "../src/where_predicate.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|raw: &[u8]| target::run(raw));
