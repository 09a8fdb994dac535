//! [`NetLab`]: a few network namespaces on one bridge, as stand-ins for
//! machines on a LAN. Namespace `i` has one veth with address
//! `10.<a>.<b>.<i+1>/24`; the bridge (in the namespace this process runs
//! in) has `.254`, so the test itself reaches every "machine". Everything
//! made is removed on drop, also when a test fails half-way.
//!
//! It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and `ip` (iproute2):
//! [`NetLab::unavailable`] says why not, so a test can skip cleanly.

use anyhow::{bail, Context, Result};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

pub struct NetLab {
    /// Namespace names, in order.
    pub namespaces: Vec<String>,
    bridge: String,
    /// Root-side ends of the veth pairs.
    veths: Vec<String>,
    subnet: [u8; 2],
}

/// `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run ip {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

impl NetLab {
    /// Why namespaces cannot be made here (not root, no `ip`), or `None`.
    pub fn unavailable() -> Option<String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("not running as root (network namespaces need CAP_NET_ADMIN)".into());
        }
        let has_ip = Command::new("ip").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !has_ip.is_ok_and(|s| s.success()) {
            return Some("`ip` (iproute2) is not installed: scripts/setup.sh installs it".into());
        }
        None
    }

    /// Make `n` namespaces (1..=250) on a fresh bridge. Names carry this
    /// process's pid, so parallel tests and leftovers of a killed run do
    /// not collide.
    pub fn new(n: usize) -> Result<NetLab> {
        anyhow::ensure!((1..=250).contains(&n), "a lab of {n} namespaces");
        let tag = std::process::id() % 100_000;
        let subnet = [10 + (tag / 250 % 200) as u8, (tag % 250) as u8];
        let mut lab = NetLab {
            namespaces: Vec::new(),
            bridge: format!("lwcb{tag}"),
            veths: Vec::new(),
            subnet: [subnet[0], subnet[1]],
        };
        // From here on, drop undoes whatever was made.
        ip(&["link", "add", &lab.bridge, "type", "bridge"])?;
        let bridge_addr = format!("{}/24", lab.bridge_ip());
        ip(&["addr", "add", &bridge_addr, "dev", &lab.bridge])?;
        ip(&["link", "set", &lab.bridge, "up"])?;
        for i in 0..n {
            lab.add_namespace(i, tag)?;
        }
        Ok(lab)
    }

    fn add_namespace(&mut self, i: usize, tag: u32) -> Result<()> {
        let ns = format!("lwc{tag}-{i}");
        ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        let (outer, inner) = (format!("lwcv{tag}x{i}"), format!("lwcv{tag}y{i}"));
        ip(&["link", "add", &outer, "type", "veth", "peer", "name", &inner])?;
        self.veths.push(outer.clone());
        ip(&["link", "set", &outer, "master", &self.bridge])?;
        ip(&["link", "set", &outer, "up"])?;
        ip(&["link", "set", &inner, "netns", &ns])?;
        let addr = format!("{}/24", self.ip(i));
        ip(&["-n", &ns, "addr", "add", &addr, "dev", &inner])?;
        ip(&["-n", &ns, "link", "set", &inner, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// The address of namespace `i`.
    pub fn ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet[0], self.subnet[1], i as u8 + 1)
    }

    /// The bridge's address (the test's side).
    pub fn bridge_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet[0], self.subnet[1], 254)
    }

    /// The words that run a program inside namespace `i`:
    /// `ip netns exec <ns>` (it execs the program: same pid).
    pub fn exec_prefix(&self, i: usize) -> Vec<String> {
        ["ip", "netns", "exec", &self.namespaces[i]].map(String::from).to_vec()
    }

    /// A command for `program` inside namespace `i`.
    pub fn command(&self, i: usize, program: &std::path::Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespaces[i]]).arg(program);
        cmd
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        // Deleting a namespace takes its veth end, and so the pair, along.
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
        for v in &self.veths {
            let _ = ip(&["link", "del", v]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

/// Whether a network interface of this name exists (in this namespace).
pub fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Whether a named network namespace exists.
pub fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

impl NetLab {
    /// Every interface and namespace this lab made, for a test to check
    /// that they are gone after drop.
    pub fn made(&self) -> (Vec<String>, Vec<String>) {
        let mut links = self.veths.clone();
        links.push(self.bridge.clone());
        (links, self.namespaces.clone())
    }
}
