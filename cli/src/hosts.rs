//! Host processes: the `lwc-host` command line for one host of the
//! manifest or several packed into one process, which server of the ring
//! it connects to, starting it, and its log.

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
    fn command(&self, hosts: &[String]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.root).arg("--manifest").arg(&self.record.manifest);
        for host in hosts {
            cmd.args(["--host", host]);
        }
        cmd.env("LWC_NATS_URL", self.nats_url_for(&hosts[0]))
            .env("LWC_NATS_TOKEN", &self.env.nats_token)
            .env("LWC_LATTICE", &self.env.lattice);
        let serves_http = hosts.iter().any(|h| self.manifest.components_on(h).any(|c| c.http.is_some()));
        if let (true, Some(addr)) = (serves_http, self.record.http_override) {
            cmd.arg("--http").arg(addr.to_string());
        }
        cmd.args(&self.record.host_args);
        cmd
    }

    /// The server a process whose first host is `host` connects to: hosts
    /// are spread over a cluster's servers by their place in the manifest
    /// (control, first by name, on server 1). It learns the others from
    /// that server's INFO and fails over to them.
    pub fn nats_url_for(&self, host: &str) -> String {
        let servers = &self.record.nats;
        if servers.is_empty() {
            return self.env.nats_url.clone();
        }
        let place = self.manifest.hosts.keys().position(|h| h == host).unwrap_or(0);
        servers[place % servers.len()].url()
    }

    /// Start one process for `hosts` (one, or several packed), write each
    /// host's pid file, and return the pid.
    pub fn start(&self, state: &StateDir, hosts: &[String], tie: Tie) -> Result<u32> {
        anyhow::ensure!(!hosts.is_empty(), "no host to start");
        let log = state.log(&log_name(hosts));
        log_banner(&log, &hosts.join(","));
        let pid = procs::spawn(self.command(hosts), &log, tie)?;
        for host in hosts {
            state::write_pid(state, host, pid)?;
        }
        Ok(pid)
    }
}

/// The log of a process: `<host>.log`, or `<first>+<n-1>.log` for a
/// process of n hosts.
pub fn log_name(hosts: &[String]) -> String {
    match hosts {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first}+{}", rest.len()),
        [] => "none".into(),
    }
}

/// The log where `host`'s lines are: its own, else that of the packed
/// process it runs in (found by the pid they share).
pub fn log_of(state: &StateDir, host: &str) -> PathBuf {
    let own = state.log(host);
    if own.exists() {
        return own;
    }
    let Some(pid) = state::read_pid(state, host) else {
        return own;
    };
    let packed: Vec<String> = state::pid_names(state)
        .into_iter()
        .filter(|h| state::read_pid(state, h) == Some(pid))
        .collect();
    let packed_log = state.log(&log_name(&packed));
    if packed_log.exists() {
        packed_log
    } else {
        own
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
