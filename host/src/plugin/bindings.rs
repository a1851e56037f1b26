//! The one place the host generates bindings for the plugin contract
//! (`wit/plugin.wit`): one `bindgen!` per world, sharing the types.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "transform",
    additional_derives: [PartialEq],
});

/// The `generator` world, reusing the `transform` world's types.
pub mod generator {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "generator",
        with: {
            "sluice:plugin/types": super::sluice::plugin::types,
            "sluice:plugin/host": super::sluice::plugin::host,
        },
    });
}

/// The `stateful-transform` world, reusing the `transform` world's types.
pub mod stateful {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "stateful-transform",
        with: {
            "sluice:plugin/types": super::sluice::plugin::types,
            "sluice:plugin/host": super::sluice::plugin::host,
            "sluice:plugin/plugin": super::exports::sluice::plugin::plugin,
            "sluice:plugin/transformer": super::exports::sluice::plugin::transformer,
        },
    });
}

pub use sluice::plugin::types::{
    Accepts, Batch, ByteValues, Column, ConfigKey, Error as PluginError, Field, FieldType, Header,
    Info, Level, Output, Produced, RecordError, RecordMeta, Rows, Span, Values,
};

/// The contract this host speaks (`host --version`, `host inspect`).
pub const CONTRACT: &str = env!("SLUICE_WIT_PACKAGE");
