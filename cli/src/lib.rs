//! `lwc`: the command-line tool that runs rings. It supervises nats-server
//! and `lwc-host` processes (it links no wasmtime) and keeps the ring's
//! state files as DESIGN.md "Setup and scripts" pins them, so the dashboard,
//! scripts and tests find the ring. `scripts/ring.sh` is its front door.
//!
//! Commands, top to bottom:
//! - [`up`]: start a ring (nats-server, then every host), wait for health,
//!   then detach or show the dashboard and stop the ring when it quits
//! - [`ops`]: `down`, `kill`, `start`, `restart-nats [--server I]` on a
//!   running ring; [`packed`]: killing one host of a packed process
//! - [`show`]: `status` (tables or JSON) and `inject`
//! - [`view`]: the dashboard or the logs of an attached `up`
//! - [`guard`]: ends a late-started process with the attached `up`
//!
//! Beneath them:
//! - [`ctx`]: project root, state directory, manifest, what runs now
//! - [`health`]: readiness through `lwc.<l>.hosts.<host>.health`
//! - [`generate`]: the manifest of `up --size N`
//! - [`pack`]: which hosts share an `lwc-host` process
//! - [`hosts`], [`nats`]: the command lines and configs of the children
//!   (one nats-server or a local cluster, `up --cluster K`)
//! - [`procs`]: spawning (own process group; parent-death signal when
//!   attached), finding, signalling and waiting on processes
//! - [`state`]: ring.env, ring.json, pid files, the lock
//! - [`ports`], [`api`], [`signals`], [`paths`], [`args`]

pub mod api;
pub mod args;
pub mod ctx;
pub mod generate;
pub mod guard;
pub mod health;
pub mod hosts;
pub mod nats;
pub mod ops;
pub mod pack;
pub mod packed;
pub mod paths;
pub mod ports;
pub mod procs;
pub mod show;
pub mod signals;
pub mod state;
pub mod up;
pub mod view;

use anyhow::{Context, Result};
use std::os::unix::process::CommandExt;

use args::{Cli, Command};
use ctx::Ctx;

/// Run one command; the answer is the process's exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let ctx = Ctx::new(cli.dir, cli.manifest);
    match cli.command {
        Command::Dash { args } => exec_dash(&ctx, &args),
        Command::Experiment { file, out } => exec_lab(&ctx, &file, out.as_deref()),
        Command::Status { check: true, .. } => Ok(if ctx.ring_up()?.is_some() { 0 } else { 1 }),
        Command::Status { json, .. } => show::status(&ctx, json),
        Command::Inject(args) => show::inject(&ctx, &args),
        command => {
            // One thread: children get their parent-death signal from the
            // thread that forks them, and this one lives as long as lwc.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            rt.block_on(supervise(&ctx, command))
        }
    }
}

async fn supervise(ctx: &Ctx, command: Command) -> Result<i32> {
    let mut signals = signals::Signals::new()?;
    match command {
        Command::Up(args) => up::up(ctx, args, &mut signals).await,
        Command::Down => ops::down(ctx, &mut signals).await,
        Command::Kill { host } => ops::kill(ctx, &host).await,
        Command::Start { host, hosts } => ops::start(ctx, &host, &hosts, &mut signals).await,
        Command::RestartNats { server } => ops::restart_nats(ctx, server, &mut signals).await,
        Command::Guard { supervisor, child } => guard::guard(supervisor, child).await,
        Command::Dash { .. } | Command::Experiment { .. } | Command::Status { .. } | Command::Inject(_) => {
            unreachable!("handled without a runtime")
        }
    }
}

fn exec_dash(ctx: &Ctx, args: &[String]) -> Result<i32> {
    let Some(bin) = view::dashboard_bin(std::env::var("LWC_DASH").ok().as_deref().filter(|d| *d != "none")) else {
        anyhow::bail!("lwc-dash not found next to lwc or on PATH: build it with `cargo build --release` (scripts/ring.sh builds)");
    };
    let mut cmd = std::process::Command::new(&bin);
    if ctx.state.ring_env().is_file() {
        cmd.arg("--ring-env").arg(ctx.state.ring_env());
    }
    let err = cmd.args(args).exec();
    Err(err).with_context(|| format!("cannot run {}", bin.display()))
}

fn exec_lab(ctx: &Ctx, file: &std::path::Path, out: Option<&std::path::Path>) -> Result<i32> {
    let Some(bin) = paths::sibling_or_path("lwc-lab") else {
        anyhow::bail!(
            "lwc-lab not found next to lwc or on PATH: experiments need it; build it with `cargo build --release -p lwc-lab`"
        );
    };
    let ring_cmd = write_lab_ring_cmd(ctx)?;
    let mut cmd = std::process::Command::new(&bin);
    cmd.arg(file)
        .arg("--ring-env")
        .arg(ctx.state.ring_env())
        .arg("--ring-cmd")
        .arg(&ring_cmd)
        .env("LWC_DIR", &ctx.state.dir);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    let err = cmd.exec();
    Err(err).with_context(|| format!("cannot run {}", bin.display()))
}

/// lwc-lab kills and starts hosts as `CMD --kill HOST`, `CMD --start HOST`,
/// `CMD --restart-nats` (scripts/ring.sh's flags). This small script maps
/// them onto this lwc and this state directory, wherever that is.
fn write_lab_ring_cmd(ctx: &Ctx) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let lwc = std::env::current_exe().context("cannot find the lwc binary")?;
    let quote = |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let script = format!(
        "#!/usr/bin/env bash\n\
         # Written by `lwc experiment`: the ring commands lwc-lab runs, for this ring.\n\
         case ${{1:-}} in\n\
         \x20   --kill | --start) exec {lwc} --dir {dir} \"${{1#--}}\" \"${{2:-}}\" ;;\n\
         \x20   --restart-nats) shift; exec {lwc} --dir {dir} restart-nats \"$@\" ;;\n\
         \x20   *) echo \"lab-ring-cmd: unknown argument '${{1:-}}'\" >&2; exit 2 ;;\n\
         esac\n",
        lwc = quote(&lwc),
        dir = quote(&ctx.state.dir),
    );
    std::fs::create_dir_all(&ctx.state.dir).with_context(|| format!("cannot create {}", ctx.state.dir.display()))?;
    let path = ctx.state.dir.join("lab-ring-cmd");
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
    Ok(path)
}
