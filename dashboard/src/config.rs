//! Command-line flags, with the ring's own `.lwc/ring.env` as the fallback.
//!
//! Each connection setting comes from, in order: its flag, its `LWC_*`
//! environment variable, the `.lwc/ring.env` that `scripts/ring.sh` writes
//! while a ring is up (looked for in the current directory and its parents,
//! then beside the binary's `target/` directory), and a built-in default.

use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// lwc-dash: the live terminal dashboard of an lwc ring. It shows every
/// host, per-hop latency histograms and percentiles, failures, packets and a
/// hop log, and injects packets and sets chaos through the HTTP API.
///
/// Without flags it attaches to the ring that `scripts/ring.sh` started
/// (through `.lwc/ring.env`). Press `q` to quit; the other keys are on screen.
#[derive(Debug, Clone, Parser)]
#[command(name = "lwc-dash", version)]
pub struct Args {
    /// NATS server URL [default: .lwc/ring.env, else nats://127.0.0.1:4222]
    #[arg(long, env = "LWC_NATS_URL", value_name = "URL")]
    pub nats: Option<String>,

    /// NATS token [default: .lwc/ring.env]
    #[arg(long, env = "LWC_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,

    /// Base URL of the control component's HTTP API
    /// [default: .lwc/ring.env, else http://127.0.0.1:30000]
    #[arg(long, env = "LWC_HTTP", value_name = "URL")]
    pub http: Option<String>,

    /// Lattice name [default: .lwc/ring.env, else default]
    #[arg(long, env = "LWC_LATTICE")]
    pub lattice: Option<String>,

    /// Seconds of history in the chart (latency and fates over time).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=600))]
    pub window: u64,

    /// Seconds the latency table's window view covers (`w` toggles it with
    /// the whole run).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub table_window: u64,

    /// Frames per second.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub fps: u64,

    /// Read this ring.env instead of looking for .lwc/ring.env.
    #[arg(long, value_name = "PATH")]
    pub ring_env: Option<PathBuf>,
}

/// Settings after every fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub nats: String,
    pub nats_token: Option<String>,
    pub http: String,
    pub lattice: String,
    /// The latency table's window.
    pub window: Duration,
    /// The chart's span (`--window`).
    pub span: Duration,
    pub frame: Duration,
    /// The ring.env that filled a gap, if any (shown in the header).
    pub ring_env: Option<PathBuf>,
}

impl Args {
    pub fn into_config(self) -> Result<Config, String> {
        let env_file = match &self.ring_env {
            Some(p) => Some(p.clone()),
            None => find_ring_env(),
        };
        let file = match &env_file {
            Some(p) => std::fs::read_to_string(p)
                .map(|t| parse_ring_env(&t))
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            None => Vec::new(),
        };
        let from_file = |key: &str| file.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let mut used_file = false;
        let mut pick = |flag: Option<String>, key: &str, default: Option<&str>| -> Option<String> {
            flag.filter(|v| !v.is_empty())
                .or_else(|| {
                    let v = from_file(key).filter(|v| !v.is_empty());
                    used_file |= v.is_some();
                    v
                })
                .or(default.map(str::to_string))
        };
        let nats = pick(self.nats, "LWC_NATS_URL", Some("nats://127.0.0.1:4222")).unwrap_or_default();
        let nats_token = pick(self.nats_token, "LWC_NATS_TOKEN", None);
        let http = pick(self.http, "LWC_HTTP", Some("http://127.0.0.1:30000")).unwrap_or_default();
        let lattice = pick(self.lattice, "LWC_LATTICE", Some("default")).unwrap_or_default();
        if !lwc_wire::subjects::is_valid_token(&lattice) {
            return Err(format!("lattice name {lattice:?} must be 1-64 characters of [a-z0-9_-]"));
        }
        if !http.starts_with("http://") {
            return Err(format!("--http {http:?} must start with http:// (the API serves plain HTTP on loopback)"));
        }
        Ok(Config {
            nats,
            nats_token,
            http: http.trim_end_matches('/').to_string(),
            lattice,
            window: Duration::from_secs(self.table_window),
            span: Duration::from_secs(self.window),
            frame: Duration::from_millis(1000 / self.fps.max(1)),
            ring_env: env_file.filter(|_| used_file),
        })
    }
}

/// `KEY=VALUE` lines; anything else is ignored.
pub fn parse_ring_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| k.starts_with("LWC_"))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// `.lwc/ring.env` in the current directory or a parent, else in the project
/// that holds this binary (`<root>/target/release/lwc-dash`).
pub fn find_ring_env() -> Option<PathBuf> {
    let mut places: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        places.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        places.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    places
        .into_iter()
        .map(|d| d.join(".lwc/ring.env"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str], env_file: &Path) -> Args {
        let mut argv = vec!["lwc-dash", "--ring-env"];
        argv.push(env_file.to_str().unwrap());
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn flags_beat_the_ring_env_which_beats_defaults() {
        let dir = std::env::temp_dir().join(format!("lwc-dash-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ring.env");
        std::fs::write(
            &file,
            "LWC_NATS_URL=nats://127.0.0.1:4999\nLWC_NATS_TOKEN=abc\nLWC_HTTP=http://127.0.0.1:30001/\n# comment\n",
        )
        .unwrap();
        // Only when the variables are not set in this test's environment.
        if std::env::var_os("LWC_NATS_URL").is_none() && std::env::var_os("LWC_HTTP").is_none() {
            let c = args(&[], &file).into_config().unwrap();
            assert_eq!(c.nats, "nats://127.0.0.1:4999");
            assert_eq!(c.nats_token.as_deref(), Some("abc"));
            assert_eq!(c.http, "http://127.0.0.1:30001");
            assert_eq!(c.ring_env.as_deref(), Some(file.as_path()));
            if std::env::var_os("LWC_LATTICE").is_none() {
                assert_eq!(c.lattice, "default");
            }
        }
        let c = args(&["--nats", "nats://h:1", "--http", "http://x:2", "--lattice", "lab"], &file)
            .into_config()
            .unwrap();
        assert_eq!((c.nats.as_str(), c.http.as_str(), c.lattice.as_str()), ("nats://h:1", "http://x:2", "lab"));
        assert!(args(&["--lattice", "Bad.Name"], &file).into_config().is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn ranges_are_checked() {
        assert!(Args::try_parse_from(["lwc-dash", "--fps", "0"]).is_err());
        assert!(Args::try_parse_from(["lwc-dash", "--window", "0"]).is_err());
        assert!(Args::try_parse_from(["lwc-dash", "--window", "9"]).is_err());
        assert!(Args::try_parse_from(["lwc-dash", "--window", "601"]).is_err());
        assert!(Args::try_parse_from(["lwc-dash", "--table-window", "0"]).is_err());
        let a = Args::try_parse_from(["lwc-dash", "--window", "120"]).unwrap();
        assert_eq!((a.window, a.table_window), (120, 10));
        assert!(Args::try_parse_from(["lwc-dash", "--fps", "60"]).is_ok());
    }

    #[test]
    fn help_says_dashboard() {
        use clap::CommandFactory;
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("dashboard"), "{help}");
    }
}
