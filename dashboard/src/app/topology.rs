//! The lattice as it runs, built from what it says about itself: hosts
//! from their heartbeats and snapshots (each names the components it
//! runs) and from the manifest's placement (`GET /status`), so a replica
//! that never reported is still counted; components from those and from
//! the live link table. Nothing here knows any host or component by name.
//!
//! A *place* is one component with the hosts that run it (its replicas):
//! those whose heartbeats name it and those the placement puts there. A
//! host that names no component yet and that the placement does not place
//! is a place of its own. Places are
//! ordered along the `default` route: first the entries (components that
//! links leave but none reach, such as a control component), each followed
//! by the chain its `default` links lead through, then whatever is left in
//! name order. Hosts are listed place by place, replicas in name order.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::hosts::HostView;
use super::{Link, Placement};
use crate::stats::SeriesKey;

/// The route whose links decide where places go.
pub const LAYOUT_ROUTE: &str = "default";

/// One component and the hosts that run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub name: String,
    /// Replicas, in name order; empty when links name a component that no
    /// host has said it runs and the placement puts nowhere.
    pub hosts: Vec<String>,
    /// Links leave it but none lead to it (where packets come in).
    pub entry: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub places: Vec<Place>,
    /// Every host once, in display order.
    pub hosts: Vec<String>,
    /// Place index of each component.
    index: HashMap<String, usize>,
    /// Table rank of each edge that a link draws.
    edge_rank: HashMap<(String, String), usize>,
}

impl Topology {
    /// `placement` is the manifest's (empty until `GET /status` answers);
    /// `seen` are edges the telemetry reported (component → component),
    /// used for places only while no link table is known.
    pub fn build<'a>(
        hosts: &BTreeMap<String, HostView>,
        placement: &Placement,
        links: &[Link],
        seen: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Topology {
        let placed: BTreeSet<&str> = placement.values().flatten().map(String::as_str).collect();
        let mut runs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (name, h) in hosts {
            for c in components_of(name, h, &placed) {
                runs.entry(c).or_default().insert(name.clone());
            }
        }
        for (component, replicas) in placement {
            let place = runs.entry(component.clone()).or_default();
            place.extend(replicas.iter().cloned());
        }
        let mut components: BTreeSet<String> = runs.keys().cloned().collect();
        for l in links {
            components.insert(l.source.clone());
            components.insert(l.target.clone());
        }
        if links.is_empty() {
            for (from, to) in seen {
                components.insert(from.to_string());
                components.insert(to.to_string());
            }
        }
        let order = route_order(&components, links);
        let targets: BTreeSet<&str> = links.iter().map(|l| l.target.as_str()).collect();
        let mut t = Topology::default();
        let mut listed = BTreeSet::new();
        for name in order {
            let mut replicas: Vec<String> = runs.remove(&name).unwrap_or_default().into_iter().collect();
            replicas.sort_by(|a, b| natural(a, b));
            for h in &replicas {
                if listed.insert(h.clone()) {
                    t.hosts.push(h.clone());
                }
            }
            let entry = !targets.contains(name.as_str()) && links.iter().any(|l| l.source == name);
            t.index.insert(name.clone(), t.places.len());
            t.places.push(Place {
                name,
                hosts: replicas,
                entry,
            });
        }
        t.edge_rank = edge_ranks(&t.index, links);
        t
    }

    pub fn place_of(&self, component: &str) -> Option<usize> {
        self.index.get(component).copied()
    }

    /// Series in table order along the routes: all edges, the edges the
    /// `default` links draw (place by place), those of other routes, any
    /// other edge seen; invocations place by place; lifetimes.
    pub fn route_rank(&self, key: &SeriesKey) -> (u8, usize, String) {
        match key {
            SeriesKey::AllEdges => (0, 0, String::new()),
            SeriesKey::Edge { from, to } => {
                let rank = self.edge_rank.get(&(from.clone(), to.clone()));
                (1, rank.map_or(usize::MAX, |r| *r), key.label())
            }
            SeriesKey::Invoke(c) => (2, self.place_of(c).unwrap_or(usize::MAX), c.clone()),
            SeriesKey::Lifetime => (3, 0, String::new()),
        }
    }
}

/// What a host runs, by its latest heartbeat; until one arrives, nothing
/// if the placement places it (it is under its components already), else
/// a place of its own name.
fn components_of(name: &str, h: &HostView, placed: &BTreeSet<&str>) -> Vec<String> {
    match h.heartbeat.as_ref().map(|hb| &hb.components) {
        Some(c) if !c.is_empty() => c.clone(),
        _ if placed.contains(name) => Vec::new(),
        _ => vec![name.to_string()],
    }
}

/// Entries first, each followed by its `default` chain; then the rest,
/// each also followed by its chain.
fn route_order(components: &BTreeSet<String>, links: &[Link]) -> Vec<String> {
    let next: HashMap<&str, &str> = links
        .iter()
        .filter(|l| l.name == LAYOUT_ROUTE)
        .map(|l| (l.source.as_str(), l.target.as_str()))
        .collect();
    let targets: BTreeSet<&str> = links.iter().map(|l| l.target.as_str()).collect();
    let mut names: Vec<&String> = components.iter().collect();
    names.sort_by(|a, b| natural(a, b));
    let (entries, rest): (Vec<&String>, Vec<&String>) = names
        .into_iter()
        .partition(|c| !targets.contains(c.as_str()) && links.iter().any(|l| &l.source == *c));
    let mut order: Vec<String> = Vec::with_capacity(components.len());
    let mut seen = BTreeSet::new();
    for start in entries.into_iter().chain(rest) {
        let mut cur = start.as_str();
        while components.contains(cur) && seen.insert(cur.to_string()) {
            order.push(cur.to_string());
            match next.get(cur) {
                Some(n) => cur = n,
                None => break,
            }
        }
    }
    order
}

fn edge_ranks(index: &HashMap<String, usize>, links: &[Link]) -> HashMap<(String, String), usize> {
    let mut sorted: Vec<&Link> = links.iter().collect();
    let place = |c: &str| index.get(c).copied().unwrap_or(usize::MAX);
    sorted.sort_by(|a, b| {
        (a.name != LAYOUT_ROUTE, &a.name, place(&a.source)).cmp(&(b.name != LAYOUT_ROUTE, &b.name, place(&b.source)))
    });
    let mut ranks = HashMap::new();
    for l in sorted {
        let n = ranks.len();
        ranks.entry((l.source.clone(), l.target.clone())).or_insert(n);
    }
    ranks
}

/// Names in the order people expect: `p2` before `p10`.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    while let (Some(ca), Some(cb)) = (a.chars().next(), b.chars().next()) {
        let (da, db) = (digits(a), digits(b));
        let (ord, sa, sb) = if da > 0 && db > 0 {
            let (na, nb) = (a[..da].trim_start_matches('0'), b[..db].trim_start_matches('0'));
            (na.len().cmp(&nb.len()).then_with(|| na.cmp(nb)).then(da.cmp(&db)), da, db)
        } else {
            (ca.cmp(&cb), ca.len_utf8(), cb.len_utf8())
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[sa..];
        b = &b[sb..];
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests;
