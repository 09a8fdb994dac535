//! From the raw TOML to a checked [`Manifest`]: every name is a valid subject
//! token, every reference points at something that exists, and each error
//! names the field with its line and column.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

use lwc_wire::subjects::is_valid_token;

use crate::raw::{self, RawComponent, RawManifest};
use crate::{ComponentSpec, HostSpec, Manifest, ManifestError, Position};

/// Parse and check `text`; relative wasm paths are resolved against `base`.
pub fn parse(text: &str, base: &Path) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Invalid {
        file: None,
        at: e.span().map(|s| Position::of(text, s.start)),
        message: e.message().trim_end().to_string(),
    })?;
    let bad = |span: Range<usize>, message: String| ManifestError::Invalid {
        file: None,
        at: Some(Position::of(text, span.start)),
        message,
    };

    let lattice = match raw.lattice.as_ref().and_then(|l| l.get_ref().name.as_ref()) {
        None => "default".to_string(),
        Some(name) if is_valid_token(name.get_ref()) => name.get_ref().clone(),
        Some(name) => {
            return Err(bad(
                name.span(),
                format!("lattice.name {:?} must be 1-64 characters of [a-z0-9_-]", name.get_ref()),
            ))
        }
    };

    let hosts = hosts(raw.hosts, &bad)?;
    let components = components(raw.components, &hosts, base, &bad)?;
    let links = links(raw.links, &components, &bad)?;
    Ok(Manifest {
        lattice,
        hosts,
        components,
        links,
    })
}

type Bad<'a> = dyn Fn(Range<usize>, String) -> ManifestError + 'a;

fn check_name(name: &Spanned<String>, table: &str, bad: &Bad) -> Result<(), ManifestError> {
    if is_valid_token(name.get_ref()) {
        return Ok(());
    }
    Err(bad(
        name.span(),
        format!("[{table}.{}]: names must be 1-64 characters of [a-z0-9_-]", name.get_ref()),
    ))
}

fn hosts(
    raw: BTreeMap<Spanned<String>, raw::RawHost>,
    bad: &Bad,
) -> Result<BTreeMap<String, HostSpec>, ManifestError> {
    let mut hosts = BTreeMap::new();
    for (name, host) in raw {
        check_name(&name, "hosts", bad)?;
        if let Some(n) = host.max_concurrent.as_ref().filter(|n| *n.get_ref() == 0) {
            return Err(bad(n.span(), format!("hosts.{}.max_concurrent must be at least 1", name.get_ref())));
        }
        let spec = HostSpec {
            max_concurrent: host.max_concurrent.map(Spanned::into_inner),
            queue: host.queue,
        };
        hosts.insert(name.into_inner(), spec);
    }
    if hosts.is_empty() {
        return Err(ManifestError::Invalid {
            file: None,
            at: None,
            message: "no [hosts.<name>] table: a manifest needs at least one host".into(),
        });
    }
    Ok(hosts)
}

fn components(
    raw: BTreeMap<Spanned<String>, Spanned<RawComponent>>,
    hosts: &BTreeMap<String, HostSpec>,
    base: &Path,
    bad: &Bad,
) -> Result<BTreeMap<String, ComponentSpec>, ManifestError> {
    let mut components = BTreeMap::new();
    for (name, c) in raw {
        check_name(&name, "components", bad)?;
        let cname = name.get_ref().clone();
        let table_span = c.span();
        let c = c.into_inner();
        let placed = placement(&cname, &c, table_span, hosts, bad)?;
        let http = match &c.http {
            None => None,
            Some(addr) => Some(addr.get_ref().parse::<SocketAddr>().map_err(|e| {
                bad(
                    addr.span(),
                    format!(
                        "components.{cname}.http = {:?} is not an address like 127.0.0.1:30000 ({e})",
                        addr.get_ref()
                    ),
                )
            })?),
        };
        if c.wasm.get_ref().is_empty() {
            return Err(bad(c.wasm.span(), format!("components.{cname}.wasm is empty")));
        }
        let spec = ComponentSpec {
            name: cname.clone(),
            host: placed[0].clone(),
            hosts: placed,
            wasm: base.join(c.wasm.get_ref()),
            http,
        };
        components.insert(cname, spec);
    }
    Ok(components)
}

/// The hosts a component runs on: `host = "a"` or `hosts = ["a", "b"]`
/// (exactly one of the two; no host twice; every one a `[hosts.<name>]`).
fn placement(
    cname: &str,
    c: &RawComponent,
    table: Range<usize>,
    hosts: &BTreeMap<String, HostSpec>,
    bad: &Bad,
) -> Result<Vec<String>, ManifestError> {
    let names: Vec<&Spanned<String>> = match (&c.host, &c.hosts) {
        (Some(_), Some(list)) => {
            return Err(bad(
                list.span(),
                format!("components.{cname}: give `host` or `hosts`, not both"),
            ))
        }
        (None, None) => {
            return Err(bad(
                table,
                format!("components.{cname}: missing `host = \"<name>\"` (or `hosts = [...]` for replicas)"),
            ))
        }
        (Some(one), None) => vec![one],
        (None, Some(list)) if list.get_ref().is_empty() => {
            return Err(bad(list.span(), format!("components.{cname}.hosts is empty")))
        }
        (None, Some(list)) => list.get_ref().iter().collect(),
    };
    let field = if c.host.is_some() { "host" } else { "hosts" };
    let mut placed: Vec<String> = Vec::with_capacity(names.len());
    for h in names {
        if !hosts.contains_key(h.get_ref()) {
            return Err(bad(
                h.span(),
                format!(
                    "components.{cname}.{field}: {:?} is not one of the hosts ({})",
                    h.get_ref(),
                    hosts.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if placed.contains(h.get_ref()) {
            return Err(bad(h.span(), format!("components.{cname}.hosts names {:?} twice", h.get_ref())));
        }
        placed.push(h.get_ref().clone());
    }
    Ok(placed)
}

fn links(
    raw: raw::Links,
    components: &BTreeMap<String, ComponentSpec>,
    bad: &Bad,
) -> Result<BTreeMap<(String, String), String>, ManifestError> {
    let mut links = BTreeMap::new();
    for (source, named) in raw {
        if !components.contains_key(source.get_ref()) {
            return Err(bad(
                source.span(),
                format!(
                    "[links.{}] names no component (components: {})",
                    source.get_ref(),
                    components.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        for (name, target) in named {
            if !is_valid_token(name.get_ref()) {
                return Err(bad(
                    name.span(),
                    format!("link name {:?} must be 1-64 characters of [a-z0-9_-]", name.get_ref()),
                ));
            }
            if !components.contains_key(target.get_ref()) {
                return Err(bad(
                    target.span(),
                    format!(
                        "links.{}.{} = {:?} is not a component",
                        source.get_ref(),
                        name.get_ref(),
                        target.get_ref()
                    ),
                ));
            }
            links.insert((source.get_ref().clone(), name.get_ref().clone()), target.get_ref().clone());
        }
    }
    Ok(links)
}
