//! The manifest as TOML gives it, with the span of every name and value, so
//! that checks can say where a bad one is.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub type Links = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    #[serde(default)]
    pub lattice: Option<Spanned<RawLattice>>,
    #[serde(default)]
    pub hosts: BTreeMap<Spanned<String>, RawHost>,
    #[serde(default)]
    pub components: BTreeMap<Spanned<String>, Spanned<RawComponent>>,
    #[serde(default)]
    pub links: Links,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLattice {
    pub name: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    /// Cap on concurrent invocations per component on this host.
    pub max_concurrent: Option<Spanned<usize>>,
    /// Hops a component may have waiting beyond the cap before "overloaded".
    pub queue: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComponent {
    /// One host (`host = "north"`) ...
    pub host: Option<Spanned<String>>,
    /// ... or replicas (`hosts = ["north-1", "north-2"]`).
    pub hosts: Option<Spanned<Vec<Spanned<String>>>>,
    pub wasm: Spanned<String>,
    pub http: Option<Spanned<String>>,
}
