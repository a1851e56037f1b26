//! Builds the test guests (`tests/guests/`) once per build and hands their
//! paths to the tests as `GUEST_<NAME>` environment constants.

use std::path::PathBuf;

const GUESTS: &[&str] = &[
    "hostile",
    "reads_file",
    "reads_env",
    "reads_args",
    "reads_clock",
    "opens_socket",
    "slow",
    "not_a_plugin",
    "router",
    "old_contract",
    "trapping_counter",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap();
    println!(
        "cargo:rerun-if-changed={}",
        root.join("plugins/sdk").display()
    );
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    let dir = sluice_build_support::build_wasm_workspace(
        &manifest.join("guests"),
        "wasm-test-guests",
        GUESTS,
    );
    for guest in GUESTS {
        println!(
            "cargo:rustc-env=GUEST_{}={}",
            guest.to_uppercase(),
            dir.join(format!("{guest}.wasm")).display()
        );
    }
}
