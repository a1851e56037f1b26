//! Builds the plugins workspace (`plugins/`) for wasm32-wasip2 once, so the
//! stock plugins ship inside the `host` binary (`plugin::bundled`).

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
            "stock_generator",
            "min_price",
        ],
    );
    println!("cargo:rustc-env=SLUICE_PLUGINS_DIR={}", dir.display());
}
