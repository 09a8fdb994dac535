//! `lwc up`: start nats-server and the hosts, wait until every host answers
//! its health request, then leave them running (`--detach`) or show the
//! dashboard and stop them all when it quits.

use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lwc_manifest::Manifest;

use crate::args::UpArgs;
use crate::ctx::Ctx;
use crate::health::{self, WaitError};
use crate::hosts::HostLauncher;
use crate::nats;
use crate::ports;
use crate::procs::{self, Running, Tie};
use crate::signals::Signals;
use crate::state::{self, Lock, Record, RingEnv};
use crate::view::{self, ViewEnd};

pub async fn up(ctx: &Ctx, args: UpArgs, signals: &mut Signals) -> Result<i32> {
    let lock = Lock::take(&ctx.state)?;
    let (path, manifest) = match args.size {
        Some(size) => ctx.load_manifest(&crate::generate::write(&ctx.state, &ctx.root, size)?)?,
        None => ctx.manifest_for_up()?,
    };
    if let Some(h) = manifest.hosts.keys().find(|h| nats::is_server_name(h)) {
        bail!("host {h:?} in {} has the name of a nats-server's pid file ({h}.pid): rename the host", path.display());
    }
    if let Some(env) = ctx.ring_up()? {
        let recorded = Record::load(&ctx.state).map(|r| r.manifest);
        if recorded.as_ref().is_some_and(|m| *m != path) {
            bail!(
                "a ring is already up at {} with another manifest ({}); stop it first with `lwc down`",
                env.describe(),
                recorded.map_or_else(String::new, |m| m.display().to_string())
            );
        }
        if !args.detach {
            drop(lock);
            eprintln!("lwc: a ring is already up at {}: attaching (quitting leaves it up)", env.describe());
            let end = view::show(ctx, args.dash.as_deref(), signals).await?;
            return Ok(end.exit_code());
        }
        eprintln!("lwc: a ring is already up at {}", env.describe());
        crate::ops::start_missing(ctx, &manifest, &args.hosts, signals).await?;
        return Ok(0);
    }

    let tie = if args.detach { Tie::Detached } else { Tie::Attached };
    let mut started = Vec::new();
    let outcome = start_ring(ctx, &args, path, &manifest, tie, &mut started, signals).await;
    let env = match outcome {
        Ok(env) => env,
        Err(e) => {
            if !started.is_empty() {
                eprintln!("lwc: stopping what this call started");
                procs::stop_all(&started, signals).await;
            }
            state::clear(&ctx.state);
            return match e {
                WaitError::Interrupted(caught) => Ok(caught.exit_code()),
                WaitError::Failed(e) => Err(e),
            };
        }
    };
    drop(lock);
    eprintln!("lwc: ring up: {}", env.describe());
    if args.detach {
        eprintln!(
            "lwc: logs in {}; environment in {}; stop with `lwc down` (or scripts/ring.sh --stop)",
            ctx.state.logs().display(),
            ctx.state.ring_env().display()
        );
        return Ok(0);
    }
    let end = view::show(ctx, args.dash.as_deref(), signals).await;
    // Whatever ended the view (q, Ctrl-C, an error): stop the ring this call
    // started, with everything started into it since.
    eprintln!("lwc: stopping the ring");
    let _lock = Lock::take(&ctx.state)?;
    ctx.stop_ring(signals).await;
    state::clear(&ctx.state);
    Ok(end?.exit_code())
}

/// Start a new ring; `started` collects what to undo if this fails.
async fn start_ring(
    ctx: &Ctx,
    args: &UpArgs,
    manifest_path: PathBuf,
    manifest: &Manifest,
    tie: Tie,
    started: &mut Vec<Running>,
    signals: &mut Signals,
) -> Result<RingEnv, WaitError> {
    let leftovers = ctx.running_all();
    if !leftovers.is_empty() {
        eprintln!("lwc: no live nats-server: clearing what is left of the last ring");
        procs::stop_all(&leftovers, signals).await;
    }
    state::clear(&ctx.state);
    ctx.state.create()?;
    clear_logs(ctx);

    let http_override = args.http_port.and_then(|port| {
        let ip = manifest.http_component()?.http?.ip();
        Some(SocketAddr::new(ip, port))
    });
    if let Some(addr) = http_override.or_else(|| manifest.http_component()?.http) {
        if addr.port() == 0 {
            // The host would bind some port that ring.env could not name.
            return Err(anyhow::anyhow!(
                "the manifest's HTTP address {addr} has port 0: give a port there or with --http-port"
            )
            .into());
        }
        if !ports::is_free(addr) {
            return Err(anyhow::anyhow!(
                "cannot start the ring: {}; stop it (another ring? `lwc down` stops one) or choose another port with --http-port",
                ports::busy_message(addr)
            )
            .into());
        }
    }
    let host_bin = crate::ctx::host_bin()?;
    let nats_bin = crate::paths::nats_server(&ctx.root)?;
    let per_process = per_process(args, &host_bin)?;
    let servers = nats::plan(args.nats_port, args.cluster.unwrap_or(1)).map_err(anyhow::Error::from)?;
    let token = nats::random_token();
    for s in &servers {
        nats::write_conf(&ctx.state, &servers, s, &token)?;
    }
    let env = RingEnv {
        nats_url: servers[0].url(),
        nats_token: token,
        http: http_override
            .map(|a| format!("http://{}", lwc_manifest::reachable(a)))
            .or_else(|| manifest.http_url())
            .unwrap_or_default(),
        lattice: manifest.lattice.clone(),
    };
    let record = Record {
        manifest: manifest_path,
        http_override,
        host_args: split_flags(args.hosts.host_args.as_deref()),
        supervisor: (tie == Tie::Attached).then(std::process::id),
        nats: if servers.len() > 1 { servers.clone() } else { Vec::new() },
        per_process: Some(per_process),
    };
    for s in &servers {
        let pid = nats::start(&ctx.state, &nats_bin, s, tie)?;
        started.push(Running { name: s.name(), pid });
    }
    nats::wait_meshed(&ctx.state, &servers)?;
    state::write_private(&ctx.state.ring_env(), env.to_text().as_bytes())?;
    record.save(&ctx.state)?;

    let launcher = HostLauncher {
        bin: host_bin,
        manifest: manifest.clone(),
        record,
        env: env.clone(),
        root: ctx.root.clone(),
    };
    let hosts: Vec<String> = manifest.hosts.keys().cloned().collect();
    let groups = crate::pack::groups(manifest, &hosts, per_process);
    let mut pids = BTreeMap::new();
    for group in &groups {
        let pid = launcher.start(&ctx.state, group, tie)?;
        // Before the servers, so a failed start stops hosts first.
        started.insert(0, Running { name: crate::hosts::log_name(group), pid });
        for host in group {
            pids.insert(host.clone(), pid);
        }
    }
    if groups.len() < hosts.len() {
        eprintln!("lwc: {} hosts in {} lwc-host processes (up to {per_process} each)", hosts.len(), groups.len());
    }
    eprintln!(
        "lwc: started {} host(s); waiting for their health answers (up to {}s)",
        pids.len(),
        args.hosts.ready_timeout
    );
    let client = nats::client(&env).await?;
    let timeout = Duration::from_secs(args.hosts.ready_timeout);
    health::wait_healthy(&client, &env.lattice, &pids, &ctx.state, timeout, signals).await?;
    if !env.http.is_empty() {
        crate::api::serves(&env.http)?;
    }
    Ok(env)
}

/// Hosts per process: `--per-process`, else 32 (`pack::DEFAULT_PER_SIZED_RING`) for a `--size` ring and 1
/// for a manifest's; 1 whatever was asked when lwc-host runs one host only.
fn per_process(args: &UpArgs, host_bin: &std::path::Path) -> Result<u16> {
    let wanted = args.per_process.unwrap_or(if args.size.is_some() { crate::pack::DEFAULT_PER_SIZED_RING } else { 1 });
    if wanted > 1 && !crate::pack::host_packs(host_bin) {
        if args.per_process.is_some() {
            bail!("--per-process {wanted}: {} takes one --host per process; rebuild it, or leave --per-process out", host_bin.display());
        }
        eprintln!("lwc: {} runs one host per process: starting one process per host", host_bin.display());
        return Ok(1);
    }
    Ok(wanted)
}

/// Word-split extra host flags: `"--reuse 1000"` → `["--reuse", "1000"]`.
pub fn split_flags(flags: Option<&str>) -> Vec<String> {
    flags.unwrap_or_default().split_whitespace().map(str::to_string).collect()
}

/// A new ring starts with fresh logs.
fn clear_logs(ctx: &Ctx) {
    if let Ok(entries) = std::fs::read_dir(ctx.state.logs()) {
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "log") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

impl ViewEnd {
    pub fn exit_code(&self) -> i32 {
        match self {
            ViewEnd::Quit => 0,
            ViewEnd::Signal(c) => c.exit_code(),
        }
    }
}
