//! `host run --pipeline FILE.toml`: the file holds the same settings as the
//! flags, under the flags' long names (`-` or `_`), and is turned into flags
//! placed before the command line's. A flag given on the command line
//! replaces that setting of the file. Two tables are special:
//!
//! ```toml
//! plugin = ["parse_stock.wasm", "schema_filter.wasm"]
//! topic = "stock_json_topic_spark"
//! sink = "kafka"
//! output-topic = "stocks"
//! [config.schema_filter]      # --config schema_filter.where=…
//! where = "price > 50"
//! [kafka]                     # -X security.protocol=…
//! "security.protocol" = "PLAINTEXT"
//! ```

use super::Cli;
use anyhow::{Context, Result, anyhow, bail};
use clap::CommandFactory;
use std::collections::BTreeSet;
use std::ffi::OsString;
use toml::Value;

/// Flags that are actions, not settings a file may hold.
const NOT_SETTINGS: [&str; 3] = ["pipeline", "help", "check"];

/// `argv` with the settings of its `--pipeline` file inserted, or `argv`
/// itself when it has none.
pub fn expand(argv: Vec<OsString>) -> Result<Vec<OsString>> {
    let strings: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // `host run …`: the subcommand is the first argument (host has no global flags).
    let run = 1;
    if strings.get(run).map(String::as_str) != Some("run") {
        return Ok(argv);
    }
    let rest = &strings[run + 1..];
    let path = rest.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--pipeline=")
            .map(str::to_string)
            .or_else(|| {
                (a == "--pipeline")
                    .then(|| rest.get(i + 1).cloned())
                    .flatten()
            })
    });
    let Some(path) = path else {
        return Ok(argv);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("--pipeline {path:?}: cannot read the file"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow!("--pipeline {path:?}: not valid TOML: {e}"))?;
    let flags = flags(&table, &given(rest)).map_err(|e| anyhow!("--pipeline {path:?}: {e}"))?;
    let mut out: Vec<OsString> = argv[..=run].to_vec();
    out.extend(flags.into_iter().map(OsString::from));
    out.extend(argv[run + 1..].iter().cloned());
    Ok(out)
}

/// The long names of the flags on the command line (short ones mapped to long).
fn given(args: &[String]) -> BTreeSet<String> {
    let command = Cli::command();
    let run = command.find_subcommand("run").expect("a run subcommand");
    let mut names = BTreeSet::new();
    for a in args {
        if let Some(long) = a.strip_prefix("--") {
            names.insert(long.split('=').next().unwrap_or(long).to_string());
        } else if let Some(short) = a.strip_prefix('-').and_then(|s| s.chars().next())
            && let Some(arg) = run.get_arguments().find(|x| x.get_short() == Some(short))
        {
            names.insert(arg.get_long().map_or(short.to_string(), str::to_string));
        }
    }
    names
}

fn scalar(key: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        other => bail!(
            "{key:?}: expected a string, number or boolean, found {}",
            other.type_str()
        ),
    }
}

/// The flags a file's settings stand for, leaving out those in `given`.
fn flags(table: &toml::Table, given: &BTreeSet<String>) -> Result<Vec<String>> {
    let command = Cli::command();
    let run = command.find_subcommand("run").expect("a run subcommand");
    let known: Vec<&str> = run
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !NOT_SETTINGS.contains(l))
        .collect();
    let mut out = Vec::new();
    for (raw, value) in table {
        let key = raw.replace('_', "-");
        if key == "kafka" {
            if given.contains("X") {
                continue;
            }
            let Value::Table(props) = value else {
                bail!("[kafka] must be a table of librdkafka properties");
            };
            for (k, v) in props {
                out.extend(["-X".to_string(), format!("{k}={}", scalar(k, v)?)]);
            }
            continue;
        }
        let arg = run
            .get_arguments()
            .find(|a| a.get_long() == Some(&key) && !NOT_SETTINGS.contains(&key.as_str()));
        let Some(arg) = arg else {
            bail!(
                "unknown setting {raw:?}; the settings are: kafka, {}",
                known.join(", ")
            );
        };
        if given.contains(&key) {
            continue;
        }
        let flag = format!("--{key}");
        let takes_value = arg.get_action().takes_values();
        match value {
            Value::Table(plugins) if key == "config" => {
                for (plugin, keys) in plugins {
                    let Value::Table(keys) = keys else {
                        bail!("[config.{plugin}] must be a table of that plugin's keys");
                    };
                    for (k, v) in keys {
                        out.extend([flag.clone(), format!("{plugin}.{k}={}", scalar(k, v)?)]);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    out.extend([flag.clone(), scalar(raw, item)?]);
                }
            }
            Value::Boolean(b) if !takes_value => {
                if *b {
                    out.push(flag);
                }
            }
            other => out.extend([flag, scalar(raw, other)?]),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_strs(args: &[&str]) -> Result<Vec<String>> {
        Ok(expand(args.iter().map(OsString::from).collect())?
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect())
    }

    #[test]
    fn file_settings_become_flags_and_command_line_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            "plugin = [\"parse_stock\", \"schema_filter\"]\ntopic = \"a\"\navailable_now = true\nnum-rows = 5\n[config.schema_filter]\nwhere = \"price > 1\"\n[kafka]\n\"client.id\" = \"x\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let args = expand_strs(&["host", "run", "--pipeline", path, "--topic", "b"]).unwrap();
        assert_eq!(
            args,
            [
                "host",
                "run",
                "--available-now",
                "--config",
                "schema_filter.where=price > 1",
                "-X",
                "client.id=x",
                "--num-rows",
                "5",
                "--plugin",
                "parse_stock",
                "--plugin",
                "schema_filter",
                "--pipeline",
                path,
                "--topic",
                "b"
            ]
        );
        let parsed = <Cli as clap::Parser>::try_parse_from(&args).unwrap();
        let crate::cli::Command::Run(run) = parsed.command else {
            panic!("not run")
        };
        assert_eq!(run.topic, ["b"]);
        assert_eq!(run.plugins, ["parse_stock", "schema_filter"]);
        assert_eq!(run.table.num_rows, 5);
    }

    #[test]
    fn unknown_settings_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "topics = \"a\"\n").unwrap();
        let path = file.to_str().unwrap();
        let err = expand_strs(&["host", "run", "--pipeline", path]).unwrap_err();
        assert!(
            format!("{err}").contains("unknown setting \"topics\""),
            "{err}"
        );
        std::fs::write(&file, "topic = \n").unwrap();
        let err = expand_strs(&["host", "run", "--pipeline", path]).unwrap_err();
        assert!(format!("{err}").contains("not valid TOML"), "{err}");
        let err = expand_strs(&["host", "run", "--pipeline", "/nonexistent.toml"]).unwrap_err();
        assert!(format!("{err}").contains("cannot read the file"), "{err}");
    }
}
