//! When its terminal goes away, `lwc-dash` ends exactly as it does on `q`,
//! and so does the call that started it.
//!
//! A closed tmux window hangs up the terminal: the session leader (the shell
//! or `scripts/ring.sh`) gets SIGHUP, but a script waiting for the dashboard
//! in the foreground runs its trap only once the dashboard has exited, and
//! the dashboard itself gets no signal, only a terminal that reads
//! end-of-file. Both cases are tested here in a real pseudo-terminal, whose
//! master side the test closes, against a real ring:
//! - a `bash` that traps HUP (as `scripts/ring.sh` does) and runs the
//!   dashboard in the foreground: both must be gone within 2 s;
//! - the dashboard as the session leader (it gets SIGHUP): it must exit 0,
//!   as on `q`, not be killed by the signal.

use lwc_tests::{release_dir, wait, Ring};
use std::io::{ErrorKind, Read};
use std::num::NonZeroU16;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ROWS: u16 = 36;
const COLS: u16 = 120;

fn dash_bin() -> PathBuf {
    let bin = release_dir().join("lwc-dash");
    assert!(bin.exists(), "{} is missing: run cargo build --release first", bin.display());
    bin
}

/// A program on the slave side of a pseudo-terminal. The test holds the
/// only descriptor of the master side (non-blocking, read in `wait_for`),
/// so dropping `master` closes the terminal for good.
struct Pty {
    child: Child,
    master: Option<std::fs::File>,
    screen: vt100::Parser,
}

impl Pty {
    fn spawn(mut cmd: Command) -> Pty {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two new descriptors; null name and termios are allowed.
        let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // openpty does not set close-on-exec: without it the program would
        // inherit the master too, and closing ours would not close the terminal.
        // SAFETY: fcntl on the two descriptors just opened.
        unsafe {
            libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        // SAFETY: both descriptors were just opened and are owned only here.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec: a new
        // session whose controlling terminal is the pty.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn on the pty");
        drop(cmd); // the slave ends close here
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let fd = master.as_raw_fd();
            libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
        }
        Pty {
            child,
            master: Some(std::fs::File::from(master)),
            screen: vt100::Parser::new(NonZeroU16::new(ROWS).unwrap(), NonZeroU16::new(COLS).unwrap(), 0),
        }
    }

    /// Feed what the program wrote so far into the screen.
    fn pump(&mut self) {
        let Some(m) = self.master.as_mut() else { return };
        let mut buf = [0u8; 64 * 1024];
        loop {
            match m.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self.screen.process(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return, // EIO: the program closed its side
            }
        }
    }

    fn wait_for(&mut self, within: Duration, what: &str, done: impl Fn(&str) -> bool) {
        let waited = wait::until(within, what, || {
            self.pump();
            Ok(done(&self.screen.screen().contents()).then_some(()))
        });
        if let Err(e) = waited {
            panic!("{e}; the screen:\n{}", self.screen.screen().contents());
        }
    }

    /// Close the terminal, as closing a tmux window does.
    fn close(&mut self) {
        self.master = None;
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pids whose parent is `ppid`, from /proc.
fn children_of(ppid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        if rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(ppid) {
            out.push(pid);
        }
    }
    out
}

/// A process is gone when /proc no longer has it, or only as a zombie.
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')),
    }
}

fn dash_command(ring: &Ring, program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("LWC_NATS_URL", &ring.nats.url)
        .env("LWC_NATS_TOKEN", &ring.nats.token)
        .env("LWC_HTTP", &ring.http)
        .env("LWC_LATTICE", &ring.lattice)
        .env("TERM", "xterm-256color")
        // Never pick up a developer's ring instead of the test's.
        .current_dir(ring.dir.path());
    cmd
}

fn running(pty: &mut Pty) -> bool {
    matches!(pty.child.try_wait(), Ok(None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_terminal_ends_the_dashboard_as_q_does() {
    let ring = Ring::start().await.unwrap();
    let ready = |s: &str| s.contains("NATS ● connected") && s.contains("hosts up");

    // 1. As under scripts/ring.sh: a shell that traps HUP waits for the
    //    dashboard in the foreground, then records how it ended (the trap
    //    runs only once the dashboard has exited, as in ring.sh).
    let status_file = ring.dir.path().join("dash.status");
    let mut cmd = dash_command(&ring, Path::new("bash"));
    cmd.arg("-c")
        .arg(r#"trap 'hup=1' HUP; "$0"; echo "$?" >"$1"; [ -n "$hup" ] && exit 129"#)
        .arg(dash_bin())
        .arg(&status_file);
    let mut pty = Pty::spawn(cmd);
    pty.wait_for(Duration::from_secs(30), "the dashboard on screen", ready);
    let shell = pty.child.id();
    let dash = children_of(shell);
    assert_eq!(dash.len(), 1, "the shell should have one child, lwc-dash: {dash:?}");
    let dash = dash[0];
    pty.close();
    let ended = wait::until(Duration::from_secs(2), "the shell and lwc-dash to end after the terminal closed", || {
        Ok((!running(&mut pty) && is_gone(dash)).then_some(()))
    });
    assert!(
        ended.is_ok(),
        "2 s after the terminal closed: shell running {}, lwc-dash gone {}",
        running(&mut pty),
        is_gone(dash)
    );
    let shell_status = pty.child.wait().unwrap();
    assert_eq!(shell_status.code(), Some(129), "the shell's HUP trap ran after lwc-dash ended");
    let dash_status = std::fs::read_to_string(&status_file).expect("the shell recorded lwc-dash's status");
    assert_eq!(dash_status.trim(), "0", "lwc-dash exits 0 on a closed terminal, as on q");

    // 2. The dashboard as the session leader: the hangup sends it SIGHUP.
    let mut pty = Pty::spawn(dash_command(&ring, &dash_bin()));
    pty.wait_for(Duration::from_secs(30), "the dashboard on screen", ready);
    pty.close();
    let status = wait::until(Duration::from_secs(2), "lwc-dash to exit after SIGHUP", || Ok(pty.child.try_wait()?))
        .unwrap_or_else(|e| panic!("lwc-dash still running 2 s after SIGHUP: {e}"));
    assert!(status.success(), "lwc-dash should quit as on q, not die of the signal: {status:?} (signal {:?})", status.signal());
}
