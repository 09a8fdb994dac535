//! Host processes: the `lwc-host` command line for one host of the
//! manifest or several packed into one process, which server of the ring
//! it connects to, starting it, and its log.

use anyhow::Result;
use std::io::{Read, Write};
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
    fn command(&self, state: &StateDir, hosts: &[String]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.root).arg("--manifest").arg(&self.record.manifest);
        for host in hosts {
            cmd.args(["--host", host]);
        }
        cmd.env("LWC_NATS_URL", self.nats_url_for(&hosts[0]))
            .env("LWC_NATS_TOKEN", &self.env.nats_token)
            .env("LWC_LATTICE", &self.env.lattice)
            // Outlives the ring (`lwc down` keeps it): the next ring and any
            // host started again load their components instead of compiling.
            .env("LWC_COMPILE_CACHE", compile_cache(state));
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
        let pid = procs::spawn(self.command(state, hosts), &log, tie)?;
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

/// Where the ring's hosts keep compiled components (`--compile-cache`).
pub fn compile_cache(state: &StateDir) -> PathBuf {
    state.dir.join("compile-cache")
}

/// The log where `host`'s lines are: its own, else that of the packed
/// process it was started in: the newest `<first>+<n>.log` whose start
/// banner names it (a neighbour dropped since does not change the name).
pub fn log_of(state: &StateDir, host: &str) -> PathBuf {
    let own = state.log(host);
    if own.exists() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(state.logs()) else {
        return own;
    };
    let mut packed: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains('+')))
        .filter(|p| banner_names(p, host))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    packed.sort();
    packed.pop().map_or(own, |(_, p)| p)
}

/// Whether the first line of `log` is a start banner listing `host`.
fn banner_names(log: &Path, host: &str) -> bool {
    use std::io::BufRead;
    let Ok(f) = std::fs::File::open(log) else { return false };
    let mut first = String::new();
    let _ = std::io::BufReader::new(f).take(64 << 10).read_line(&mut first);
    first
        .strip_prefix("=== lwc: starting ")
        .and_then(|rest| rest.split(' ').next())
        .is_some_and(|names| names.split(',').any(|n| n == host))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_host_s_log_is_found_by_its_banner() {
        let dir = std::env::temp_dir().join(format!("lwc-hosts-test-{}", std::process::id()));
        let state = StateDir::new(dir.clone());
        std::fs::create_dir_all(state.logs()).unwrap();
        let hosts: Vec<String> = ["p001", "p002", "p003"].map(String::from).into();
        let log = state.log(&log_name(&hosts));
        log_banner(&log, &hosts.join(","));
        assert_eq!(log_of(&state, "p002"), log);
        assert_eq!(log_of(&state, "p004"), state.log("p004"), "in no banner: its own");
        // Started again on its own: its own log from then on.
        log_banner(&state.log("p002"), "p002");
        assert_eq!(log_of(&state, "p002"), state.log("p002"));
        assert!(!banner_names(&log, "p00"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
