//! The ring's nats-server: its config (loopback, a random token, written
//! here), starting it, knowing when it serves, and a client for lwc itself.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::paths::StateDir;
use crate::procs::{self, Tie};
use crate::state::{self, RingEnv};

/// A fresh ring's token: 24 random bytes, hex.
pub fn random_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The config: loopback only, the token, no monitoring port. The token
/// lives in this 0600 file and in ring.env, never on a command line.
pub fn write_conf(state: &StateDir, port: u16, token: &str) -> Result<()> {
    let text = format!(
        "# Written by lwc for this ring; holds its token: keep it private.\n\
         listen: \"127.0.0.1:{port}\"\n\
         authorization {{\n  token: \"{token}\"\n}}\n"
    );
    state::write_private(&state.nats_conf(), text.as_bytes())
}

/// Start nats-server with the ring's config and wait until it greets a
/// client; its pid goes to `nats.pid`.
pub fn start(state: &StateDir, bin: &Path, port: u16, tie: Tie) -> Result<u32> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if !crate::ports::is_free(addr) {
        bail!("cannot start nats-server: {}", crate::ports::busy_message(addr));
    }
    let log = state.log("nats");
    crate::hosts::log_banner(&log, "nats");
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(state.nats_conf());
    let pid = procs::spawn(cmd, &log, tie)?;
    state::write_pid(state, "nats", pid)?;
    wait_serving(pid, port, &log)?;
    eprintln!("lwc: nats-server up on 127.0.0.1:{port} (pid {pid})");
    Ok(pid)
}

/// nats-server greets every client with an INFO line: that tells it from
/// any other program on the port. Gives up when the process exits.
fn wait_serving(pid: u32, port: u16, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if greets(port) {
            return Ok(());
        }
        if !procs::is_ours(pid, "nats-server") {
            bail!("nats-server exited at start{}", crate::hosts::log_tail(log));
        }
        if Instant::now() > deadline {
            bail!("nats-server did not answer on 127.0.0.1:{port} within 10 s{}", crate::hosts::log_tail(log));
        }
        // Connection refused is instant: this is the pace of the retries.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn greets(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("INFO")
}

/// The port of a `nats://127.0.0.1:PORT` URL.
pub fn port_of(url: &str) -> Result<u16> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .with_context(|| format!("no port in NATS URL {url:?}"))
}

/// A client of the ring's server, for health requests.
pub async fn client(env: &RingEnv) -> Result<async_nats::Client> {
    let mut opts = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    if !env.nats_token.is_empty() {
        opts = opts.token(env.nats_token.clone());
    }
    opts.connect(env.nats_url.as_str())
        .await
        .with_context(|| format!("cannot connect to the ring's NATS at {}", env.nats_url))
}
