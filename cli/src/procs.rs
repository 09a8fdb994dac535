//! Child processes: started in a process group of their own, tied to this
//! process or detached from it, found again through pid files, and stopped
//! (SIGTERM, then SIGKILL) while waiting on their exit, not on a clock.

use anyhow::{Context, Result};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::signals::Signals;

/// What happens to a child when the lwc that started it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// Its own session: it outlives this call and ignores this terminal.
    Detached,
    /// Its own process group, and SIGTERM when this process dies, however
    /// it dies (`prctl(PR_SET_PDEATHSIG)`): nothing is orphaned.
    Attached,
}

/// Which program a pid must be running to count as ours (a pid file may
/// outlive its process, and the pid be reused).
pub fn program_of(name: &str) -> &'static str {
    if crate::nats::is_server_name(name) {
        "nats-server"
    } else {
        "lwc-host"
    }
}

/// Start `cmd` with stdin closed and output appended to `log`.
///
/// Call from the main thread: the parent-death signal fires when the thread
/// that forked the child ends, and lwc runs everything on its main thread.
pub fn spawn(mut cmd: Command, log: &Path, tie: Tie) -> Result<u32> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let err = out.try_clone()?;
    let parent = std::process::id();
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).env("NO_COLOR", "1");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            match tie {
                Tie::Detached => {
                    if libc::setsid() < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Tie::Attached => {
                    if libc::setpgid(0, 0) < 0 || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // The parent may have died before prctl took effect.
                    if libc::getppid() as u32 != parent {
                        return Err(std::io::Error::other("lwc exited while starting this process"));
                    }
                }
            }
            Ok(())
        });
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd.spawn().with_context(|| format!("cannot start {program}"))?;
    // Not waited on here: `reap` collects it once it has exited.
    Ok(child.id())
}

/// Whether `pid` is alive (not a zombie) and runs `program`.
pub fn is_ours(pid: u32, program: &str) -> bool {
    let proc = format!("/proc/{pid}");
    let Ok(stat) = std::fs::read_to_string(format!("{proc}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may hold spaces.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z" | "X") | None) {
        reap(pid);
        return false;
    }
    std::fs::read(format!("{proc}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(program))
}

/// Collect an exited child of ours so no zombie lingers; harmless otherwise.
pub fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid on a pid; WNOHANG never blocks, ECHILD is fine.
    unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
}

/// The command line of `pid`, spaces between arguments.
pub fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(text.join(" "))
}

/// Signal `pid`'s whole process group when it leads one (ours do), else `pid`.
pub fn signal(pid: u32, sig: i32) {
    let pid = pid as i32;
    // SAFETY: plain syscalls on a pid.
    unsafe {
        if libc::getpgid(pid) == pid {
            libc::kill(-pid, sig);
        } else {
            libc::kill(pid, sig);
        }
    }
}

/// Resolves once `pid` has exited (or stopped being `program`).
pub async fn gone(pid: u32, program: &str) {
    if !is_ours(pid, program) {
        return;
    }
    if let Some(fd) = pidfd(pid) {
        // Readable when the process exits; a zombie counts as exited.
        // SAFETY: the AsyncFd owns the OwnedFd, which stays open until dropped.
        let registered = unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) };
        if let Ok(fd) = registered {
            let _ = fd.readable().await;
            reap(pid);
            return;
        }
    }
    // No pidfd (old kernel): look again every 50 ms.
    while is_ours(pid, program) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pidfd(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open returns a new descriptor we then own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a fresh, valid descriptor.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// A process to stop: its name (for messages), pid and program.
#[derive(Debug, Clone)]
pub struct Running {
    pub name: String,
    pub pid: u32,
}

/// How long a process gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Stop `procs` together: SIGTERM, wait for every exit, SIGKILL whatever is
/// left after [`STOP_GRACE`] or at once on a further Ctrl-C.
pub async fn stop_all(procs: &[Running], signals: &mut Signals) {
    for p in procs {
        signal(p.pid, libc::SIGTERM);
    }
    let all_gone = futures::future::join_all(procs.iter().map(|p| gone(p.pid, program_of(&p.name))));
    let killed = tokio::select! {
        _ = all_gone => false,
        _ = tokio::time::sleep(STOP_GRACE) => {
            eprintln!("lwc: still running after {}s: killing", STOP_GRACE.as_secs());
            true
        }
        _ = signals.next() => {
            eprintln!("lwc: interrupted again: killing");
            true
        }
    };
    if killed {
        for p in procs {
            if is_ours(p.pid, program_of(&p.name)) {
                signal(p.pid, libc::SIGKILL);
            }
        }
        let all_gone = futures::future::join_all(procs.iter().map(|p| gone(p.pid, program_of(&p.name))));
        let _ = tokio::time::timeout(Duration::from_secs(5), all_gone).await;
    }
    for p in procs {
        eprintln!("lwc: stopped {} (pid {})", p.name, p.pid);
    }
}
