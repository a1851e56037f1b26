//! A valid WASI component that is not a Sluice plugin (no contract exports).

/// Adds two numbers; exported as a plain core function.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a + b
}
