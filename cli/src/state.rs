//! The ring's state files: `ring.env` (what other tools read), `ring.json`
//! (what lwc itself remembers), the pid files, and the lock that keeps two
//! lwc calls from changing one ring at once.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::paths::StateDir;

/// `ring.env`: KEY=VALUE lines, exactly the four keys DESIGN.md pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingEnv {
    pub nats_url: String,
    pub nats_token: String,
    pub http: String,
    pub lattice: String,
}

impl RingEnv {
    pub fn to_text(&self) -> String {
        format!(
            "LWC_NATS_URL={}\nLWC_NATS_TOKEN={}\nLWC_HTTP={}\nLWC_LATTICE={}\n",
            self.nats_url, self.nats_token, self.http, self.lattice
        )
    }

    pub fn parse(text: &str) -> Result<RingEnv> {
        let get = |key: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_string())
        };
        let need = |key: &str| get(key).with_context(|| format!("no {key}= line"));
        Ok(RingEnv {
            nats_url: need("LWC_NATS_URL")?,
            nats_token: get("LWC_NATS_TOKEN").unwrap_or_default(),
            http: get("LWC_HTTP").unwrap_or_default(),
            lattice: get("LWC_LATTICE").unwrap_or_else(|| "default".into()),
        })
    }

    pub fn load(state: &StateDir) -> Result<Option<RingEnv>> {
        let path = state.ring_env();
        match std::fs::read_to_string(&path) {
            Ok(text) => RingEnv::parse(&text).map(Some).with_context(|| format!("bad {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The URL with the token, for messages (the token is never printed).
    pub fn describe(&self) -> String {
        let http = if self.http.is_empty() { "no HTTP API" } else { &self.http };
        format!("{http} (lattice {}, nats {})", self.lattice, self.nats_url)
    }
}

/// `ring.json`: how the ring was started, so `lwc start HOST` starts a host
/// the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub manifest: PathBuf,
    /// The HTTP address given with `--http-port`, if any.
    pub http_override: Option<std::net::SocketAddr>,
    pub host_args: Vec<String>,
    /// The attached `lwc up` that owns the ring, if any: what it started
    /// dies with it, and so must what others start later (see guard).
    pub supervisor: Option<u32>,
    /// The ring's nats-servers: one, or a local cluster (`up --cluster K`).
    /// Empty in records of older lwc: one server, at LWC_NATS_URL.
    #[serde(default)]
    pub nats: Vec<crate::nats::Server>,
    /// Hosts per lwc-host process, for hosts started into the ring later.
    #[serde(default)]
    pub per_process: Option<u16>,
}

impl Record {
    pub fn load(state: &StateDir) -> Option<Record> {
        let text = std::fs::read_to_string(state.record()).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save(&self, state: &StateDir) -> Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        write_private(&state.record(), json.as_bytes())
    }
}

/// Write a file only this user can read, atomically (temp file, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

pub fn write_pid(state: &StateDir, name: &str, pid: u32) -> Result<()> {
    write_private(&state.pid_file(name), format!("{pid}\n").as_bytes())
}

pub fn read_pid(state: &StateDir, name: &str) -> Option<u32> {
    std::fs::read_to_string(state.pid_file(name)).ok()?.trim().parse().ok()
}

pub fn remove_pid(state: &StateDir, name: &str) {
    let _ = std::fs::remove_file(state.pid_file(name));
}

/// Names with a pid file, hosts in name order (nats-servers excluded).
pub fn pid_names(state: &StateDir) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(&state.dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".pid").map(str::to_string))
        .filter(|n| !crate::nats::is_server_name(n))
        .collect();
    names.sort();
    names
}

/// The nats-servers with a pid file: `nats` first, then `nats-2`, ….
pub fn server_names(state: &StateDir) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(&state.dir) else {
        return Vec::new();
    };
    let mut names: Vec<(u16, String)> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".pid").map(str::to_string))
        .filter(|n| crate::nats::is_server_name(n))
        .map(|n| (n.strip_prefix("nats-").and_then(|i| i.parse().ok()).unwrap_or(1), n))
        .collect();
    names.sort();
    names.into_iter().map(|(_, n)| n).collect()
}

/// Remove every state file of a stopped ring (logs stay for a post-mortem).
pub fn clear(state: &StateDir) {
    for name in pid_names(state) {
        remove_pid(state, &name);
    }
    for name in server_names(state) {
        remove_pid(state, &name);
        let _ = std::fs::remove_file(state.conf(&name));
    }
    for f in [state.ring_env(), state.conf("nats"), state.record()] {
        let _ = std::fs::remove_file(f);
    }
    // Ready files of rings started by the old scripts/ring.sh.
    if let Ok(entries) = std::fs::read_dir(&state.dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(".ready") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// An exclusive lock on `ring.lock`, released on drop (or when lwc dies).
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Wait for the lock; say who is waiting after a moment.
    pub fn take(state: &StateDir) -> Result<Lock> {
        std::fs::create_dir_all(&state.dir).with_context(|| format!("cannot create {}", state.dir.display()))?;
        let path: PathBuf = state.lock();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            eprintln!("lwc: waiting for another lwc call on {}", state.dir.display());
            // SAFETY: as above; blocking this time.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                bail!("cannot lock {}: {}", path.display(), std::io::Error::last_os_error());
            }
        }
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_env_round_trips_and_tolerates_extra_lines() {
        let env = RingEnv {
            nats_url: "nats://127.0.0.1:4222".into(),
            nats_token: "abc".into(),
            http: "http://127.0.0.1:30000".into(),
            lattice: "default".into(),
        };
        assert_eq!(RingEnv::parse(&env.to_text()).unwrap(), env);
        let more = format!("# comment\n{}OTHER=1\n", env.to_text());
        assert_eq!(RingEnv::parse(&more).unwrap(), env);
        assert!(RingEnv::parse("LWC_HTTP=x\n").is_err());
    }
}
