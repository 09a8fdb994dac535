//! The manifest: which host runs which component, and where links point.
//!
//! It is data, not code (DESIGN.md "The ring"): `scripts/ring.toml` describes
//! the five-host ring, and any other topology can be written the same way.
//! Errors name the file, the line and the field.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

use lwc_wire::subjects::is_valid_token;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    lattice: RawLattice,
    #[serde(default)]
    hosts: BTreeMap<Spanned<String>, RawHost>,
    #[serde(default)]
    components: BTreeMap<Spanned<String>, RawComponent>,
    #[serde(default)]
    links: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLattice {
    #[serde(default = "default_lattice")]
    name: Spanned<String>,
}

impl Default for RawLattice {
    fn default() -> Self {
        RawLattice {
            name: default_lattice(),
        }
    }
}

fn default_lattice() -> Spanned<String> {
    Spanned::new(0..0, "default".to_string())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    /// Cap on concurrent invocations per component on this host.
    max_concurrent: Option<usize>,
    /// Hops a component may have waiting beyond the cap before "overloaded".
    queue: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    host: Spanned<String>,
    wasm: Spanned<String>,
    http: Option<Spanned<String>>,
}

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
    pub host: String,
    pub wasm: PathBuf,
    /// Set for `wasi:http` components: where the host serves them.
    pub http: Option<SocketAddr>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Manifest::parse(&text, base).with_context(|| format!("bad manifest {}", path.display()))
    }

    /// Parse and check `text`; relative wasm paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text)?;
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);

        let lattice = raw.lattice.name.get_ref().clone();
        if !is_valid_token(&lattice) {
            bail!("{}lattice.name {lattice:?} must be 1-64 characters of [a-z0-9_-]", at(raw.lattice.name.span()));
        }

        let mut hosts = BTreeMap::new();
        for (name, host) in raw.hosts {
            check_name(&name, "hosts", text)?;
            if host.max_concurrent == Some(0) {
                bail!("{}hosts.{}.max_concurrent must be at least 1", at(name.span()), name.get_ref());
            }
            let spec = HostSpec {
                max_concurrent: host.max_concurrent,
                queue: host.queue,
            };
            hosts.insert(name.into_inner(), spec);
        }
        if hosts.is_empty() {
            bail!("no [hosts.<name>] table: a manifest needs at least one host");
        }

        let mut components = BTreeMap::new();
        for (name, c) in raw.components {
            check_name(&name, "components", text)?;
            let cname = name.get_ref().clone();
            if !hosts.contains_key(c.host.get_ref()) {
                bail!(
                    "{}components.{cname}.host = {:?} is not one of the hosts ({})",
                    at(c.host.span()),
                    c.host.get_ref(),
                    hosts.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            let http = match &c.http {
                None => None,
                Some(addr) => Some(addr.get_ref().parse::<SocketAddr>().map_err(|e| {
                    anyhow::anyhow!(
                        "{}components.{cname}.http = {:?} is not an address like 127.0.0.1:30000 ({e})",
                        at(addr.span()),
                        addr.get_ref()
                    )
                })?),
            };
            if c.wasm.get_ref().is_empty() {
                bail!("{}components.{cname}.wasm is empty", at(c.wasm.span()));
            }
            let spec = ComponentSpec {
                name: cname.clone(),
                host: c.host.into_inner(),
                wasm: base.join(c.wasm.get_ref()),
                http,
            };
            components.insert(cname, spec);
        }

        let mut links = BTreeMap::new();
        for (source, named) in raw.links {
            if !components.contains_key(source.get_ref()) {
                bail!(
                    "{}[links.{}] names no component (components: {})",
                    at(source.span()),
                    source.get_ref(),
                    components.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            for (name, target) in named {
                if !is_valid_token(name.get_ref()) {
                    bail!("{}link name {:?} must be 1-64 characters of [a-z0-9_-]", at(name.span()), name.get_ref());
                }
                if !components.contains_key(target.get_ref()) {
                    bail!(
                        "{}links.{}.{} = {:?} is not a component",
                        at(target.span()),
                        source.get_ref(),
                        name.get_ref(),
                        target.get_ref()
                    );
                }
                links.insert(
                    (source.get_ref().clone(), name.get_ref().clone()),
                    target.get_ref().clone(),
                );
            }
        }

        Ok(Manifest {
            lattice,
            hosts,
            components,
            links,
        })
    }

    /// The components placed on `host`.
    pub fn components_on<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a ComponentSpec> + 'a {
        self.components.values().filter(move |c| c.host == host)
    }
}

fn check_name(name: &Spanned<String>, table: &str, text: &str) -> Result<()> {
    if !is_valid_token(name.get_ref()) {
        bail!(
            "{}[{table}.{}]: names must be 1-64 characters of [a-z0-9_-]",
            line_of(text, name.span().start),
            name.get_ref()
        );
    }
    Ok(())
}

/// "line N: " for a byte offset, or "" for values that came from defaults.
fn line_of(text: &str, offset: usize) -> String {
    if offset == 0 && text.is_empty() {
        return String::new();
    }
    let line = text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1;
    format!("line {line}: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: &str = include_str!("../../scripts/ring.toml");

    #[test]
    fn the_ring_manifest_parses() {
        let m = Manifest::parse(RING, Path::new("scripts")).unwrap();
        assert_eq!(m.lattice, "default");
        assert_eq!(m.hosts.len(), 5);
        assert_eq!(m.links[&("north".into(), "special".into())], "south");
        assert_eq!(m.links[&("control".into(), "default".into())], "east");
        assert!(m.components["control"].http.is_some());
        assert_eq!(m.components_on("east").count(), 1);
    }

    fn err(text: &str) -> String {
        format!("{:#}", Manifest::parse(text, Path::new(".")).unwrap_err())
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let e = err("[hosts.a]\n[components.x]\nhost = \"b\"\nwasm = \"x.wasm\"\n");
        assert!(e.contains("line 3") && e.contains("components.x.host"), "{e}");

        let e = err("[hosts.a]\n[components.x]\nhost = \"a\"\nwasm = \"x.wasm\"\n[links.x]\ndefault = \"y\"\n");
        assert!(e.contains("line 6") && e.contains("links.x.default"), "{e}");

        let e = err("[hosts.a]\n[components.x]\nhost = \"a\"\nwasm = \"x.wasm\"\nhttp = \"nope\"\n");
        assert!(e.contains("components.x.http"), "{e}");

        let e = err("[hosts.a]\ncolour = 1\n");
        assert!(e.contains("colour"), "{e}");

        let e = err("[hosts.A]\n");
        assert!(e.contains("[hosts.A]"), "{e}");

        let e = err("");
        assert!(e.contains("no [hosts"), "{e}");
    }
}
