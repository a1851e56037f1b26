//! libFuzzer entry for `src/plugin_output.rs`.
#![no_main]

#[path = "../src/plugin_output.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|raw: &[u8]| target::run(raw));
