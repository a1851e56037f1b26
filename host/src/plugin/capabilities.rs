//! Which host capabilities a plugin may import.
//!
//! A plugin is a pure function of its records by default: it gets the
//! contract's `host` import, stdio (captured, bounded) and WASI's plumbing
//! (streams, errors, exit). Clocks and randomness are granted to generators,
//! or to a transform with `--grant NAME=clocks,random`. Filesystem, sockets
//! and the environment are never granted; a component importing them is
//! refused at load, before it runs.

use anyhow::{Result, bail};
use std::collections::BTreeSet;

/// A capability beyond the default sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// `wasi:clocks/*`: the wall clock and the monotonic clock.
    Clocks,
    /// `wasi:random/*`: random bytes and seeds.
    Random,
}

impl Grant {
    /// Parses `clocks` or `random`.
    pub fn parse(word: &str) -> Result<Grant> {
        match word.trim() {
            "clocks" => Ok(Grant::Clocks),
            "random" => Ok(Grant::Random),
            other => bail!("unknown grant {other:?}; grantable: clocks, random"),
        }
    }

    /// The name used on the command line and in `host inspect`.
    pub fn name(self) -> &'static str {
        match self {
            Grant::Clocks => "clocks",
            Grant::Random => "random",
        }
    }
}

/// One interface a component imports, with the functions it uses from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The interface, e.g. `wasi:cli/stderr@0.2.6`.
    pub name: String,
    /// The functions of it the component imports.
    pub functions: Vec<String>,
}

/// What an import needs.
#[derive(Debug, PartialEq, Eq)]
pub enum Need {
    /// Always allowed.
    Default,
    /// Allowed, but the host gives it nothing of its own (an empty
    /// environment, a constant hash seed).
    Sealed,
    /// Allowed with this grant.
    Grant(Grant),
    /// Never allowed; the text says what it is.
    Denied(&'static str),
}

/// Classifies one imported function by its interface (`wasi:cli/stderr@0.2.6`,
/// `sluice:plugin/host@0.2.0`, …) and name.
///
/// `wasi:cli/environment#get-environment` is imported by every Rust guest
/// (the standard library's panic hook reads `RUST_BACKTRACE`), so it is
/// allowed and answered with an empty environment: no variable of the host
/// ever reaches a plugin. Arguments and the working directory are refused.
/// `wasi:random/insecure-seed` (which std's `HashMap` seeds itself from) is
/// allowed and answered with a constant, so hash tables work and no entropy
/// is given; real randomness needs the `random` grant.
pub fn classify(interface: &str, function: &str) -> Need {
    let name = interface.split('@').next().unwrap_or(interface);
    match name {
        "sluice:plugin/host" | "sluice:plugin/types" => Need::Default,
        "wasi:io/error" | "wasi:io/streams" | "wasi:io/poll" => Need::Default,
        "wasi:cli/stdout" | "wasi:cli/stderr" | "wasi:cli/stdin" | "wasi:cli/exit" => Need::Default,
        n if n.starts_with("wasi:cli/terminal-") => Need::Default,
        "wasi:cli/environment" if function == "get-environment" => Need::Sealed,
        // std's HashMap seeds itself from this; it gets a constant.
        "wasi:random/insecure-seed" => Need::Sealed,
        "wasi:cli/environment" => Need::Denied("the host's arguments and working directory"),
        n if n.starts_with("wasi:clocks/") => Need::Grant(Grant::Clocks),
        n if n.starts_with("wasi:random/") => Need::Grant(Grant::Random),
        n if n.starts_with("wasi:filesystem/") => Need::Denied("the filesystem"),
        n if n.starts_with("wasi:sockets/") => Need::Denied("the network"),
        _ => Need::Denied("an interface the host does not provide"),
    }
}

/// Checks every import of plugin `name` against the allowlist; the error
/// names each refused import and what to do.
pub fn check(name: &str, imports: &[Import], grants: &BTreeSet<Grant>) -> Result<()> {
    let mut problems: Vec<String> = Vec::new();
    for import in imports {
        // Type-only interfaces import no function: judge the interface itself.
        let functions: Vec<&str> = if import.functions.is_empty() {
            vec![""]
        } else {
            import.functions.iter().map(String::as_str).collect()
        };
        let mut refused = Vec::new();
        let mut why = None;
        for function in functions {
            let reason = match classify(&import.name, function) {
                Need::Default | Need::Sealed => continue,
                Need::Grant(g) if grants.contains(&g) => continue,
                Need::Grant(g) => format!(
                    "needs the {} grant (give it with --grant {name}={})",
                    g.name(),
                    g.name()
                ),
                Need::Denied(it) => format!("would give it {it}"),
            };
            refused.push(function);
            why.get_or_insert(reason);
        }
        if let Some(why) = why {
            let functions = refused
                .iter()
                .filter(|f| !f.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let functions = if functions.is_empty() {
                String::new()
            } else {
                format!(" ({functions})")
            };
            problems.push(format!("{}{functions}, which {why}", import.name));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "plugin {name:?} is refused: it imports {}; a plugin may use only its records, its config, the host log and stdio",
        problems.join("; ")
    )
}
