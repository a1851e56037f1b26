//! `host inspect PLUGIN`: what a plugin is and what it may do.

use super::load_plugins;
use crate::cli::InspectArgs;
use crate::plugin::cache::CacheStatus;
use crate::plugin::capabilities::Import;
use crate::plugin::capabilities::{Need, classify};
use crate::plugin::{Runtime, Stage};
use crate::sink::console::{columns, schema_tree};
use anyhow::Result;
use std::fmt::Write as _;

/// What a transform reads, in words.
pub(crate) fn reads(accepts: crate::plugin::bindings::Accepts) -> &'static str {
    use crate::plugin::bindings::Accepts;
    match accepts {
        Accepts::Raw => "raw values (typed rows are given to it as JSON)",
        Accepts::Rows => "typed rows only",
        Accepts::Any => "typed rows or raw values",
    }
}

/// The import table: each imported function and what the sandbox does with it.
fn imports(out: &mut String, imports: &[Import]) -> std::fmt::Result {
    writeln!(out, "imports:")?;
    for import in imports {
        let functions: Vec<&str> = if import.functions.is_empty() {
            vec![""]
        } else {
            import.functions.iter().map(String::as_str).collect()
        };
        for function in functions {
            let need = match classify(&import.name, function) {
                Need::Default => "sandbox default".to_string(),
                Need::Sealed if import.name.starts_with("wasi:random/") => {
                    "allowed, answered with a constant seed".to_string()
                }
                Need::Sealed => "allowed, answered with an empty environment".to_string(),
                Need::Grant(g) => format!("granted: {}", g.name()),
                Need::Denied(what) => format!("denied: {what}"),
            };
            let what = if function.is_empty() {
                import.name.clone()
            } else {
                format!("{}#{function}", import.name)
            };
            writeln!(out, "  {what:<50} {need}")?;
        }
    }
    Ok(())
}

/// Prints the plugin's description to stdout; for a plugin the sandbox
/// refuses, its imports, then the refusal as the error.
pub fn run(args: InspectArgs) -> Result<()> {
    let plugins = match load_plugins(&args.runtime, std::slice::from_ref(&args.plugin)) {
        Ok((_, plugins)) => plugins,
        Err(err) => {
            let specs = args.runtime.specs(std::slice::from_ref(&args.plugin))?;
            let runtime = Runtime::new(args.runtime.limits(), args.runtime.cache_dir())?;
            if let Ok(list) = runtime.imports(&specs[0]) {
                let mut out = format!("plugin:      {} (refused)\n", specs[0].name());
                imports(&mut out, &list)?;
                crate::sink::console::write_stdout(out.as_bytes())?;
            }
            return Err(err);
        }
    };
    let plugin = &plugins[0];
    let mut stage = Stage::new(plugin.clone())?;
    let info = stage.about()?;
    let mut out = String::new();
    writeln!(out, "plugin:      {} ({})", plugin.name, plugin.origin)?;
    writeln!(out, "world:       {}", plugin.world_name())?;
    writeln!(out, "contract:    {}", crate::plugin::bindings::CONTRACT)?;
    if plugin.world == crate::plugin::World::Transform {
        writeln!(
            out,
            "reads:       {}{}",
            reads(stage.accepts()),
            if stage.reads_metadata() {
                ", and the records' metadata"
            } else {
                ""
            }
        )?;
    }
    if !info.description.is_empty() {
        writeln!(out, "description: {}", info.description)?;
    }
    writeln!(out, "size:        {} bytes", plugin.size)?;
    writeln!(out, "sha256:      {}", plugin.sha256)?;
    let cache = match &plugin.cache {
        CacheStatus::Hit(p) => format!("hit {}", p.display()),
        CacheStatus::Stored(p) => format!("miss, compiled and stored at {}", p.display()),
        CacheStatus::Uncached => "off (compiled in memory)".into(),
    };
    writeln!(out, "cache:       {cache}")?;
    let limits = plugin.limits;
    writeln!(
        out,
        "limits:      memory {} MiB, {} ms per batch",
        limits.memory_bytes >> 20,
        limits.deadline.as_millis()
    )?;
    let grants: Vec<&str> = plugin.grants.iter().map(|g| g.name()).collect();
    writeln!(
        out,
        "grants:      {}",
        if grants.is_empty() {
            "none".into()
        } else {
            grants.join(", ")
        }
    )?;
    imports(&mut out, &plugin.imports)?;
    writeln!(out, "config keys:")?;
    if info.config.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for key in &info.config {
        let default = key
            .default
            .as_deref()
            .map(|d| format!(" [default: {d}]"))
            .unwrap_or_default();
        writeln!(out, "  {:<22} {}{default}", key.name, key.description)?;
    }
    writeln!(out, "schema:")?;
    match stage.schema() {
        Some(fields) => out.push_str(&schema_tree(&columns(Some(fields)))),
        None => out.push_str("  (none declared: the output is shown as one `value` column)\n"),
    }
    crate::sink::console::write_stdout(out.as_bytes())
}
