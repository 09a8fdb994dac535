//! Host processes: the `lwc-host` command line for one host of the
//! manifest, starting it, and its log.

use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::paths::StateDir;
use crate::procs::{self, Tie};
use crate::state::{self, Record, RingEnv};

/// Everything needed to start any host of a ring.
#[derive(Debug, Clone)]
pub struct HostLauncher {
    pub bin: PathBuf,
    pub manifest: lwc_manifest::Manifest,
    pub record: Record,
    pub env: RingEnv,
    pub root: PathBuf,
}

impl HostLauncher {
    fn command(&self, host: &str) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.root)
            .arg("--manifest")
            .arg(&self.record.manifest)
            .args(["--host", host])
            .env("LWC_NATS_URL", &self.env.nats_url)
            .env("LWC_NATS_TOKEN", &self.env.nats_token)
            .env("LWC_LATTICE", &self.env.lattice);
        let serves_http = self.manifest.components_on(host).any(|c| c.http.is_some());
        if let (true, Some(addr)) = (serves_http, self.record.http_override) {
            cmd.arg("--http").arg(addr.to_string());
        }
        cmd.args(&self.record.host_args);
        cmd
    }

    /// Start `host`, write its pid file, and return its pid.
    pub fn start(&self, state: &StateDir, host: &str, tie: Tie) -> Result<u32> {
        let log = state.log(host);
        log_banner(&log, host);
        let pid = procs::spawn(self.command(host), &log, tie)?;
        state::write_pid(state, host, pid)?;
        Ok(pid)
    }
}

/// A line in the log before each start, so restarts can be told apart.
pub fn log_banner(log: &Path, name: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let _ = writeln!(f, "=== lwc: starting {name} (unix time {now})");
    }
}

/// The last lines of a log, indented, for an error message ("" if none).
pub fn log_tail(log: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(log) else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    format!("; last lines of {}:\n    {}", log.display(), tail.join("\n    "))
}
