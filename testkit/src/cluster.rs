//! [`NatsCluster`]: a real NATS cluster of a few servers, each on an
//! address of its own (a network namespace of a [`crate::netns::NetLab`],
//! or loopback ports), routed to each other with the same token that
//! clients use. [`NatsCluster::start`] returns once every server announces
//! all of them in its INFO (`connect_urls`): clients connecting from then
//! on learn the others and fail over to them.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// Where one server runs.
#[derive(Debug, Clone)]
pub struct Place {
    /// Words before the server's own command line (e.g. `ip netns exec ns`).
    pub prefix: Vec<String>,
    /// Client address; routes use the same IP and `route_port`.
    pub client: SocketAddr,
    pub route_port: u16,
}

pub struct NatsCluster {
    pub token: String,
    places: Vec<Place>,
    procs: Vec<Proc>,
}

impl NatsCluster {
    /// Start one `bin` per place, files in `dir`; wait until meshed.
    pub fn start(bin: &Path, dir: &Path, places: Vec<Place>) -> Result<NatsCluster> {
        let token = format!("t{}", lwc_wire::now_ns());
        let mut procs = Vec::new();
        for (i, place) in places.iter().enumerate() {
            let conf = write_conf(dir, i, &places, &token)?;
            let mut cmd = match place.prefix.split_first() {
                Some((first, rest)) => {
                    let mut c = Command::new(first);
                    c.args(rest).arg(bin);
                    c
                }
                None => Command::new(bin),
            };
            cmd.arg("-c").arg(&conf);
            let log = dir.join(format!("nats-{i}.log"));
            procs.push(Proc::spawn(&format!("nats-{i}"), cmd, &log).context("run scripts/setup.sh, or set LWC_NATS_SERVER")?);
        }
        let mut cluster = NatsCluster { token, places, procs };
        cluster.wait_meshed(Duration::from_secs(20))?;
        Ok(cluster)
    }

    /// Wait until every live server lists every live one in its INFO.
    pub fn wait_meshed(&mut self, within: Duration) -> Result<()> {
        let live: Vec<usize> = (0..self.places.len()).filter(|i| !self.procs[*i].killed()).collect();
        for &i in &live {
            let addr = self.places[i].client;
            let proc = &mut self.procs[i];
            crate::wait::until(within, &format!("nats-{i} at {addr} to route to {} servers", live.len()), || {
                if !proc.is_running() {
                    bail!("nats-{i} exited: {}", proc.log_tail(10));
                }
                Ok(announced(addr).filter(|n| *n >= live.len()))
            })?;
        }
        Ok(())
    }

    /// `nats://IP:PORT` of server `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://{}", self.places[i].client)
    }

    /// Kill server `i` (-9).
    pub fn kill(&mut self, i: usize) {
        self.procs[i].kill();
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.procs[i].pid()
    }

    /// A client of server `i` with the token and a large subscription capacity.
    pub async fn client(&self, i: usize) -> Result<async_nats::Client> {
        async_nats::ConnectOptions::new()
            .token(self.token.clone())
            .subscription_capacity(1 << 20)
            .connect(self.url(i))
            .await
            .with_context(|| format!("cannot connect to {}", self.url(i)))
    }
}

fn write_conf(dir: &Path, i: usize, places: &[Place], token: &str) -> Result<PathBuf> {
    let me = &places[i];
    let routes: Vec<String> = places
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, p)| format!("\"nats-route://lwc:{token}@{}:{}\"", p.client.ip(), p.route_port))
        .collect();
    let text = format!(
        "server_name: \"t{i}\"\nlisten: \"{}\"\nauthorization {{ token: \"{token}\" }}\n\
         cluster {{\n  name: \"lwc-test\"\n  listen: \"{}:{}\"\n  \
         authorization {{ user: \"lwc\", password: \"{token}\" }}\n  routes: [{}]\n}}\n",
        me.client,
        me.client.ip(),
        me.route_port,
        routes.join(", ")
    );
    let path = dir.join(format!("nats-{i}.conf"));
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// How many client URLs the server at `addr` announces, if it greets.
pub fn announced(addr: SocketAddr) -> Option<usize> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    let info: serde_json::Value = serde_json::from_str(line.strip_prefix("INFO ")?.trim()).ok()?;
    Some(info["connect_urls"].as_array().map_or(0, Vec::len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs a nats-server, as every end-to-end test (scripts/setup.sh).
    #[tokio::test]
    async fn three_servers_on_loopback_mesh_and_survive_one() {
        let dir = tempfile::tempdir().unwrap();
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let places: Vec<Place> = (0..3)
            .map(|_| Place { prefix: Vec::new(), client: SocketAddr::from(([127, 0, 0, 1], free())), route_port: free() })
            .collect();
        let mut c = NatsCluster::start(&crate::nats_server_bin(), dir.path(), places).unwrap();
        let a = c.client(0).await.unwrap();
        let mut sub = a.subscribe("x").await.unwrap();
        a.flush().await.unwrap();
        c.kill(1);
        c.wait_meshed(Duration::from_secs(20)).unwrap();
        // Interest crosses the routes: a message on server 2 reaches server 0.
        let b = c.client(2).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                b.publish("x", "hi".into()).await.unwrap();
                b.flush().await.unwrap();
                if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), futures::StreamExt::next(&mut sub)).await {
                    return m;
                }
            }
        })
        .await
        .expect("a message from server 2 on server 0");
        assert_eq!(&got.payload[..], b"hi");
    }
}
