//! The compile cache (`--compile-cache DIR`): compiled components on disk,
//! so that a restarted host, or the next test ring, loads in milliseconds
//! what Cranelift takes a second or more to compile.
//!
//! An entry is named by a hash of the wasm bytes and of the engine's
//! compatibility hash (compiler, flags, wasmtime version): another wasm, or
//! an engine configured otherwise, is another entry. Its file is
//! `Component::serialize` followed by a trailer (a checksum of those bytes
//! and a magic word), written whole (a temporary file, then a rename). An
//! entry that is short, has another trailer or checksum, or that wasmtime
//! refuses, is compiled again and replaced: a cache never fails a start.
//! Processes starting together take a lock per entry, so one compiles and
//! the others load what it stored.

use anyhow::{Context, Result};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Ends every entry, after its checksum; the version is this format's.
const MAGIC: &[u8; 8] = b"lwcCC\x00\x00\x01";
const TRAILER: usize = 16;
/// Entries kept: older ones (by modification time) are removed when a new
/// one is stored, so rebuilt components do not pile up.
const KEEP: usize = 32;

/// Where compiled components are kept, and how often they were found.
pub struct CompileCache {
    dir: PathBuf,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl CompileCache {
    /// A cache in `dir`, created if missing.
    pub fn open(dir: &Path) -> Result<CompileCache> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the compile cache {}", dir.display()))?;
        Ok(CompileCache {
            dir: dir.to_path_buf(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component of `wasm` (its bytes, read from `path`): from the
    /// cache, else compiled by `compile` and stored.
    pub fn load(&self, engine: &Engine, path: &Path, wasm: &[u8], compile: impl FnOnce() -> Result<Component>) -> Result<Component> {
        let entry = self.dir.join(format!("{}.cwasm", key(engine, wasm)));
        // Held until stored: a process starting beside us waits, then hits.
        let _lock = lock(&entry);
        match read(engine, &entry) {
            Ok(Some(component)) => {
                self.hits.fetch_add(1, Relaxed);
                tracing::info!(component = %path.display(), entry = %entry.display(), "loaded from the compile cache");
                return Ok(component);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(entry = %entry.display(), "compile cache entry unusable, compiling again: {e:#}"),
        }
        self.misses.fetch_add(1, Relaxed);
        let component = compile()?;
        match store(&entry, &component) {
            Ok(()) => {
                tracing::info!(component = %path.display(), entry = %entry.display(), "compiled; stored in the compile cache");
                self.prune(&entry);
            }
            // A full disk or a read-only directory costs the next start a
            // compile, nothing more.
            Err(e) => tracing::warn!(entry = %entry.display(), "cannot store in the compile cache: {e:#}"),
        }
        Ok(component)
    }

    /// Remove all but the newest [`KEEP`] entries (never `keep`).
    fn prune(&self, keep: &Path) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else { return };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm") && p != keep)
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        entries.sort();
        let excess = (entries.len() + 1).saturating_sub(KEEP);
        for (_, p) in entries.into_iter().take(excess) {
            let _ = std::fs::remove_file(&p);
            let _ = std::fs::remove_file(p.with_extension("lock"));
        }
    }
}

/// 128 bits, hex: two keyed SipHashes of the wasm and the engine's
/// compatibility hash. (Not against an adversary: whoever can write the
/// cache directory can replace the binary too.)
fn key(engine: &Engine, wasm: &[u8]) -> String {
    let half = |seed: u8| {
        let mut h = std::hash::DefaultHasher::new();
        seed.hash(&mut h);
        wasm.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// An exclusive lock on `<entry>.lock`, released on drop; none if the
/// lock file cannot be made (then processes may both compile: harmless).
fn lock(entry: &Path) -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(entry.with_extension("lock"))
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

/// The entry's component; `None` if there is no entry; Err if it is unusable.
fn read(engine: &Engine, entry: &Path) -> Result<Option<Component>> {
    let bytes = match std::fs::read(entry) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("cannot read it"),
    };
    let body = verified(&bytes)?;
    // SAFETY: `body` is what `Component::serialize` wrote (its checksum
    // matches), in a directory only the cache's user writes; wasmtime itself
    // refuses an artifact of another version or engine configuration.
    let component = unsafe { Component::deserialize(engine, body) }.map_err(anyhow::Error::from)?;
    Ok(Some(component))
}

/// The serialized component in `bytes`, if its trailer says it is whole.
fn verified(bytes: &[u8]) -> Result<&[u8]> {
    anyhow::ensure!(bytes.len() > TRAILER, "{} bytes: too short", bytes.len());
    let (body, trailer) = bytes.split_at(bytes.len() - TRAILER);
    anyhow::ensure!(&trailer[8..] == MAGIC, "not an lwc compile cache entry (or another version of one)");
    let want = u64::from_le_bytes(trailer[..8].try_into().context("trailer")?);
    anyhow::ensure!(checksum(body) == want, "checksum mismatch: the entry is damaged");
    Ok(body)
}

/// Write `component` to `entry` whole: a temporary file, then a rename.
fn store(entry: &Path, component: &Component) -> Result<()> {
    let body = component.serialize().map_err(anyhow::Error::from)?;
    let tmp = entry.with_extension(format!("{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.write_all(&checksum(&body).to_le_bytes())?;
        f.write_all(MAGIC)?;
        f.sync_all()
    };
    if let Err(e) = write().and_then(|()| std::fs::rename(&tmp, entry)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", entry.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailer_guards_the_body() {
        let body = b"some serialized component".to_vec();
        let mut entry = body.clone();
        entry.extend_from_slice(&checksum(&body).to_le_bytes());
        entry.extend_from_slice(MAGIC);
        assert_eq!(verified(&entry).unwrap(), &body[..]);

        let mut flipped = entry.clone();
        flipped[3] ^= 1;
        assert!(format!("{:#}", verified(&flipped).unwrap_err()).contains("checksum"));
        let err = format!("{:#}", verified(&entry[..entry.len() - 1]).unwrap_err());
        assert!(err.contains("not an lwc compile cache entry"), "{err}");
        assert!(verified(b"short").is_err());
    }

    #[test]
    fn keys_differ_by_wasm_and_are_stable() {
        let engine = Engine::default();
        assert_eq!(key(&engine, b"a"), key(&engine, b"a"));
        assert_ne!(key(&engine, b"a"), key(&engine, b"b"));
        assert_eq!(key(&engine, b"a").len(), 32);
    }
}
