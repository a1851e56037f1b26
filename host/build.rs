//! Builds the plugins workspace (`plugins/`) for wasm32-wasip2 once, so the
//! stock plugins ship inside the `host` binary (`plugin::bundled`).
//!
//! The inner cargo runs in `plugins/` (so it reads that workspace's
//! `.cargo/config.toml`) with its own target directory, so it never waits on
//! the outer build's lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLUGINS: &[&str] = &["parse_stock", "schema_filter", "stock_generator", "min_price"];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap();
    let plugins = root.join("plugins");
    // Directories are scanned recursively by cargo.
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    for entry in ["Cargo.toml", "Cargo.lock", ".cargo", "sdk"].iter().chain(PLUGINS) {
        println!("cargo:rerun-if-changed={}", plugins.join(entry).display());
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = outer_target_dir(&out_dir).join("wasm-plugins");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&plugins)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // Do not leak the outer build's settings into the wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR_OUTER");
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") || key == "CARGO_MAKEFLAGS" {
            cmd.env_remove(key);
        }
    }
    if env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("E0463") || stderr.contains("target may not be installed") {
            panic!(
                "the wasm32-wasip2 target is not installed; run `rustup target add wasm32-wasip2` and build again\n{stderr}"
            );
        }
        panic!("building the plugins in {} failed:\n{stderr}", plugins.display());
    }
    let wasm_dir = target_dir.join("wasm32-wasip2/release");
    for name in PLUGINS {
        let path = wasm_dir.join(format!("{name}.wasm"));
        assert!(path.exists(), "the plugins build did not produce {}", path.display());
    }
    println!("cargo:rustc-env=SLUICE_PLUGINS_DIR={}", wasm_dir.display());
}

/// The outer target directory (the one holding `CACHEDIR.TAG`), so the
/// wasm build is shared by every profile and survives `OUT_DIR` changes.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}
