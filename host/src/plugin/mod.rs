//! The plugin runtime: load, sandbox, limit and run WebAssembly components.
//!
//! - `bindings`: the one `bindgen!` of the WIT contract.
//! - `engine`: the engine, the linker and loading a plugin ([`Runtime::load`]).
//! - `capabilities`: the import allowlist and grants.
//! - `cache`: compiled components on disk.
//! - `bundled`: the stock plugins shipped inside the binary.
//! - `state`: a store's data (WASI context, limits, captured output).
//! - `instance`: a live instance, trap recovery and bisection ([`Stage`]).
//! - `chain`: transforms in sequence, with provenance ([`Chain`]).

pub mod bindings;
pub mod bundled;
pub(crate) mod cache;
pub(crate) mod capabilities;
pub(crate) mod chain;
pub(crate) mod engine;
pub(crate) mod instance;
pub(crate) mod state;

pub use chain::Chain;
pub use engine::{Plugin, PluginSpec, Runtime, World};
pub use instance::{Clock, Memory, Stage, StageStats};

use std::time::Duration;

/// Resource limits every plugin instance runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Time allowed for one call (one batch).
    pub deadline: Duration,
    /// The most the host holds of one plugin call's output, in bytes; a
    /// batch whose output is larger is processed in parts ([`Chain::process_parts`]).
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            deadline: Duration::from_secs(1),
            output_bytes: 64 * 1024 * 1024,
        }
    }
}
