//! The ring's nats-server, or its local cluster of servers: their configs
//! (loopback, a random token, written here), starting them, knowing when
//! they serve and when a cluster is whole, and a client for lwc itself.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::paths::StateDir;
use crate::procs::{self, Tie};
use crate::state::{self, RingEnv};
use serde::{Deserialize, Serialize};

/// A fresh ring's token: 24 random bytes, hex.
pub fn random_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest local cluster `lwc up --cluster K` starts.
pub const MAX_CLUSTER: u16 = 5;

/// One server of the ring: server 1 alone, or one of a local cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// 1-based.
    pub index: u16,
    /// Client port, on loopback.
    pub port: u16,
    /// Route port, for a cluster of more than one server.
    pub cluster_port: Option<u16>,
}

impl Server {
    /// Its pid file's name: `nats` for server 1 (as DESIGN.md pins it),
    /// `nats-I` for the others; its config and log are named the same.
    pub fn name(&self) -> String {
        server_name(self.index)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

pub fn server_name(index: u16) -> String {
    if index == 1 {
        "nats".into()
    } else {
        format!("nats-{index}")
    }
}

/// Whether a pid file name is one of the ring's servers (`nats`, `nats-2`, …).
pub fn is_server_name(name: &str) -> bool {
    name == "nats" || name.strip_prefix("nats-").is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
}

/// The servers of a new ring: server 1 on `port` (else 4222 if free, else
/// a free one), the others of a cluster of `k` on free ports, each with a
/// free route port when `k` > 1.
pub fn plan(port: Option<u16>, k: u16) -> std::io::Result<Vec<Server>> {
    let mut servers = Vec::new();
    let mut taken: Vec<u16> = port.into_iter().collect();
    for index in 1..=k.max(1) {
        let client = match (index, port) {
            (1, Some(p)) => p,
            (1, None) => free_port(&mut taken, 4222)?,
            _ => free_port(&mut taken, 0)?,
        };
        let cluster_port = if k > 1 { Some(free_port(&mut taken, 0)?) } else { None };
        servers.push(Server { index, port: client, cluster_port });
    }
    Ok(servers)
}

/// A loopback port free now (`preferred` if it is) and not in `taken`;
/// it joins `taken`.
fn free_port(taken: &mut Vec<u16>, preferred: u16) -> std::io::Result<u16> {
    loop {
        let p = if preferred != 0 && !taken.contains(&preferred) {
            crate::ports::free_loopback_port(preferred)?
        } else {
            std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()
        };
        if !taken.contains(&p) {
            taken.push(p);
            return Ok(p);
        }
    }
}

/// The config of `server`: loopback only, the token, no monitoring port; in
/// a cluster, routes to every other server, authenticated with the same
/// token. The token lives in these 0600 files and in ring.env, never on a
/// command line.
pub fn write_conf(state: &StateDir, servers: &[Server], server: &Server, token: &str) -> Result<()> {
    let mut text = format!(
        "# Written by lwc for this ring; holds its token: keep it private.\n\
         server_name: \"lwc-{index}\"\n\
         listen: \"127.0.0.1:{port}\"\n\
         authorization {{\n  token: \"{token}\"\n}}\n",
        index = server.index,
        port = server.port,
    );
    if let Some(cluster_port) = server.cluster_port {
        let routes: Vec<String> = servers
            .iter()
            .filter(|s| s.index != server.index)
            .filter_map(|s| Some(format!("\"nats-route://lwc:{token}@127.0.0.1:{}\"", s.cluster_port?)))
            .collect();
        text.push_str(&format!(
            "cluster {{\n  name: \"lwc\"\n  listen: \"127.0.0.1:{cluster_port}\"\n  \
             authorization {{ user: \"lwc\", password: \"{token}\" }}\n  routes: [{}]\n}}\n",
            routes.join(", ")
        ));
    }
    state::write_private(&state.conf(&server.name()), text.as_bytes())
}

/// Start `server` with its config and wait until it greets a client; its
/// pid goes to its pid file. A cluster is whole once [`wait_meshed`] says so.
pub fn start(state: &StateDir, bin: &Path, server: &Server, tie: Tie) -> Result<u32> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    if !crate::ports::is_free(addr) {
        bail!("cannot start nats-server: {}", crate::ports::busy_message(addr));
    }
    let name = server.name();
    let log = state.log(&name);
    crate::hosts::log_banner(&log, &name);
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(state.conf(&name));
    let pid = procs::spawn(cmd, &log, tie)?;
    state::write_pid(state, &name, pid)?;
    wait_serving(pid, server.port, &log, 0)?;
    eprintln!("lwc: nats-server {} up on 127.0.0.1:{} (pid {pid})", server.index, server.port);
    Ok(pid)
}

/// Wait until every live server of a cluster knows all the live ones (its
/// INFO lists their client URLs): hosts learn the other servers from that
/// list when they connect, and fail over to them. A server killed outside
/// lwc does not hold the others up.
pub fn wait_meshed(state: &StateDir, servers: &[Server]) -> Result<()> {
    if servers.len() < 2 {
        return Ok(());
    }
    let live: Vec<(&Server, u32)> = servers
        .iter()
        .filter_map(|s| {
            let pid = state::read_pid(state, &s.name())?;
            procs::is_ours(pid, "nats-server").then_some((s, pid))
        })
        .collect();
    for (s, pid) in &live {
        wait_serving(*pid, s.port, &state.log(&s.name()), live.len())?;
    }
    if live.len() == servers.len() {
        eprintln!("lwc: NATS cluster of {} servers meshed", servers.len());
    } else {
        let down: Vec<String> = servers.iter().filter(|s| !live.iter().any(|(l, _)| l.index == s.index)).map(|s| s.index.to_string()).collect();
        eprintln!(
            "lwc: NATS cluster meshed: {} of {} servers (down: {}; `lwc restart-nats --server I` starts one)",
            live.len(),
            servers.len(),
            down.join(", ")
        );
    }
    Ok(())
}

/// nats-server greets every client with an INFO line: that tells it from
/// any other program on the port; in a cluster it lists the client URLs of
/// the servers it is routed to (itself included). Gives up when the
/// process exits.
fn wait_serving(pid: u32, port: u16, log: &Path, servers: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if greets(port).is_some_and(|urls| urls >= servers) {
            // Another server may hold the port (taken between the check and
            // the start): then the greeting was not ours.
            return match crate::ports::holder(port) {
                Some((holder, cmd)) if holder != pid => {
                    bail!("127.0.0.1:{port} was taken by pid {holder} ({cmd}) as nats-server started{}", crate::hosts::log_tail(log))
                }
                _ => Ok(()),
            };
        }
        if !procs::is_ours(pid, "nats-server") {
            bail!("nats-server exited at start{}", crate::hosts::log_tail(log));
        }
        if Instant::now() > deadline {
            let what = if servers > 1 { format!(" as one of a cluster of {servers}") } else { String::new() };
            bail!("nats-server did not answer on 127.0.0.1:{port}{what} within 10 s{}", crate::hosts::log_tail(log));
        }
        // Connection refused is instant: this is the pace of the retries.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many client URLs the server on `port` announces, if it greets.
fn greets(port: u16) -> Option<usize> {
    let stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    let info: serde_json::Value = serde_json::from_str(line.strip_prefix("INFO ")?.trim()).ok()?;
    Some(info["connect_urls"].as_array().map_or(0, Vec::len))
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
