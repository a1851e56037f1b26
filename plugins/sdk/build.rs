//! Embeds the one copy of the plugin contract (`wit/` at the repository root)
//! into the `export_transform!` / `export_generator!` macros, so a plugin crate
//! needs nothing but this SDK as a dependency, wherever it lives.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let wit = manifest.join("../../wit/plugin.wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let text = fs::read_to_string(&wit)
        .unwrap_or_else(|e| panic!("cannot read the plugin contract {}: {e}", wit.display()));
    assert!(
        !text.contains("\"#####"),
        "plugin.wit must not contain a raw-string terminator"
    );
    let code = format!(
        r######"
/// Generates the bindings of one world of the plugin contract in the calling
/// crate, reusing the SDK's own types. Used by `export_transform!` and
/// `export_generator!`; not meant to be called directly.
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_generate {{
    ($world:literal) => {{
        $crate::__private::wit_bindgen::generate!({{
            inline: r#####"{text}"#####,
            world: $world,
            runtime_path: "::sluice_sdk::__private::wit_bindgen::rt",
            with: {{
                "sluice:plugin/types@0.2.0": ::sluice_sdk::wit::types,
                "sluice:plugin/host@0.2.0": ::sluice_sdk::wit::host,
            }},
        }});
    }};
}}
"######
    );
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("generate_macro.rs");
    fs::write(&out, code).unwrap();
}
