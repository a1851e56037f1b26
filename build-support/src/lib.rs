//! Used by build scripts (the host's bundled plugins, the tests' guests) to
//! build a separate cargo workspace of plugins for `wasm32-wasip2`, once per
//! build, into a target directory of its own.
//!
//! The inner cargo runs in the workspace's own directory (so its
//! `.cargo/config.toml` applies) with its own `CARGO_TARGET_DIR` (so it never
//! waits on the outer build's lock), and without the outer build's flags.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the workspace at `dir` in release mode for wasm32-wasip2 into
/// `<outer target dir>/<target_name>` and returns the directory holding the
/// `.wasm` files. Each of `expected` (crate names) must have been produced.
/// Panics with the fix when the wasm32-wasip2 target is missing.
pub fn build_wasm_workspace(dir: &Path, target_name: &str, expected: &[&str]) -> PathBuf {
    // Directories are scanned recursively by cargo; skip the inner target dirs.
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
    {
        if entry.file_name() != "target" {
            println!("cargo:rerun-if-changed={}", entry.path().display());
        }
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("called from a build script"));
    let target_dir = outer_target_dir(&out_dir).join(target_name);
    // Under rustup, the wasm workspace builds with its own toolchain file
    // (rust-toolchain.toml, which lists the wasm32-wasip2 target) even when
    // the outer build runs another toolchain (`cargo +nightly fuzz`): the
    // rustup proxy decides, once the outer choice is out of the environment.
    let under_rustup =
        env::var_os("RUSTUP_HOME").is_some() || env::var_os("RUSTUP_TOOLCHAIN").is_some();
    let cargo = if under_rustup {
        "cargo".to_string()
    } else {
        env::var("CARGO").unwrap_or_else(|_| "cargo".into())
    };
    let mut cmd = Command::new(&cargo);
    if under_rustup {
        cmd.env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("RUSTC")
            .env_remove("RUSTDOC");
    }
    cmd.current_dir(dir)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        // Under `cargo clippy` the outer build runs rustc through clippy-driver.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR");
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_CFG_")
            || key == "CARGO_MAKEFLAGS"
        {
            cmd.env_remove(key);
        }
    }
    if env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("E0463") || stderr.contains("target may not be installed") {
            panic!(
                "the wasm32-wasip2 target is not installed; run `rustup target add wasm32-wasip2` and build again\n{stderr}"
            );
        }
        panic!(
            "building the WebAssembly workspace {} failed:\n{stderr}",
            dir.display()
        );
    }
    let wasm_dir = target_dir.join("wasm32-wasip2/release");
    for name in expected {
        let path = wasm_dir.join(format!("{name}.wasm"));
        assert!(
            path.exists(),
            "the build of {} did not produce {}",
            dir.display(),
            path.display()
        );
    }
    wasm_dir
}

/// The outer target directory (the ancestor of `OUT_DIR` holding cargo's
/// `CACHEDIR.TAG`), shared by every profile.
fn outer_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}
