//! Command-line flags of `lwc-host`, checked before anything starts.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// One lwc host: runs the components the manifest places on it, in wasmtime,
/// and passes packets to and from the other hosts over NATS.
#[derive(Debug, Clone, Parser)]
#[command(name = "lwc-host", version)]
pub struct Config {
    /// Manifest: hosts, components and links (e.g. scripts/ring.toml).
    #[arg(long, value_name = "PATH")]
    pub manifest: PathBuf,

    /// Which host of the manifest to run. Repeat it (or give a comma list)
    /// to run several hosts in this process: they share one engine and one
    /// compiled copy of each component, and each is its own lattice member
    /// (its own NATS connection, heartbeat, counters, chaos).
    #[arg(long = "host", value_name = "NAME", required = true, value_delimiter = ',')]
    pub hosts: Vec<String>,

    /// NATS server URL.
    #[arg(long, env = "LWC_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats: String,

    /// NATS token (the ring script generates one per ring).
    #[arg(long, env = "LWC_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,

    /// NATS user (with --nats-password).
    #[arg(long, env = "LWC_NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,

    /// NATS password (with --nats-user).
    #[arg(long, env = "LWC_NATS_PASSWORD", hide_env_values = true, requires = "nats_user")]
    pub nats_password: Option<String>,

    /// NATS credentials file (JWT + nkey).
    #[arg(long, env = "LWC_NATS_CREDS", value_name = "PATH")]
    pub nats_creds: Option<PathBuf>,

    /// CA certificate to verify the NATS server's TLS certificate; implies TLS.
    #[arg(long, env = "LWC_NATS_TLS_CA", value_name = "PATH")]
    pub nats_tls_ca: Option<PathBuf>,

    /// Lattice name (default: the manifest's `lattice.name`).
    #[arg(long, env = "LWC_LATTICE")]
    pub lattice: Option<String>,

    /// Serve HTTP components on this address instead of the manifest's.
    /// Port 0 picks a free port; the ready file then says which
    /// (`http=ADDR`).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,

    /// Bearer token the control API requires when it listens on an address
    /// other than loopback (clients send `Authorization: Bearer TOKEN`).
    /// Prefer the environment variable: a flag shows in `ps`.
    #[arg(long, env = "LWC_API_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub api_token: Option<String>,

    /// Reuse an instance for up to N invocations (1 = a fresh instance per
    /// invocation). Any trap discards the instance.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub reuse: u32,

    /// Concurrent invocations per component (default: the manifest's, else 64).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_concurrent: Option<u32>,

    /// Hops a component may have queued beyond its running ones before the
    /// host answers "overloaded" (default: the manifest's, else 4096).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub queue: Option<u32>,

    /// Wall time one invocation may run before it traps with a timeout.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub deadline_ms: u64,

    /// Linear memory one instance may use, MiB.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_memory_mb: u64,

    /// How long to wait for a hop's ack before re-sending it (doubles each retry).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub hop_timeout_ms: u64,

    /// Re-sends of an unacknowledged hop before the packet is `unreachable`.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub hop_retries: u32,

    /// After a hop is accepted, how long the receiving host has to finish it
    /// before the sender reports the packet lost (the host died holding it).
    /// Must exceed --deadline-ms.
    #[arg(long, default_value_t = 6000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub finish_timeout_ms: u64,

    /// Worker threads of the host's async runtime (lattice and, by default,
    /// guests). Default 0: one per core. A process of several hosts has one
    /// runtime for all of them.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    pub threads: u16,

    /// Threads for running guests on a runtime of their own, apart from the
    /// lattice's one thread. Default 0: guests share the lattice's threads,
    /// which measured faster here, also when flooded.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    pub guest_threads: u16,

    /// Keep compiled components in this directory and load them from there
    /// next time (skipping Cranelift): an entry is keyed by the wasm's bytes
    /// and the engine's settings; a damaged or stale one is compiled again.
    /// Off unless given (`lwc up` passes one under the ring's state dir).
    #[arg(long, env = "LWC_COMPILE_CACHE", value_name = "DIR")]
    pub compile_cache: Option<PathBuf>,

    /// Create this file once the host (every host of the process) is
    /// connected and serving: its pid on the first line, then `http=ADDR`
    /// for each HTTP listener it bound.
    /// Written whole (temporary file, then rename); removed when it stops.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,

    /// For tests: run this process's wall clock this many milliseconds
    /// ahead (negative: behind), as on a machine whose clock is off, to show
    /// that latencies are corrected for peers' clock offsets. Default 0.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_name = "MS",
          value_parser = clap::value_parser!(i64).range(-3_600_000..=3_600_000))]
    pub test_clock_shift_ms: i64,

    /// For tests only: the named host task (see `lwc_host::tasks`) panics
    /// once the host is ready, to show that a dead task stops the host.
    #[arg(long, value_name = "TASK", hide = true)]
    pub test_fail_task: Option<String>,
}

impl Config {
    pub fn guest_threads(&self) -> usize {
        usize::from(self.guest_threads)
    }

    pub fn hop_timeout(&self) -> Duration {
        Duration::from_millis(self.hop_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Config, clap::Error> {
        let mut args = vec!["lwc-host", "--manifest", "ring.toml", "--host", "north"];
        args.extend_from_slice(extra);
        Config::try_parse_from(args)
    }

    #[test]
    fn defaults_are_a_fresh_instance_and_a_one_second_deadline() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.reuse, c.deadline_ms, c.max_memory_mb), (1, 1000, 64));
        assert_eq!(c.hop_timeout(), Duration::from_millis(500));
        assert_eq!((c.hop_retries, c.finish_timeout_ms, c.guest_threads()), (2, 6000, 0));
        assert_eq!((c.max_concurrent, c.queue), (None, None));
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_flag() {
        for (flag, value) in [
            ("--reuse", "0"),
            ("--deadline-ms", "9"),
            ("--max-concurrent", "4097"),
            ("--hop-retries", "11"),
            ("--max-memory-mb", "0"),
            ("--guest-threads", "257"),
        ] {
            let err = parse(&[flag, value]).unwrap_err().to_string();
            assert!(err.contains(flag) && err.contains(value), "{flag} {value}: {err}");
        }
        assert_eq!(parse(&["--hop-timeout-ms", "250"]).unwrap().hop_timeout(), Duration::from_millis(250));
    }

    #[test]
    fn nats_user_and_password_come_together() {
        let err = parse(&["--nats-user", "me"]).unwrap_err().to_string();
        assert!(err.contains("--nats-password"), "{err}");
        assert!(parse(&["--nats-user", "me", "--nats-password", "pw"]).is_ok());
    }

    #[test]
    fn host_repeats_or_takes_a_comma_list() {
        let c = parse(&["--host", "south,east", "--host", "west"]).unwrap();
        assert_eq!(c.hosts, ["north", "south", "east", "west"]);
        assert_eq!(c.compile_cache, None);
        let c = parse(&["--compile-cache", "/tmp/cc"]).unwrap();
        assert_eq!(c.compile_cache.as_deref(), Some(std::path::Path::new("/tmp/cc")));
    }

    #[test]
    fn manifest_and_host_are_required() {
        let err = Config::try_parse_from(["lwc-host", "--host", "north"]).unwrap_err().to_string();
        assert!(err.contains("--manifest"), "{err}");
        let err = Config::try_parse_from(["lwc-host", "--manifest", "m.toml"]).unwrap_err().to_string();
        assert!(err.contains("--host"), "{err}");
    }
}
