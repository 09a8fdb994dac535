//! The command line: `lwc [--dir DIR] [--manifest M] <command>`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Run lwc rings: nats-server plus one lwc-host process per host of a
/// manifest, supervised from here.
///
/// A ring's state lives in a directory (default: `.lwc/` in the project
/// root): `ring.env` (LWC_NATS_URL, LWC_NATS_TOKEN, LWC_HTTP, LWC_LATTICE),
/// `<name>.pid` for each host and for `nats`, and `logs/<name>.log`. Other
/// tools (lwc-dash, scripts, tests) find the ring through those files.
#[derive(Debug, Parser)]
#[command(name = "lwc", version, propagate_version = true)]
pub struct Cli {
    /// The ring's state directory [default: .lwc in the project root].
    #[arg(long, global = true, env = "LWC_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The manifest: hosts, components and links [default: the running
    /// ring's, else scripts/ring.toml].
    #[arg(long, global = true, env = "LWC_MANIFEST", value_name = "PATH")]
    pub manifest: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start nats-server and every host of the manifest, then show the
    /// dashboard; quitting it (q) or Ctrl-C stops what this call started.
    /// If a ring is already up, only attach the dashboard.
    Up(UpArgs),
    /// Stop every process of the ring (probe hosts, then the control host,
    /// then nats-server) and remove its state files; logs stay.
    Down,
    /// Kill one host as `kill -9` would (the ring goes on without it): its
    /// process gets SIGKILL, or, when it shares a process with other hosts,
    /// that host alone is dropped (no drain, its connection closed).
    Kill {
        /// A host of the manifest.
        host: String,
    },
    /// Start one host process, or restart it if it runs; returns once it
    /// answers its health request.
    Start {
        /// A host of the manifest.
        host: String,
        #[command(flatten)]
        hosts: HostArgs,
    },
    /// Restart the ring's nats-server on the same port with the same token
    /// (on a cluster: one of its servers, server 1 unless --server says).
    RestartNats {
        /// Which server of a `--cluster` ring (1..=K); pid file `nats.pid`
        /// for 1, `nats-I.pid` for the others.
        #[arg(long, value_name = "I", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..=crate::nats::MAX_CLUSTER as i64))]
        server: u16,
    },
    /// Show the ring: processes, hosts, components, links and the ledger.
    Status {
        /// One JSON object instead of tables (for scripts).
        #[arg(long, conflicts_with = "check")]
        json: bool,
        /// Print nothing; exit 0 if a ring is up (its nats-server lives), 1 if not.
        #[arg(long)]
        check: bool,
    },
    /// Inject packets through the control component (POST /packets) and
    /// print its answer.
    Inject(InjectArgs),
    /// Open the dashboard (lwc-dash) on this ring.
    Dash {
        /// Further lwc-dash flags (see lwc-dash --help).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run an experiment file with lwc-lab (phases, faults, expectations,
    /// a report).
    Experiment {
        /// The experiment file (TOML), e.g. scenarios/brownout.toml.
        file: PathBuf,
        /// Where to write report.json and report.html.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Internal: end CHILD when SUPERVISOR exits (see docs/decisions.md).
    #[command(hide = true)]
    Guard {
        #[arg(long)]
        supervisor: u32,
        #[arg(long)]
        child: u32,
    },
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Start the ring in the background and return once POST /packets works.
    #[arg(long)]
    pub detach: bool,

    /// Serve the HTTP API on this port instead of the manifest's.
    #[arg(long, env = "LWC_HTTP_PORT", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub http_port: Option<u16>,

    /// nats-server port [default: 4222 if free, else a free one].
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub nats_port: Option<u16>,

    /// The dashboard binary, or `none` to show the hosts' logs instead
    /// [default: lwc-dash next to lwc].
    #[arg(long, env = "LWC_DASH", value_name = "PATH|none")]
    pub dash: Option<String>,

    /// A generated ring of N probe hosts (2..=1000) plus control: `default`
    /// to the next host, `special` a few hosts ahead. Its manifest is written
    /// to the state directory (ring-N.toml) and used instead of --manifest.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(2..=crate::generate::MAX_SIZE as i64))]
    pub size: Option<u32>,

    /// Run a local NATS cluster of K servers (1..=5) instead of one server;
    /// hosts are spread over them and fail over to a survivor.
    #[arg(long, value_name = "K",
          value_parser = clap::value_parser!(u16).range(1..=crate::nats::MAX_CLUSTER as i64))]
    pub cluster: Option<u16>,

    /// Hosts per lwc-host process (1..=64) [default: 32 for --size rings,
    /// else 1]. Needs an lwc-host that takes `--host` more than once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub per_process: Option<u16>,

    #[command(flatten)]
    pub hosts: HostArgs,
}

/// How hosts are started.
#[derive(Debug, Args, Clone)]
pub struct HostArgs {
    /// Seconds to wait for the hosts to answer their health request.
    #[arg(long, env = "LWC_READY_TIMEOUT", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ready_timeout: u64,

    /// Extra lwc-host flags for every host, e.g. "--reuse 1000"
    /// [default: those the ring was started with].
    #[arg(long, env = "LWC_HOST_ARGS", value_name = "FLAGS", allow_hyphen_values = true)]
    pub host_args: Option<String>,
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Hops each packet makes (0..=10000000) [server default: 100].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub ttl: Option<u64>,
    /// Packets to inject (1..=10000) [server default: 1].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub count: Option<u64>,
    /// Link name to follow, e.g. default or special.
    #[arg(long)]
    pub route: Option<String>,
    /// Percent chance (0..=100) that each probe traps after forwarding.
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=100))]
    pub chaos: Option<u16>,
    /// Trace the packets: a hop event for every hop (and OTLP spans).
    #[arg(long)]
    pub trace: bool,
}
