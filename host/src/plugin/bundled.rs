//! The stock plugins, built by `build.rs` and shipped inside the binary, so
//! `--plugin parse_stock` (or `parse_stock.wasm`) works from any directory.

/// Where `build.rs` put the plugins it built (useful to tests and tools).
pub const BUILD_DIR: &str = env!("SLUICE_PLUGINS_DIR");

/// (name, component bytes) of every bundled plugin.
pub const BUNDLED: &[(&str, &[u8])] = &[
    (
        "parse_stock",
        include_bytes!(concat!(env!("SLUICE_PLUGINS_DIR"), "/parse_stock.wasm")),
    ),
    (
        "schema_filter",
        include_bytes!(concat!(env!("SLUICE_PLUGINS_DIR"), "/schema_filter.wasm")),
    ),
    (
        "select",
        include_bytes!(concat!(env!("SLUICE_PLUGINS_DIR"), "/select.wasm")),
    ),
    (
        "window_agg",
        include_bytes!(concat!(env!("SLUICE_PLUGINS_DIR"), "/window_agg.wasm")),
    ),
    (
        "stock_generator",
        include_bytes!(concat!(env!("SLUICE_PLUGINS_DIR"), "/stock_generator.wasm")),
    ),
];

/// The bundled plugin called `name` (with or without `.wasm`).
pub fn find(name: &str) -> Option<&'static [u8]> {
    let name = name.strip_suffix(".wasm").unwrap_or(name);
    BUNDLED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The names of the bundled plugins, for error messages.
pub fn names() -> String {
    BUNDLED
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}
