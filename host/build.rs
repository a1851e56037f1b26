//! Builds the plugins workspace (`plugins/`) for wasm32-wasip2 once, so the
//! stock plugins ship inside the `host` binary (`plugin::bundled`), and
//! reads the WIT package version for `host --version`.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap();
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    let dir = sluice_build_support::build_wasm_workspace(
        &root.join("plugins"),
        "wasm-plugins",
        &[
            "parse_stock",
            "schema_filter",
            "select",
            "stock_generator",
            "min_price",
            "window_agg",
        ],
    );
    println!("cargo:rustc-env=SLUICE_PLUGINS_DIR={}", dir.display());
    // The WIT package version, for `host --version`.
    let wit = std::fs::read_to_string(root.join("wit/plugin.wit")).expect("wit/plugin.wit");
    let package = wit
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .and_then(|p| p.strip_suffix(';'))
        .expect("a `package` line in wit/plugin.wit");
    println!("cargo:rustc-env=SLUICE_WIT_PACKAGE={package}");
    // The binary's guard against a librdkafka crash (src/main.rs, `librdkafka_guard`).
    println!("cargo:rustc-link-arg-bins=-Wl,--wrap=rd_kafka_metadata_cache_find");
}
