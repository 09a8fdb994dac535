//! The lwc manifest: which host runs which component, and where links point.
//!
//! It is data, not code (DESIGN.md "The ring"): `scripts/ring.toml` describes
//! the five-host ring, and any other topology can be written the same way.
//! This crate is the one parser of that file: `lwc-host` runs what it says
//! and `lwc` (the CLI) starts the hosts it lists, so the two cannot disagree.
//! It links no wasmtime.
//!
//! - [`raw`]: the file as TOML gives it, with spans
//! - [`check`]: turns the raw form into a checked [`Manifest`], or an error
//!   that names the field, the line and the column
//! - [`error`]: [`ManifestError`] and [`Position`]
//!
//! ```toml
//! [lattice]
//! name = "default"
//! [hosts.north]                 # one table per host; fields optional
//! [components.north]
//! host = "north"                # or hosts = ["north-1", "north-2"]: replicas
//! wasm = "../target/wasm32-wasip2/release/lwc_probe.wasm"
//! [links.north]
//! default = "west"
//! ```

pub mod check;
pub mod error;
pub mod raw;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::{ManifestError, Position};

/// A checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub lattice: String,
    pub hosts: BTreeMap<String, HostSpec>,
    pub components: BTreeMap<String, ComponentSpec>,
    /// (source component, link name) → target component.
    pub links: BTreeMap<(String, String), String>,
}

#[derive(Debug, Clone, Default)]
pub struct HostSpec {
    pub max_concurrent: Option<usize>,
    pub queue: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub name: String,
    /// The first host of [`ComponentSpec::hosts`] (the only one without replicas).
    pub host: String,
    /// Every host that runs this component: one, or its replicas in file order.
    pub hosts: Vec<String>,
    pub wasm: PathBuf,
    /// Set for `wasi:http` components: where the host serves them.
    pub http: Option<SocketAddr>,
}

impl Manifest {
    /// Read and check the manifest at `path`; relative wasm paths are
    /// resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Manifest::parse(&text, base).map_err(|e| e.in_file(path))
    }

    /// Parse and check `text`; relative wasm paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Manifest, ManifestError> {
        check::parse(text, base)
    }

    /// The components placed on `host`, replicas included.
    pub fn components_on<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a ComponentSpec> + 'a {
        self.components.values().filter(move |c| c.hosts.iter().any(|h| h == host))
    }

    /// The host names, in name order, joined for messages ("a, b, c").
    pub fn host_list(&self) -> String {
        self.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The first component with an `http` address (the control component).
    pub fn http_component(&self) -> Option<&ComponentSpec> {
        self.components.values().find(|c| c.http.is_some())
    }

    /// Where a client reaches the HTTP API: the manifest's address, with a
    /// wildcard address (0.0.0.0, ::) turned into loopback.
    pub fn http_url(&self) -> Option<String> {
        let addr = self.http_component()?.http?;
        Some(format!("http://{}", reachable(addr)))
    }
}

/// `addr` as a client connects to it: wildcards become loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        let ip: std::net::IpAddr = if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        addr.set_ip(ip);
    }
    addr
}

#[cfg(test)]
mod tests;
