//! `host new NAME --kind filter|map|flat-map|generator [--lang python|js]`:
//! writes a plugin on the guest SDK from templates kept inside the binary
//! (a crate, or a Python or JavaScript module with its SDK, the contract and
//! a build script), with a test input, and prints the next three commands.

mod scripted;

use crate::cli::{NewArgs, PluginKind, PluginLang};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("Cargo.toml.tmpl");
const CARGO_CONFIG: &str = include_str!("config.toml.tmpl");
const INPUT: &str = include_str!("input.jsonl");

/// The SDK of the checkout this binary was built from.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

fn source(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Filter => include_str!("filter.rs"),
        PluginKind::Map => include_str!("map.rs"),
        PluginKind::FlatMap => include_str!("flat_map.rs"),
        PluginKind::Generator => include_str!("generator.rs"),
    }
}

fn sdk(given: Option<&Path>) -> Result<PathBuf> {
    let path = given.unwrap_or(Path::new(BUILT_SDK));
    let path = path
        .canonicalize()
        .ok()
        .filter(|p| p.join("Cargo.toml").is_file());
    match (path, given) {
        (Some(p), _) => Ok(p),
        (None, Some(g)) => bail!(
            "--sdk {}: no Cargo.toml there; give the plugins/sdk directory of a Sluice checkout",
            g.display()
        ),
        (None, None) => bail!(
            "the guest SDK this host was built from ({BUILT_SDK}) is gone; pass --sdk PATH (the plugins/sdk directory of a Sluice checkout)"
        ),
    }
}

/// Writes the crate and prints what to do next.
pub fn run(args: NewArgs) -> Result<()> {
    let name = &args.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "plugin name {name:?}: use lowercase letters, digits and `_`, starting with a letter (it becomes {name}.wasm and the --config prefix)"
        );
    }
    let dir = args.path.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        bail!(
            "{} already exists; choose another name or --path",
            dir.display()
        );
    }
    let kind = clap::ValueEnum::to_possible_value(&args.kind)
        .map_or_else(String::new, |v| v.get_name().to_string());
    let scripted = match args.lang {
        PluginLang::Rust => None,
        PluginLang::Python => Some(&scripted::PYTHON),
        PluginLang::Js => Some(&scripted::JAVASCRIPT),
    };
    if scripted.is_some() && args.sdk.is_some() {
        bail!("--sdk is the Rust SDK; a plugin in another language gets its SDK written beside it");
    }
    let (wasm, build) = match scripted {
        None => (
            format!("target/wasm32-wasip2/release/{name}.wasm"),
            "cargo build --release",
        ),
        Some(_) => (format!("{name}.wasm"), "./build.sh"),
    };
    let test = if args.kind == PluginKind::Generator {
        format!("host test -p {wasm} -f table")
    } else {
        format!("host test -p {wasm} --input input.jsonl -f table")
    };
    let run = if args.kind == PluginKind::Generator {
        format!("host generate -p {wasm} --rate 1")
    } else {
        format!("host run -p {wasm} --starting-offsets earliest")
    };
    let mut files = match scripted {
        None => {
            let sdk = sdk(args.sdk.as_deref())?;
            let fill = |template: &str| {
                template
                    .replace("{{name}}", name)
                    .replace("{{sdk}}", &sdk.display().to_string())
            };
            vec![
                ("Cargo.toml".to_string(), fill(CARGO_TOML)),
                (".cargo/config.toml".to_string(), CARGO_CONFIG.to_string()),
                ("src/lib.rs".to_string(), fill(source(args.kind))),
            ]
        }
        Some(language) => language.files(name, args.kind, &kind, &test, &run)?,
    };
    files.push(("input.jsonl".to_string(), INPUT.to_string()));
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent"))
            .and_then(|()| std::fs::write(&path, text))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let lang = match scripted {
        None => "the Sluice SDK".to_string(),
        Some(language) => {
            make_executable(&dir.join("build.sh"))?;
            language.sdk_name()
        }
    };
    println!(
        "created {} (a {kind} plugin on {lang})\n\nnext:\n  cd {} && {build}\n  {test}\n  {run}",
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}
