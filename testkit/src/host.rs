//! Starting `lwc-host` processes and knowing when they serve.
//!
//! A host started with `--ready-file PATH` writes PATH once it is connected
//! and subscribed: the first line is its pid; a host that bound an HTTP
//! listener (`--http 127.0.0.1:0`) adds `http=127.0.0.1:PORT`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// How a control host's HTTP port is chosen. [`http_plan`] returns `Bind`:
/// hosts get `--http 127.0.0.1:0`, the control host picks a free port
/// itself and says which in its ready file (`http=...`), which
/// [`wait_ready`] reads back. `Manifest` (a port found free, then written
/// into the manifest) is racy: something else may bind it first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpPlan {
    /// The manifest's control `http` is `127.0.0.1:PORT`.
    Manifest(u16),
    /// Hosts get `--http 127.0.0.1:0` and report what they bound.
    Bind,
}

/// The one switch between the two ways of [`HttpPlan`].
pub fn http_plan() -> Result<HttpPlan> {
    Ok(HttpPlan::Bind)
}

impl HttpPlan {
    /// The port to write into the manifest (a placeholder when hosts bind).
    pub fn manifest_port(self) -> u16 {
        match self {
            HttpPlan::Manifest(port) => port,
            HttpPlan::Bind => 30000,
        }
    }

    /// Flags for every host.
    pub fn host_args(self) -> Vec<String> {
        match self {
            HttpPlan::Manifest(_) => Vec::new(),
            HttpPlan::Bind => vec!["--http".into(), "127.0.0.1:0".into()],
        }
    }

    /// The control URL before any host reported one.
    pub fn url(self) -> String {
        format!("http://127.0.0.1:{}", self.manifest_port())
    }
}

/// What a ready file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub pid: u32,
    /// `127.0.0.1:PORT`, when the host serves HTTP on an address it bound.
    pub http: Option<String>,
}

impl Ready {
    /// Parse a complete ready file (every line ends with a newline, so a
    /// file seen half-written is `None`).
    pub fn parse(text: &str) -> Option<Ready> {
        if !text.ends_with('\n') {
            return None;
        }
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let http = lines.find_map(|l| l.strip_prefix("http=")).map(|a| a.trim().to_string());
        Some(Ready { pid, http })
    }
}

/// How to start one `lwc-host` process.
#[derive(Clone, Debug)]
pub struct HostCmd {
    bin: PathBuf,
    manifest: PathBuf,
    hosts: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    nats_url: String,
    nats_token: String,
    rust_log: String,
    prefix: Vec<String>,
}

impl HostCmd {
    /// `bin --manifest manifest`, on the NATS server at `url` with `token`.
    pub fn new(bin: &Path, manifest: &Path, url: &str, token: &str) -> HostCmd {
        HostCmd {
            bin: bin.to_path_buf(),
            manifest: manifest.to_path_buf(),
            hosts: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            nats_url: url.to_string(),
            nats_token: token.to_string(),
            rust_log: "info".into(),
            prefix: Vec::new(),
        }
    }

    /// Run the host through these words first, e.g. `ip netns exec NS`
    /// (which execs it: the pid is the host's).
    pub fn prefix<S: AsRef<str>>(mut self, words: impl IntoIterator<Item = S>) -> HostCmd {
        self.prefix = words.into_iter().map(|w| w.as_ref().to_string()).collect();
        self
    }

    /// Run this host (`--host`; a comma list runs several in one process).
    pub fn host(mut self, host: &str) -> HostCmd {
        self.hosts.push(host.to_string());
        self
    }

    /// Extra flags.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> HostCmd {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Extra environment. `OTEL_*` variables of our own environment are
    /// never passed on: a host exports only when asked here.
    pub fn envs<K: AsRef<str>, V: AsRef<str>>(mut self, env: impl IntoIterator<Item = (K, V)>) -> HostCmd {
        self.env.extend(env.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string())));
        self
    }

    /// `RUST_LOG` for the host (default `info`).
    pub fn rust_log(mut self, filter: &str) -> HostCmd {
        self.rust_log = filter.to_string();
        self
    }

    /// Start it, named `name`, stderr appended to `log`; it will write
    /// `ready_file` (removed first) once it serves.
    pub fn spawn(&self, name: &str, ready_file: &Path, log: &Path) -> Result<Proc> {
        let _ = std::fs::remove_file(ready_file);
        let mut cmd = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("OTEL_") {
                cmd.env_remove(var);
            }
        }
        cmd.arg("--manifest").arg(&self.manifest);
        for h in &self.hosts {
            cmd.args(["--host", h]);
        }
        cmd.arg("--ready-file")
            .arg(ready_file)
            .args(&self.args)
            .env("LWC_NATS_URL", &self.nats_url)
            .env("LWC_NATS_TOKEN", &self.nats_token)
            .env("RUST_LOG", &self.rust_log)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        Proc::spawn(name, cmd, log)
    }
}

/// Wait until `proc` has written `ready_file` (with an `http=` line when
/// `want_http`); fail at once, with its log, if it exits first.
pub fn wait_ready(proc: &mut Proc, ready_file: &Path, within: Duration, want_http: bool) -> Result<Ready> {
    let what = format!("host {} to be ready", proc.name);
    crate::wait::until(within, &what, || {
        if let Some(ready) = std::fs::read_to_string(ready_file).ok().and_then(|t| Ready::parse(&t)) {
            if ready.http.is_some() || !want_http {
                return Ok(Some(ready));
            }
        }
        if !proc.is_running() {
            bail!("host {} exited: {}", proc.name, proc.log_tail(20));
        }
        Ok(None)
    })
    .with_context(|| format!("log of {}: {}", proc.name, proc.log_tail(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pid_and_http_lines() {
        assert_eq!(Ready::parse("123\n"), Some(Ready { pid: 123, http: None }));
        assert_eq!(
            Ready::parse("123\nhttp=127.0.0.1:40001\n"),
            Some(Ready {
                pid: 123,
                http: Some("127.0.0.1:40001".into())
            })
        );
        assert_eq!(Ready::parse("12"), None, "half-written");
        assert_eq!(Ready::parse(""), None);
        assert_eq!(Ready::parse("pid\n"), None);
    }

    #[test]
    fn a_host_that_exits_fails_the_wait_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo cannot read manifest >&2; exit 1"]);
        let mut p = Proc::spawn("north", cmd, &dir.path().join("log")).unwrap();
        let err = wait_ready(&mut p, &dir.path().join("ready"), Duration::from_secs(20), false).unwrap_err();
        assert!(format!("{err:#}").contains("cannot read manifest"), "{err:#}");
    }
}
