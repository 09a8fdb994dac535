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

    /// The manifest of the running ring: the one it was started with (a
    /// generated one too), else `--manifest`, else scripts/ring.toml.
    pub fn manifest_of_ring(&self) -> Result<(PathBuf, Manifest)> {
        let path = Record::load(&self.state)
            .map(|r| r.manifest)
            .filter(|m| !m.as_os_str().is_empty())
            .or_else(|| self.manifest_flag.clone())
            .unwrap_or_else(|| self.root.join("scripts/ring.toml"));
        load(&path)
    }

    /// The ring's environment if it is up: ring.env present and one of its
    /// nats-servers alive.
    pub fn ring_up(&self) -> Result<Option<RingEnv>> {
        let env = RingEnv::load(&self.state)?;
        let serving = crate::state::server_names(&self.state).iter().any(|n| self.running(n).is_some());
        Ok(env.filter(|_| serving))
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

    /// Every live host with its pid, in name order (hosts packed into one
    /// process share its pid).
    pub fn running_hosts(&self) -> Vec<Running> {
        crate::state::pid_names(&self.state)
            .into_iter()
            .filter_map(|name| Some(Running { pid: self.running(&name)?, name }))
            .collect()
    }

    /// Every live process with a pid file, once each: hosts first, the
    /// nats-servers last (so hosts can settle their packets while a server
    /// is still up). A process of several hosts is named by its first.
    pub fn running_all(&self) -> Vec<Running> {
        let (mut all, servers) = self.running_split();
        all.extend(servers);
        all
    }

    /// The ring's running processes: (host processes, one entry per
    /// process; nats-servers).
    pub fn running_split(&self) -> (Vec<Running>, Vec<Running>) {
        let mut hosts: Vec<Running> = Vec::new();
        for host in self.running_hosts() {
            match hosts.iter_mut().find(|p| p.pid == host.pid) {
                Some(p) if !p.name.ends_with('…') => p.name.push('…'),
                Some(_) => {}
                None => hosts.push(host),
            }
        }
        let servers = crate::state::server_names(&self.state)
            .into_iter()
            .filter_map(|name| self.running(&name).map(|pid| Running { name, pid }))
            .collect();
        (hosts, servers)
    }

    /// Stop the whole ring in the order that loses nothing: probe hosts
    /// first, which settle their packets while the lattice is still there
    /// and report the fates to the control host; then the control host, the
    /// fates' witness; then the nats-servers.
    pub async fn stop_ring(&self, signals: &mut crate::signals::Signals) {
        let (hosts, servers) = self.running_split();
        let control = self
            .manifest_of_ring()
            .ok()
            .and_then(|(_, m)| m.http_component().map(|c| c.host.clone()));
        let is_control = |p: &Running| control.as_deref().is_some_and(|c| p.name.trim_end_matches('…') == c);
        let (last, first): (Vec<Running>, Vec<Running>) = hosts.into_iter().partition(is_control);
        procs::stop_all(&first, signals).await;
        procs::stop_all(&last, signals).await;
        procs::stop_all(&servers, signals).await;
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

impl Ctx {
    /// Load the manifest at `path` (made absolute).
    pub fn load_manifest(&self, path: &Path) -> Result<(PathBuf, Manifest)> {
        load(path)
    }
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
