//! The real `lwc-dash` against a real ring, in a pseudo-terminal: it shows
//! the five hosts, `i` injects a packet through the HTTP API, percentiles
//! appear, and `q` quits with the terminal restored. On a lattice of its
//! own (hosts a, b, c and control) it draws those hosts and no others, and
//! a killed host goes `gone`.
//!
//! The pseudo-terminal is a plain `openpty` (no tmux needed); `vt100` turns
//! what the dashboard writes into the screen a person would see.

use lwc_tests::{release_dir, wait, Ring, RingOpts};
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::sync::mpsc;
use std::time::Duration;

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
    /// Signalled when the reader has read everything the program wrote.
    drained: mpsc::Receiver<()>,
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
        let (done, drained) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            // Ends with EIO once the program exits and the slave closes.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.lock().unwrap().process(&buf[..n]);
            }
            let _ = done.send(());
        });
        Ok(Pty {
            child,
            master,
            screen,
            drained,
        })
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
        let waited = wait::until_async(within, what, || {
            let screen = self.contents();
            Ok(done(&screen).then_some(screen))
        })
        .await;
        waited.unwrap_or_else(|e| panic!("{e}; the screen:\n{}", self.contents()))
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

/// The count cell of `label`'s row, as a number.
fn count_of(screen: &str, label: &str) -> Option<u64> {
    row_cells(screen, label)?.get(5)?.parse().ok()
}

fn is_duration(cell: &str) -> bool {
    let digits = cell.trim_end_matches("µs").trim_end_matches("ms").trim_end_matches('s');
    digits != cell && !digits.is_empty() && digits.parse::<f64>().is_ok()
}

fn dash_command(ring: &Ring) -> Command {
    let mut cmd = Command::new(dash_bin());
    cmd.env("LWC_NATS_URL", &ring.nats.url)
        .env("LWC_NATS_TOKEN", &ring.nats.token)
        .env("LWC_HTTP", &ring.http)
        .env("LWC_LATTICE", &ring.lattice)
        .env("TERM", "xterm-256color")
        // Never pick up a developer's ring instead of the test's.
        .current_dir(ring.dir.path());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_the_ring_and_injects_with_i() {
    let ring = Ring::start().await.unwrap();
    let mut pty = Pty::spawn(dash_command(&ring)).unwrap();

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
                // The ledger and the histograms come on separate 1 s timers:
                // wait until the histograms count every hop too.
                && count_of(s, "invoke east").is_some_and(|n| n >= 26)
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
    let status = wait::until_async(Duration::from_secs(10), "lwc-dash to quit on q", || Ok(pty.child.try_wait()?))
        .await
        .unwrap();
    assert!(status.success(), "lwc-dash exited with {status}");
    // The reader has everything once the pty's slave side closed.
    pty.drained
        .recv_timeout(Duration::from_secs(10))
        .expect("the pty closed after lwc-dash exited");
    let parser = pty.screen.lock().unwrap();
    assert!(!parser.screen().alternate_screen(), "the terminal was not restored");
    assert!(!parser.screen().hide_cursor(), "the cursor was left hidden");
}

/// Three probes in a cycle a → b → c → a (special: the other way), fed by
/// control: names the dashboard cannot know in advance.
const ABC: &str = r#"
[lattice]
name = "default"

[hosts.a]
[hosts.b]
[hosts.c]
[hosts.control]

[components.a]
host = "a"
wasm = "../target/wasm32-wasip2/release/lwc_probe.wasm"

[components.b]
host = "b"
wasm = "../target/wasm32-wasip2/release/lwc_probe.wasm"

[components.c]
host = "c"
wasm = "../target/wasm32-wasip2/release/lwc_probe.wasm"

[components.control]
host = "control"
wasm = "../target/wasm32-wasip2/release/lwc_control.wasm"
http = "127.0.0.1:30000"

[links.a]
default = "b"
special = "c"

[links.b]
default = "c"
special = "a"

[links.c]
default = "a"
special = "b"

[links.control]
default = "a"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_draws_the_lattice_that_runs_and_a_killed_host_goes() {
    let opts = RingOpts {
        hosts: vec!["a", "b", "c", "control"],
        manifest: Some(ABC.into()),
        ..RingOpts::default()
    };
    let mut ring = Ring::start_with(opts).await.unwrap();
    let mut pty = Pty::spawn(dash_command(&ring)).unwrap();
    let screen = pty
        .wait_for(Duration::from_secs(30), "four hosts up and the live links", |s| {
            s.contains("4/4 hosts up") && s.contains("live links")
        })
        .await;
    for host in ["a", "b", "c", "control"] {
        assert!(screen.contains(&format!("● {host} up")), "{host} not up:\n{screen}");
    }
    for phantom in ["north", "east", "south", "west", "no data"] {
        assert!(!screen.contains(phantom), "{phantom} on screen:\n{screen}");
    }

    // i: the hops follow this manifest's links.
    pty.press("i");
    pty.wait_for(Duration::from_secs(30), "percentiles of a→b, b→c, c→a", |s| {
        s.contains("injected 1 packet")
            && ["control→a", "a→b", "b→c", "c→a"].iter().all(|label| {
                row_cells(s, label).is_some_and(|c| c.len() == 7 && c[..5].iter().all(|v| is_duration(v)))
            })
    })
    .await;

    // kill -9 c: the header counts it out, the ring and the failures say gone.
    ring.kill_host("c");
    let screen = pty
        .wait_for(Duration::from_secs(15), "c gone", |s| s.contains("3/4 hosts up") && s.contains("✖ c gone"))
        .await;
    assert!(screen.contains("● a up") && screen.contains("● b up"), "{screen}");
    pty.press("q");
    let status = wait::until_async(Duration::from_secs(10), "lwc-dash to quit on q", || Ok(pty.child.try_wait()?))
        .await
        .unwrap();
    assert!(status.success(), "lwc-dash exited with {status}");
}
