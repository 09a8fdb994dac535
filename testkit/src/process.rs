//! [`Proc`]: a child process that is killed (and reaped) when its owner
//! drops it, so a failing test or bench never leaves servers behind.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

pub struct Proc {
    /// What the process is, for messages (a host name, `nats`, ...).
    pub name: String,
    child: Option<Child>,
    /// Where its stderr goes.
    pub log: PathBuf,
}

impl Proc {
    /// Start `cmd` with stdout discarded and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Proc> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open log {}", log.display()))?;
        let child = cmd
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", cmd.get_program().to_string_lossy()))?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
        })
    }

    /// The pid, while the process has not been killed through this handle.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kill -9 and reap. Does nothing the second time.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Send `signal` (e.g. `libc::SIGTERM`); nothing if it was killed or
    /// reaped already.
    pub fn signal(&self, signal: libc::c_int) -> Result<()> {
        let Some(pid) = self.pid() else {
            bail!("{} was already killed", self.name);
        };
        // Still our unreaped child: the pid cannot belong to anyone else.
        if unsafe { libc::kill(pid as libc::pid_t, signal) } != 0 {
            bail!("cannot signal {} (pid {pid}): {}", self.name, std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Whether it still runs (not killed, not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Whether it was killed through this handle (so nothing is expected of it).
    pub fn killed(&self) -> bool {
        self.child.is_none()
    }

    /// Wait for the process to exit on its own, then reap it; fail (and
    /// kill it) if it still runs after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Result<ExitStatus> {
        let name = self.name.clone();
        let Some(child) = self.child.as_mut() else {
            bail!("{name} was already killed");
        };
        let status = crate::wait::until(within, &format!("{name} to exit"), || Ok(child.try_wait()?));
        if status.is_err() {
            self.kill();
        } else {
            self.child = None;
        }
        status
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a text file (empty if it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_proc_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("600");
        let mut p = Proc::spawn("sleeper", cmd, &dir.path().join("log")).unwrap();
        assert!(p.is_running());
        let pid = p.pid().unwrap();
        drop(p);
        // Killed and reaped: no such process any more.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn wait_exit_reports_the_status_and_logs_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one >&2; echo two >&2; exit 3"]);
        let mut p = Proc::spawn("sh", cmd, &dir.path().join("log")).unwrap();
        let status = p.wait_exit(Duration::from_secs(10)).unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(p.killed());
        assert_eq!(p.log_tail(1), "two");
        assert_eq!(p.log_tail(5), "one\ntwo");
    }

    #[test]
    fn a_signal_reaches_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("600");
        let mut p = Proc::spawn("sleeper", cmd, &dir.path().join("log")).unwrap();
        p.signal(libc::SIGTERM).unwrap();
        let status = p.wait_exit(Duration::from_secs(10)).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert!(p.signal(libc::SIGTERM).is_err(), "reaped: nothing to signal");
    }

    #[test]
    fn wait_exit_gives_up_and_kills() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sleep");
        cmd.arg("600");
        let mut p = Proc::spawn("sleeper", cmd, &dir.path().join("log")).unwrap();
        assert!(p.wait_exit(Duration::from_millis(100)).is_err());
        assert!(!p.is_running());
    }
}
