//! What every subcommand starts from: the project root, the state
//! directory, the manifest, and what of the ring is running now.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use lwc_manifest::Manifest;

use crate::paths::{self, StateDir};
use crate::procs::{self, Running};
use crate::state::{Record, RingEnv};

pub struct Ctx {
    pub root: PathBuf,
    pub state: StateDir,
    manifest_flag: Option<PathBuf>,
}

impl Ctx {
    pub fn new(dir: Option<PathBuf>, manifest: Option<PathBuf>) -> Ctx {
        let root = paths::project_root();
        let dir = dir.unwrap_or_else(|| root.join(".lwc"));
        Ctx {
            root,
            state: StateDir::new(absolute(&dir)),
            manifest_flag: manifest,
        }
    }

    /// The manifest to start a ring from: `--manifest`, else scripts/ring.toml.
    pub fn manifest_for_up(&self) -> Result<(PathBuf, Manifest)> {
        let path = self.manifest_flag.clone().unwrap_or_else(|| self.root.join("scripts/ring.toml"));
        load(&path)
    }

    /// The manifest of the running ring: `--manifest`, else the one it was
    /// started with, else scripts/ring.toml.
    pub fn manifest_of_ring(&self) -> Result<(PathBuf, Manifest)> {
        let path = self
            .manifest_flag
            .clone()
            .or_else(|| Record::load(&self.state).map(|r| r.manifest))
            .unwrap_or_else(|| self.root.join("scripts/ring.toml"));
        load(&path)
    }

    /// The ring's environment if it is up: ring.env present and its
    /// nats-server alive.
    pub fn ring_up(&self) -> Result<Option<RingEnv>> {
        let env = RingEnv::load(&self.state)?;
        Ok(env.filter(|_| self.running("nats").is_some()))
    }

    pub fn require_ring(&self) -> Result<RingEnv> {
        match self.ring_up()? {
            Some(env) => Ok(env),
            None => bail!(
                "no ring is up in {} (no live nats-server); start one with `lwc up --detach` or scripts/ring.sh --detach",
                self.state.dir.display()
            ),
        }
    }

    /// The pid of `name` if its pid file names a live process of ours.
    pub fn running(&self, name: &str) -> Option<u32> {
        let pid = crate::state::read_pid(&self.state, name)?;
        procs::is_ours(pid, procs::program_of(name)).then_some(pid)
    }

    /// Every live process with a pid file: hosts first, nats last (so hosts
    /// can settle their packets while the server is still up).
    pub fn running_all(&self) -> Vec<Running> {
        let mut all: Vec<Running> = crate::state::pid_names(&self.state)
            .into_iter()
            .filter_map(|name| Some(Running { pid: self.running(&name)?, name }))
            .collect();
        if let Some(pid) = self.running("nats") {
            all.push(Running { name: "nats".into(), pid });
        }
        all
    }

    /// The attached `lwc up` that owns the ring, if it is still alive.
    pub fn supervisor(&self) -> Option<u32> {
        let pid = Record::load(&self.state)?.supervisor?;
        (pid != std::process::id() && procs::is_ours(pid, "lwc")).then_some(pid)
    }
}

/// Fail with the list of hosts unless `host` is one of the manifest's.
pub fn check_host(manifest: &Manifest, path: &Path, host: &str) -> Result<()> {
    if manifest.hosts.contains_key(host) {
        return Ok(());
    }
    if host.is_empty() {
        bail!("missing HOST; hosts in {}: {}", path.display(), manifest.host_list());
    }
    bail!("unknown host {host:?}; hosts in {}: {}", path.display(), manifest.host_list())
}

fn load(path: &Path) -> Result<(PathBuf, Manifest)> {
    let path = absolute(path);
    let manifest = Manifest::load(&path)?;
    Ok((path, manifest))
}

fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    joined.canonicalize().unwrap_or(joined)
}

/// The host binary, with context.
pub fn host_bin() -> Result<PathBuf> {
    paths::host_bin().context("cannot start hosts")
}
