//! The ring the experiment runs against: where it is (`.lwc/ring.env`, or
//! flags / environment), its HTTP API, and the command that kills and
//! starts hosts (`scripts/ring.sh --kill/--start HOST`).

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach a ring.
#[derive(Debug, Clone)]
pub struct RingAddr {
    pub nats_url: String,
    pub nats_token: Option<String>,
    pub http: String,
    pub lattice: String,
    /// Run as `CMD --kill HOST`, `CMD --start HOST`, `CMD --restart-nats`.
    pub ring_cmd: PathBuf,
}

/// What the command line and environment said; the rest comes from `env_file`.
#[derive(Debug, Clone, Default)]
pub struct RingArgs {
    pub nats_url: Option<String>,
    pub nats_token: Option<String>,
    pub http: Option<String>,
    pub lattice: Option<String>,
    pub env_file: PathBuf,
    pub ring_cmd: PathBuf,
}

impl RingArgs {
    /// Fill what is missing from the ring's env file (KEY=VALUE lines).
    pub fn resolve(&self) -> Result<RingAddr> {
        let file = read_env_file(&self.env_file);
        let pick = |given: &Option<String>, key: &str| given.clone().or_else(|| file_value(&file, key));
        let (Some(nats_url), Some(http)) = (pick(&self.nats_url, "LWC_NATS_URL"), pick(&self.http, "LWC_HTTP")) else {
            bail!(
                "no ring found: {} is missing or incomplete and no --nats/--http given; start one with scripts/ring.sh --detach",
                self.env_file.display()
            );
        };
        Ok(RingAddr {
            nats_url,
            nats_token: pick(&self.nats_token, "LWC_NATS_TOKEN").filter(|t| !t.is_empty()),
            http: http.trim_end_matches('/').to_string(),
            lattice: pick(&self.lattice, "LWC_LATTICE").unwrap_or_else(|| "default".into()),
            ring_cmd: self.ring_cmd.clone(),
        })
    }
}

fn read_env_file(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').trim_matches('\'').to_string()))
        .collect()
}

fn file_value(file: &[(String, String)], key: &str) -> Option<String> {
    file.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The control component's HTTP API (blocking; call from a blocking task).
#[derive(Clone)]
pub struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build(),
        }
    }

    /// `METHOD path` with an optional JSON body; the answer's status and JSON.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let req = self.agent.request(method, &format!("{}{path}", self.base));
        let res = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e).with_context(|| format!("{method} {}{path}", self.base)),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json))
    }

    /// Like [`Api::call`], but anything other than `want` is an error
    /// quoting the API's message.
    pub fn expect(&self, method: &str, path: &str, body: Option<&Value>, want: u16) -> Result<Value> {
        let (status, json) = self.call(method, path, body)?;
        if status != want {
            let why = json["error"].as_str().map(str::to_string).unwrap_or_else(|| json.to_string());
            bail!("{method} {path} answered {status}: {why}");
        }
        Ok(json)
    }
}

/// Run the ring command (`--kill HOST` etc.); what it said on stderr (for
/// the caller to print above the progress bar).
pub fn ring_command(cmd: &Path, args: &[&str]) -> Result<String> {
    let output = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", cmd.display()))?;
    let said = String::from_utf8_lossy(&output.stderr).trim_end().to_string();
    if !output.status.success() {
        bail!("{} {} failed ({}): {said}", cmd.display(), args.join(" "), output.status);
    }
    Ok(said)
}
