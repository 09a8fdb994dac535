//! Changing a running ring: `down`, `kill HOST`, `start HOST`,
//! `restart-nats`, and starting the hosts a ring is missing.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::time::Duration;

use lwc_manifest::Manifest;

use crate::args::HostArgs;
use crate::ctx::{check_host, Ctx};
use crate::health::{self, WaitError};
use crate::hosts::HostLauncher;
use crate::procs::{self, Running, Tie};
use crate::signals::Signals;
use crate::state::{self, Lock, Record, RingEnv};

pub async fn down(ctx: &Ctx, signals: &mut Signals) -> Result<i32> {
    let lock = Lock::take(&ctx.state)?;
    let supervisor = ctx.supervisor();
    if ctx.running_all().is_empty() {
        eprintln!("lwc: no ring processes running in {}", ctx.state.dir.display());
    }
    ctx.stop_ring(signals).await;
    state::clear(&ctx.state);
    drop(lock);
    if let Some(pid) = supervisor {
        // The attached `lwc up` that owned the ring: let its terminal go.
        // SAFETY: kill(2) on a pid checked to be an lwc.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        eprintln!("lwc: told the attached `lwc up` (pid {pid}) to finish");
    }
    Ok(0)
}

pub async fn kill(ctx: &Ctx, host: &str) -> Result<i32> {
    let (path, manifest) = ctx.manifest_of_ring()?;
    check_host(&manifest, &path, host)?;
    let _lock = Lock::take(&ctx.state)?;
    let Some(pid) = ctx.running(host) else {
        bail!("{host} is not running (start it with `lwc start {host}`)");
    };
    let neighbours = packed_with(ctx, host, pid);
    if !neighbours.is_empty() {
        let dropped = crate::packed::drop_host(ctx, host, pid, &neighbours).await?;
        // The process lives on for its neighbours; this host is no longer in it.
        state::remove_pid(&ctx.state, host);
        if !dropped {
            eprintln!("lwc: {host} had already left pid {pid} (nobody answers for it on the lattice)");
            return Ok(0);
        }
        eprintln!("lwc: killed {host} (dropped from pid {pid}, which still runs {})", neighbours.join(", "));
        return Ok(0);
    }
    procs::signal(pid, libc::SIGKILL);
    tokio::time::timeout(Duration::from_secs(10), procs::gone(pid, "lwc-host"))
        .await
        .with_context(|| format!("{host} (pid {pid}) still there 10 s after SIGKILL"))?;
    state::remove_pid(&ctx.state, host);
    eprintln!("lwc: killed {host} (pid {pid}, SIGKILL)");
    Ok(0)
}

/// The other live hosts in process `pid`.
fn packed_with(ctx: &Ctx, host: &str, pid: u32) -> Vec<String> {
    ctx.running_hosts().into_iter().filter(|r| r.pid == pid && r.name != host).map(|r| r.name).collect()
}

pub async fn start(ctx: &Ctx, host: &str, args: &HostArgs, signals: &mut Signals) -> Result<i32> {
    let (path, manifest) = ctx.manifest_of_ring()?;
    check_host(&manifest, &path, host)?;
    let _lock = Lock::take(&ctx.state)?;
    let env = ctx.require_ring()?;
    if let Some(pid) = ctx.running(host) {
        eprintln!("lwc: {host} is running: restarting it");
        let neighbours = packed_with(ctx, host, pid);
        if neighbours.is_empty() {
            procs::stop_all(&[Running { name: host.into(), pid }], signals).await;
        } else {
            crate::packed::drop_host(ctx, host, pid, &neighbours).await?;
            state::remove_pid(&ctx.state, host);
        }
    }
    // A host started again runs in a process of its own, whatever its
    // neighbours do.
    let launcher = launcher(ctx, &manifest, env, args)?;
    start_hosts(ctx, &launcher, &[vec![host.to_string()]], args, signals).await?;
    Ok(0)
}

/// `lwc up --detach` on a ring that is up: start the hosts it lacks.
pub async fn start_missing(ctx: &Ctx, manifest: &Manifest, args: &HostArgs, signals: &mut Signals) -> Result<()> {
    let env = ctx.require_ring()?;
    let missing: Vec<String> = manifest.hosts.keys().filter(|h| ctx.running(h).is_none()).cloned().collect();
    if missing.is_empty() {
        eprintln!("lwc: every host of the manifest is running");
        return Ok(());
    }
    eprintln!("lwc: starting the missing host(s): {}", missing.join(", "));
    let launcher = launcher(ctx, manifest, env, args)?;
    let per_process = launcher.record.per_process.unwrap_or(1);
    let groups = crate::pack::groups(manifest, &missing, per_process);
    start_hosts(ctx, &launcher, &groups, args, signals).await
}

fn launcher(ctx: &Ctx, manifest: &Manifest, env: RingEnv, args: &HostArgs) -> Result<HostLauncher> {
    let mut record = Record::load(&ctx.state).unwrap_or_default();
    if record.manifest.as_os_str().is_empty() {
        record.manifest = ctx.manifest_of_ring()?.0;
    }
    if args.host_args.is_some() {
        record.host_args = crate::up::split_flags(args.host_args.as_deref());
    }
    Ok(HostLauncher {
        bin: crate::ctx::host_bin()?,
        manifest: manifest.clone(),
        record,
        env,
        root: ctx.root.clone(),
    })
}

/// Start one process per group of hosts, detached (guarded, if an
/// attached `lwc up` owns the ring), and wait for their health answers; on
/// failure stop them again.
async fn start_hosts(
    ctx: &Ctx,
    launcher: &HostLauncher,
    groups: &[Vec<String>],
    args: &HostArgs,
    signals: &mut Signals,
) -> Result<()> {
    let mut pids = BTreeMap::new();
    let mut started = Vec::new();
    let hosts: Vec<String> = groups.concat();
    for group in groups {
        let name = crate::hosts::log_name(group);
        let pid = launcher.start(&ctx.state, group, Tie::Detached)?;
        guard(ctx, &name, pid)?;
        eprintln!("lwc: started {} (pid {pid})", group.join(", "));
        for host in group {
            pids.insert(host.clone(), pid);
        }
        started.push(Running { name, pid });
    }
    let client = crate::nats::client(&launcher.env).await?;
    let timeout = Duration::from_secs(args.ready_timeout);
    match health::wait_healthy(&client, &launcher.env.lattice, &pids, &ctx.state, timeout, signals).await {
        Ok(()) => Ok(()),
        Err(e) => {
            procs::stop_all(&started, signals).await;
            for h in &hosts {
                state::remove_pid(&ctx.state, h);
            }
            match e {
                WaitError::Interrupted(_) => bail!("interrupted; stopped {}", hosts.join(", ")),
                WaitError::Failed(e) => Err(e),
            }
        }
    }
}

pub async fn restart_nats(ctx: &Ctx, index: u16, signals: &mut Signals) -> Result<i32> {
    let _lock = Lock::take(&ctx.state)?;
    let Some(env) = RingEnv::load(&ctx.state)? else {
        bail!("no ring is up in {}; start one with `lwc up --detach`", ctx.state.dir.display());
    };
    let servers = servers_of(ctx, &env)?;
    let Some(server) = servers.iter().find(|s| s.index == index) else {
        bail!(
            "--server {index}: this ring has {} nats-server(s) (1..={}); `lwc up --cluster K` starts more",
            servers.len(),
            servers.len()
        );
    };
    let name = server.name();
    if !ctx.state.conf(&name).is_file() {
        bail!("{} is missing: the ring is gone; stop it with `lwc down`", ctx.state.conf(&name).display());
    }
    if let Some(pid) = ctx.running(&name) {
        procs::stop_all(&[Running { name: name.clone(), pid }], signals).await;
    }
    let bin = crate::paths::nats_server(&ctx.root)?;
    let pid = crate::nats::start(&ctx.state, &bin, server, Tie::Detached)?;
    guard(ctx, &name, pid)?;
    crate::nats::wait_meshed(&ctx.state, &servers)?;
    Ok(0)
}

/// The ring's servers: the record's cluster, else the one of ring.env.
fn servers_of(ctx: &Ctx, env: &RingEnv) -> Result<Vec<crate::nats::Server>> {
    let recorded = Record::load(&ctx.state).map(|r| r.nats).unwrap_or_default();
    if !recorded.is_empty() {
        return Ok(recorded);
    }
    let port = crate::nats::port_of(&env.nats_url)?;
    Ok(vec![crate::nats::Server { index: 1, port, cluster_port: None }])
}

/// When an attached `lwc up` owns the ring, what others start must die with
/// it too: a small `lwc guard` process ends `pid` when the supervisor exits.
fn guard(ctx: &Ctx, name: &str, pid: u32) -> Result<()> {
    let Some(supervisor) = ctx.supervisor() else {
        return Ok(());
    };
    let exe = std::env::current_exe().context("cannot find the lwc binary to start a guard")?;
    let mut cmd = std::process::Command::new(exe);
    // --dir only names the ring in `ps`.
    cmd.arg("--dir").arg(&ctx.state.dir);
    cmd.args(["guard", "--supervisor", &supervisor.to_string(), "--child", &pid.to_string()]);
    procs::spawn(cmd, &ctx.state.log(name), Tie::Detached)?;
    Ok(())
}
