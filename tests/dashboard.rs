//! The real `lwc-dash` against a real ring, in a pseudo-terminal: it shows
//! the five hosts, `i` injects a packet through the HTTP API, percentiles
//! appear, and `q` quits with the terminal restored.
//!
//! The pseudo-terminal is a plain `openpty` (no tmux needed); `vt100` turns
//! what the dashboard writes into the screen a person would see.

use lwc_tests::{release_dir, Ring};
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: u16 = 36;
const COLS: u16 = 120;

fn dash_bin() -> PathBuf {
    let bin = release_dir().join("lwc-dash");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/test.sh (or cargo build --release) first",
        bin.display()
    );
    bin
}

/// A program running on the slave side of a pseudo-terminal, and the
/// screen it has drawn so far.
struct Pty {
    child: Child,
    master: std::fs::File,
    screen: Arc<Mutex<vt100::Parser>>,
}

impl Pty {
    fn spawn(mut cmd: Command) -> std::io::Result<Pty> {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two new descriptors into master and slave;
        // the null name and termios pointers are allowed.
        let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just opened and are owned only here.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec: a new
        // session whose controlling terminal is the pty (stdin).
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        // The slave ends must close here, or reading the master never ends.
        drop(cmd);
        let master = std::fs::File::from(master);
        let (rows, cols) = (NonZeroU16::new(ROWS).unwrap(), NonZeroU16::new(COLS).unwrap());
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let (mut reader, parser) = (master.try_clone()?, screen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            // Ends with EIO once the program exits and the slave closes.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().unwrap().process(&buf[..n]);
            }
        });
        Ok(Pty { child, master, screen })
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    fn press(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Wait until the screen satisfies `done`; panic with the screen if not.
    async fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.contents();
            if done(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out after {within:?} waiting for {what}; the screen:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cells of the percentiles row of `label`, after the label.
fn row_cells(screen: &str, label: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|line| {
        let at = line.find(&format!("{label} "))?;
        let cells: Vec<String> = line[at + label.len()..]
            .split(['│', ' '])
            .filter(|c| !c.is_empty())
            .take(7)
            .map(str::to_string)
            .collect();
        Some(cells)
    })
}

fn is_duration(cell: &str) -> bool {
    let digits = cell.trim_end_matches("µs").trim_end_matches("ms").trim_end_matches('s');
    digits != cell && !digits.is_empty() && digits.parse::<f64>().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_the_ring_and_injects_with_i() {
    let ring = Ring::start().await.unwrap();
    let mut cmd = Command::new(dash_bin());
    cmd.env("LWC_NATS_URL", &ring.nats.url)
        .env("LWC_NATS_TOKEN", &ring.nats.token)
        .env("LWC_HTTP", &ring.http)
        .env("LWC_LATTICE", &ring.lattice)
        .env("TERM", "xterm-256color")
        // Never pick up a developer's ring instead of the test's.
        .current_dir(ring.dir.path());
    let mut pty = Pty::spawn(cmd).unwrap();

    let screen = pty
        .wait_for(Duration::from_secs(30), "five hosts up", |s| s.contains("5/5 hosts up"))
        .await;
    for host in ["north", "east", "south", "west", "control"] {
        assert!(screen.contains(&format!("● {host} up")), "{host} not up:\n{screen}");
    }
    assert!(screen.contains("NATS ● connected"), "{screen}");
    for header in ["p50", "p90", "p99", "p99.9", "max", "count"] {
        assert!(screen.contains(header), "no {header}:\n{screen}");
    }

    // i: one packet, ttl 100, on the default route.
    pty.press("i");
    let screen = pty
        .wait_for(Duration::from_secs(30), "percentiles of the injected packet's hops", |s| {
            s.contains("injected 1 packet")
                && ["control→east", "east→north", "north→west", "invoke north"].iter().all(|label| {
                    row_cells(s, label).is_some_and(|c| c.len() == 7 && c[..5].iter().all(|v| is_duration(v)))
                })
                && s.contains("ledger injected 1  expired 1  lost 0  in flight 0")
        })
        .await;
    // One packet of ttl 100 from control: one control→east hop, and 101
    // probe visits of which east got 26 (the first and every fourth).
    let control_east = row_cells(&screen, "control→east").unwrap();
    assert_eq!(control_east[5], "1", "{screen}");
    assert_eq!(row_cells(&screen, "invoke east").unwrap()[5], "26", "{screen}");
    assert!(screen.contains("ledger injected 1  expired 1  lost 0  in flight 0"), "{screen}");

    // q: quit cleanly, leaving the alternate screen.
    pty.press("q");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = pty.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "lwc-dash did not quit on q");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "lwc-dash exited with {status}");
    // Give the reader a moment for the last bytes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let parser = pty.screen.lock().unwrap();
    assert!(!parser.screen().alternate_screen(), "the terminal was not restored");
    assert!(!parser.screen().hide_cursor(), "the cursor was left hidden");
}
