//! Where things are: the project root, the ring's state directory and its
//! files (as DESIGN.md "Setup and scripts" pins them), and the binaries.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The project root: the checkout `lwc` was built in (`target/release/lwc`
/// → two levels up), else the nearest directory above the current one with
/// `scripts/ring.toml`, else the current directory.
pub fn project_root() -> PathBuf {
    let is_root = |d: &Path| d.join("scripts/ring.toml").is_file();
    let from_exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
        .and_then(|e| e.parent()?.parent()?.parent().map(Path::to_path_buf));
    if let Some(root) = from_exe.filter(|d| is_root(d)) {
        return root;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors().find(|d| is_root(d)).map(Path::to_path_buf).unwrap_or(cwd)
}

/// The files of one ring.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

impl StateDir {
    pub fn new(dir: PathBuf) -> StateDir {
        StateDir { dir }
    }

    pub fn ring_env(&self) -> PathBuf {
        self.dir.join("ring.env")
    }

    /// lwc's own record of the ring (manifest, ports, host flags, supervisor).
    pub fn record(&self) -> PathBuf {
        self.dir.join("ring.json")
    }

    /// A nats-server's config: `nats.conf` for server 1, `nats-I.conf`.
    pub fn conf(&self, server: &str) -> PathBuf {
        self.dir.join(format!("{server}.conf"))
    }

    pub fn lock(&self) -> PathBuf {
        self.dir.join("ring.lock")
    }

    pub fn pid_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pid"))
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.logs().join(format!("{name}.log"))
    }

    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(self.logs()).with_context(|| format!("cannot create {}", self.logs().display()))
    }
}

/// A binary next to `lwc` (all of the workspace's land in target/release),
/// else on PATH.
pub fn sibling_or_path(name: &str) -> Option<PathBuf> {
    let sibling = std::env::current_exe().ok()?.parent()?.join(name);
    if sibling.is_file() {
        return Some(sibling);
    }
    on_path(name).into_iter().next()
}

fn on_path(name: &str) -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|d| d.join(name)).filter(|p| p.is_file()).collect()
}

/// The host binary: `$LWC_HOST_BIN`, else lwc-host next to lwc or on PATH.
pub fn host_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("LWC_HOST_BIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("LWC_HOST_BIN={} does not exist", p.display());
        }
        return Ok(p);
    }
    sibling_or_path("lwc-host")
        .context("lwc-host not found next to lwc or on PATH: build it with `cargo build --release` (scripts/ring.sh builds)")
}

/// A nats-server that runs, looked for where scripts/setup.sh installs one:
/// `$LWC_NATS_SERVER`, then `<root>/.lwc/venv/bin`, then every one on PATH.
pub fn nats_server(root: &Path) -> Result<PathBuf> {
    let works = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if let Some(p) = std::env::var_os("LWC_NATS_SERVER") {
        let p = PathBuf::from(p);
        if works(&p) {
            return Ok(p);
        }
        bail!("LWC_NATS_SERVER={} does not run: fix or unset it, or run scripts/setup.sh", p.display());
    }
    let venv = root.join(".lwc/venv/bin/nats-server");
    std::iter::once(venv)
        .chain(on_path("nats-server"))
        .find(|p| works(p))
        .context("nats-server not found (looked at $LWC_NATS_SERVER, .lwc/venv/bin and PATH): run scripts/setup.sh to install it")
}
