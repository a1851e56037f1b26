//! Typed access to a plugin's configuration pairs.

use crate::{ConfigKey, Error};
use std::str::FromStr;

/// The `key=value` pairs given to a plugin (`--config NAME.key=value`).
///
/// Reading a key marks it as known; after `init` the SDK rejects any key the
/// plugin never read, so a misspelt key is an error, not a silent default.
pub struct Config {
    entries: Vec<(String, String, bool)>,
}

impl Config {
    /// Wraps the pairs passed to `init`.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Config {
            entries: pairs.into_iter().map(|(k, v)| (k, v, false)).collect(),
        }
    }

    /// The value of `key` (the last one, if given twice).
    pub fn get(&mut self, key: &str) -> Option<&str> {
        let mut found = None;
        for (i, entry) in self.entries.iter_mut().enumerate() {
            if entry.0 == key {
                entry.2 = true;
                found = Some(i);
            }
        }
        found.map(|i| self.entries[i].1.as_str())
    }

    /// The value of `key`, or `default` when it is not given.
    pub fn get_or<'a>(&'a mut self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// The value of `key` parsed as `T`, or `default`; a `bad-config` error
    /// naming the key and the value when it does not parse.
    pub fn parse_or<T: FromStr>(&mut self, key: &str, default: T) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| Error::BadConfig(format!("config {key}={raw:?}: {e}"))),
        }
    }

    /// A `bad-config` error naming every key that was given but never read.
    pub fn reject_unknown(&self, known: &[String]) -> Result<(), Error> {
        let unknown: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| !e.2)
            .map(|e| e.0.as_str())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        };
        Err(Error::BadConfig(format!(
            "unknown config key{} {}; known keys: {known}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// Documents one config key for [`Transform::about`](crate::Transform::about).
pub fn key(name: &str, description: &str, default: Option<&str>) -> ConfigKey {
    ConfigKey {
        name: name.into(),
        description: description.into(),
        default: default.map(Into::into),
    }
}
