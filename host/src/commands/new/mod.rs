//! `host new NAME --kind filter|map|flat-map|generator [--lang python]`:
//! writes a plugin on the guest SDK from templates kept inside the binary
//! (a crate, or a Python module with the Python SDK, the contract and a build
//! script), with a test input, and prints the next three commands.

use crate::cli::{NewArgs, PluginKind, PluginLang};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("Cargo.toml.tmpl");
const CARGO_CONFIG: &str = include_str!("config.toml.tmpl");
const INPUT: &str = include_str!("input.jsonl");

/// The SDK of the checkout this binary was built from.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sdk");

/// The Python SDK and the contract, written beside a Python plugin.
const PYTHON_SDK: &str = include_str!("../../../../plugins/python/sluice/__init__.py");
const CONTRACT: &str = include_str!("../../../../wit/plugin.wit");
const PYTHON_BUILD: &str = include_str!("python/build.sh");
const PYTHON_README: &str = include_str!("python/README.md");
const PYTHON_GITIGNORE: &str = include_str!("python/gitignore");

fn python_source(kind: PluginKind) -> Result<&'static str> {
    Ok(match kind {
        PluginKind::Filter => include_str!("python/filter.py"),
        PluginKind::Map => include_str!("python/map.py"),
        PluginKind::FlatMap => include_str!("python/flat_map.py"),
        PluginKind::Generator => bail!(
            "a generator cannot be written in Python yet (the Python SDK makes filters, maps and flat-maps); use --lang rust"
        ),
    })
}

/// The plugin is the module `NAME.py`: a name that is the SDK's or one of
/// Python's standard library (as the `python3` here lists them) would hide it.
fn check_python_module_name(name: &str) -> Result<()> {
    let stdlib = || {
        std::process::Command::new("python3")
            .args([
                "-c",
                "import sys; sys.exit(sys.argv[1] not in sys.stdlib_module_names)",
                name,
            ])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    let hidden = if name == "sluice" {
        "the Sluice SDK (`sluice`)"
    } else if stdlib() {
        "the Python standard library's module of that name"
    } else {
        return Ok(());
    };
    bail!(
        "plugin name {name:?}: its module {name}.py would hide {hidden}, which the plugin needs; choose another name"
    )
}

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
    let (wasm, build, files) = match args.lang {
        PluginLang::Rust => {
            let sdk = sdk(args.sdk.as_deref())?;
            let fill = |template: &str| {
                template
                    .replace("{{name}}", name)
                    .replace("{{sdk}}", &sdk.display().to_string())
            };
            let files = vec![
                ("Cargo.toml".to_string(), fill(CARGO_TOML)),
                (".cargo/config.toml".to_string(), CARGO_CONFIG.to_string()),
                ("src/lib.rs".to_string(), fill(source(args.kind))),
            ];
            let wasm = format!("target/wasm32-wasip2/release/{name}.wasm");
            (wasm, "cargo build --release", files)
        }
        PluginLang::Python => {
            if args.sdk.is_some() {
                bail!(
                    "--sdk is the Rust SDK; a Python plugin gets the Python SDK written beside it"
                );
            }
            check_python_module_name(name)?;
            let source = python_source(args.kind)?.replace("{{name}}", name);
            let files = vec![
                (format!("{name}.py"), source),
                ("sluice/__init__.py".to_string(), PYTHON_SDK.to_string()),
                ("wit/plugin.wit".to_string(), CONTRACT.to_string()),
                (
                    "build.sh".to_string(),
                    PYTHON_BUILD.replace("{{name}}", name),
                ),
                (".gitignore".to_string(), PYTHON_GITIGNORE.to_string()),
            ];
            (format!("{name}.wasm"), "./build.sh", files)
        }
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
    let mut files = files;
    files.push(("input.jsonl".to_string(), INPUT.to_string()));
    if args.lang == PluginLang::Python {
        let readme = PYTHON_README
            .replace("{{name}}", name)
            .replace("{{kind}}", &kind)
            .replace("{{test}}", &test)
            .replace("{{run}}", &run);
        files.push(("README.md".to_string(), readme));
    }
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent"))
            .and_then(|()| std::fs::write(&path, text))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.lang == PluginLang::Python {
        make_executable(&dir.join("build.sh"))?;
    }
    let lang = match args.lang {
        PluginLang::Rust => "the Sluice SDK",
        PluginLang::Python => "the Sluice Python SDK",
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
