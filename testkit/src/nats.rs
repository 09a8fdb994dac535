//! [`Nats`]: a nats-server of one's own, on loopback, with a token.
//!
//! No port is found free and then handed over (another process could take
//! it in between): the server picks its own (`-p -1`) and writes it to a
//! ports file (`--ports_file_dir`), which is read back. A restart reuses
//! the port the server already owned, as a real restart would.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::Proc;

/// How long a nats-server may take to listen.
const START_WITHIN: Duration = Duration::from_secs(10);

pub struct Nats {
    pub url: String,
    pub token: String,
    port: u16,
    bin: PathBuf,
    conf: PathBuf,
    ports_dir: PathBuf,
    proc: Proc,
}

impl Nats {
    /// Start [`crate::nats_server_bin`] with its files (config, log, ports
    /// file) in `dir`.
    pub fn start(dir: &Path) -> Result<Nats> {
        Nats::start_bin(&crate::nats_server_bin(), dir)
    }

    /// Start the nats-server binary `bin` with its files in `dir`.
    pub fn start_bin(bin: &Path, dir: &Path) -> Result<Nats> {
        let token = format!("t{}", lwc_wire::now_ns());
        let conf = dir.join("nats.conf");
        std::fs::write(&conf, format!("authorization {{ token: \"{token}\" }}\n"))
            .with_context(|| format!("cannot write {}", conf.display()))?;
        let ports_dir = dir.join("nats-ports");
        std::fs::create_dir_all(&ports_dir)?;
        let (proc, port) = spawn(bin, &conf, &ports_dir, None)?;
        Ok(Nats {
            url: format!("nats://127.0.0.1:{port}"),
            token,
            port,
            bin: bin.to_path_buf(),
            conf,
            ports_dir,
            proc,
        })
    }

    /// Kill the server (-9) and start it again on the same port with the
    /// same token; returns once it listens.
    pub fn restart(&mut self) -> Result<()> {
        self.proc.kill();
        let (proc, port) = spawn(&self.bin, &self.conf, &self.ports_dir, Some(self.port))?;
        if port != self.port {
            bail!("nats-server came back on port {port}, not {}", self.port);
        }
        self.proc = proc;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's pid (for its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }

    /// A client with the token and a large subscription capacity (async-nats
    /// drops messages past it).
    pub async fn client(&self) -> Result<async_nats::Client> {
        async_nats::ConnectOptions::new()
            .token(self.token.clone())
            .subscription_capacity(1 << 20)
            .connect(self.url.as_str())
            .await
            .with_context(|| format!("cannot connect to {}", self.url))
    }
}

/// Return once the server has handled everything `client` sent before,
/// its subscriptions above all. `flush` is not enough: it only writes the
/// client's buffer out, so another connection's publish can still reach
/// the server before a subscription flushed a moment earlier.
pub async fn round_trip(client: &async_nats::Client) -> Result<()> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    client.publish(inbox, Vec::new().into()).await?;
    match tokio::time::timeout(START_WITHIN, futures::StreamExt::next(&mut sub)).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => bail!("the connection closed during a round trip"),
        Err(_) => bail!("no round trip to the nats-server within {START_WITHIN:?}"),
    }
}

/// Start a server (on `port`, or one it picks) and wait until its ports
/// file names the port it listens on.
fn spawn(bin: &Path, conf: &Path, ports_dir: &Path, port: Option<u16>) -> Result<(Proc, u16)> {
    // A server killed with -9 leaves its file behind; any file here after
    // this is the new server's (whatever its pid: `bin` may be a wrapper).
    for old in std::fs::read_dir(ports_dir)?.flatten() {
        let _ = std::fs::remove_file(old.path());
    }
    let log = conf.with_file_name("nats.log");
    let mut cmd = Command::new(bin);
    cmd.args(["-a", "127.0.0.1", "-p"])
        .arg(port.map_or("-1".to_string(), |p| p.to_string()))
        .arg("--ports_file_dir")
        .arg(ports_dir)
        .arg("-c")
        .arg(conf);
    let mut proc = Proc::spawn("nats-server", cmd, &log).context("run scripts/setup.sh, or set LWC_NATS_SERVER")?;
    let port = crate::wait::until(START_WITHIN, "nats-server to listen", || {
        if !proc.is_running() {
            bail!("nats-server exited: {}", proc.log_tail(10));
        }
        Ok(read_ports_dir(ports_dir))
    })
    .with_context(|| format!("log: {}", log.display()))?;
    Ok((proc, port))
}

/// The client port from the ports file in `dir`, once it is complete.
fn read_ports_dir(dir: &Path) -> Option<u16> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ports"))
        // Written once the listeners are up; it may be seen half-written.
        .find_map(|e| client_port(&std::fs::read_to_string(e.path()).ok()?))
}

/// The client port of a ports file: `{"nats":["nats://127.0.0.1:4222"],...}`.
fn client_port(text: &str) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let url = v["nats"].as_array()?.first()?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_client_port_of_a_ports_file() {
        assert_eq!(client_port(r#"{"nats":["nats://127.0.0.1:44201"]}"#), Some(44201));
        assert_eq!(client_port(r#"{"nats":["nats://127.0.0.1:44"#), None, "half-written");
        assert_eq!(client_port(r#"{"monitoring":["http://127.0.0.1:8222"]}"#), None);
        assert_eq!(client_port(""), None);
    }

    /// Needs a nats-server, as every end-to-end test (scripts/setup.sh).
    #[tokio::test]
    async fn starts_on_its_own_port_and_restarts_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut nats = Nats::start(dir.path()).unwrap();
        let port = nats.port();
        assert!(port > 0);
        nats.client().await.unwrap().flush().await.unwrap();
        nats.restart().unwrap();
        assert_eq!(nats.port(), port);
        nats.client().await.unwrap().flush().await.unwrap();
    }

    #[tokio::test]
    async fn after_a_round_trip_a_subscription_hears_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let nats = Nats::start(dir.path()).unwrap();
        let (a, b) = (nats.client().await.unwrap(), nats.client().await.unwrap());
        for n in 0..20 {
            let subject = format!("t.{n}");
            let mut sub = a.subscribe(subject.clone()).await.unwrap();
            round_trip(&a).await.unwrap();
            b.publish(subject, "x".into()).await.unwrap();
            let got = tokio::time::timeout(START_WITHIN, futures::StreamExt::next(&mut sub)).await;
            assert!(matches!(got, Ok(Some(_))), "message {n} missed");
        }
    }
}
