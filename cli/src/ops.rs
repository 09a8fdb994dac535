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
    let procs = ctx.running_all();
    if procs.is_empty() {
        eprintln!("lwc: no ring processes running in {}", ctx.state.dir.display());
    }
    procs::stop_all(&procs, signals).await;
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
    procs::signal(pid, libc::SIGKILL);
    tokio::time::timeout(Duration::from_secs(10), procs::gone(pid, "lwc-host"))
        .await
        .with_context(|| format!("{host} (pid {pid}) still there 10 s after SIGKILL"))?;
    state::remove_pid(&ctx.state, host);
    eprintln!("lwc: killed {host} (pid {pid}, SIGKILL)");
    Ok(0)
}

pub async fn start(ctx: &Ctx, host: &str, args: &HostArgs, signals: &mut Signals) -> Result<i32> {
    let (path, manifest) = ctx.manifest_of_ring()?;
    check_host(&manifest, &path, host)?;
    let _lock = Lock::take(&ctx.state)?;
    let env = ctx.require_ring()?;
    if let Some(pid) = ctx.running(host) {
        eprintln!("lwc: {host} is running: restarting it");
        procs::stop_all(&[Running { name: host.into(), pid }], signals).await;
    }
    let launcher = launcher(ctx, &manifest, env, args)?;
    start_hosts(ctx, &launcher, &[host.to_string()], args, signals).await?;
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
    start_hosts(ctx, &launcher, &missing, args, signals).await
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

/// Start `hosts` detached (guarded, if an attached `lwc up` owns the ring)
/// and wait for their health answers; on failure stop them again.
async fn start_hosts(
    ctx: &Ctx,
    launcher: &HostLauncher,
    hosts: &[String],
    args: &HostArgs,
    signals: &mut Signals,
) -> Result<()> {
    let mut pids = BTreeMap::new();
    let mut started = Vec::new();
    for host in hosts {
        let pid = launcher.start(&ctx.state, host, Tie::Detached)?;
        guard(ctx, host, pid)?;
        eprintln!("lwc: started {host} (pid {pid})");
        pids.insert(host.clone(), pid);
        started.push(Running { name: host.clone(), pid });
    }
    let client = crate::nats::client(&launcher.env).await?;
    let timeout = Duration::from_secs(args.ready_timeout);
    match health::wait_healthy(&client, &launcher.env.lattice, &pids, &ctx.state, timeout, signals).await {
        Ok(()) => Ok(()),
        Err(e) => {
            procs::stop_all(&started, signals).await;
            for h in hosts {
                state::remove_pid(&ctx.state, h);
            }
            match e {
                WaitError::Interrupted(_) => bail!("interrupted; stopped {}", hosts.join(", ")),
                WaitError::Failed(e) => Err(e),
            }
        }
    }
}

pub async fn restart_nats(ctx: &Ctx, signals: &mut Signals) -> Result<i32> {
    let _lock = Lock::take(&ctx.state)?;
    let Some(env) = RingEnv::load(&ctx.state)? else {
        bail!("no ring is up in {}; start one with `lwc up --detach`", ctx.state.dir.display());
    };
    if !ctx.state.nats_conf().is_file() {
        bail!("{} is missing: the ring is gone; stop it with `lwc down`", ctx.state.nats_conf().display());
    }
    if let Some(pid) = ctx.running("nats") {
        procs::stop_all(&[Running { name: "nats".into(), pid }], signals).await;
    }
    let bin = crate::paths::nats_server(&ctx.root)?;
    let pid = crate::nats::start(&ctx.state, &bin, crate::nats::port_of(&env.nats_url)?, Tie::Detached)?;
    guard(ctx, "nats", pid)?;
    Ok(0)
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
