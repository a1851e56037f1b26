//! Compiled plugins on disk, so a restart does not pay for Cranelift again.
//!
//! The key is the SHA-256 of the component's bytes plus wasmtime's
//! `precompile_compatibility_hash` (engine version and settings): a changed
//! plugin or a changed host never loads a stale artifact. Files are written
//! atomically (temp file + rename); a cache that cannot be written is a
//! warning, never an error.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a load was served from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded the precompiled artifact at this path.
    Hit(PathBuf),
    /// Compiled, and stored at this path.
    Stored(PathBuf),
    /// Compiled; not stored (no cache directory, or it was not writable).
    Uncached,
}

/// The cache directory: `--cache-dir`, else `$SLUICE_CACHE_DIR`, else the
/// user's cache directory (`~/.cache/sluice` on Linux).
pub fn default_dir() -> Option<PathBuf> {
    std::env::var_os("SLUICE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("sluice")))
}

/// The hex SHA-256 of a plugin's bytes (shown by `host inspect`).
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn path_for(dir: &Path, engine: &Engine, hash: &str) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("{hash}-{:016x}.cwasm", hasher.finish()))
}

/// Compiles `bytes`, or loads the artifact cached for them.
pub fn load(
    engine: &Engine,
    dir: Option<&Path>,
    bytes: &[u8],
    hash: &str,
) -> Result<(Component, CacheStatus)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, CacheStatus::Uncached));
    };
    let path = path_for(dir, engine, hash);
    if path.exists() {
        match deserialize(engine, &path) {
            Ok(component) => return Ok((component, CacheStatus::Hit(path))),
            Err(err) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cached plugin: {err:#}")
            }
        }
    }
    let component = Component::new(engine, bytes)?;
    match store(dir, &path, &component) {
        Ok(()) => Ok((component, CacheStatus::Stored(path))),
        Err(err) => {
            tracing::warn!(dir = %dir.display(), "cannot write the plugin cache (set --cache-dir to a writable directory): {err:#}");
            Ok((component, CacheStatus::Uncached))
        }
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> Result<Component> {
    // SAFETY: the file was produced by `Component::serialize` of this same
    // engine configuration (the compatibility hash is in its name) and written
    // atomically into the user's own cache directory. wasmtime additionally
    // checks the artifact's header and version. Anyone who can write that
    // directory can already run code as this user.
    let component = unsafe { Component::deserialize_file(engine, path) }?;
    Ok(component)
}

fn store(dir: &Path, path: &Path, component: &Component) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bytes = component.serialize()?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path)?;
    Ok(())
}
