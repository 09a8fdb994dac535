//! The live link table: (source component, link name) → target component.
//!
//! Every hop resolves its target here at the moment it is forwarded, so a
//! changed link applies to the very next hop, even of packets in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Default)]
pub struct Links {
    /// source → link name → target; nested so a lookup needs no allocation.
    table: Arc<RwLock<BTreeMap<String, BTreeMap<String, Arc<str>>>>>,
}

impl Links {
    pub fn new(initial: &BTreeMap<(String, String), String>) -> Links {
        let links = Links::default();
        for ((source, name), target) in initial {
            links.put(source, name, target);
        }
        links
    }

    /// Where `source`'s link `name` points now, if anywhere.
    pub fn resolve(&self, source: &str, name: &str) -> Option<Arc<str>> {
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        table.get(source)?.get(name).cloned()
    }

    pub fn put(&self, source: &str, name: &str, target: &str) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        table
            .entry(source.to_string())
            .or_default()
            .insert(name.to_string(), Arc::from(target));
    }

    /// Remove a link; true if it existed.
    pub fn delete(&self, source: &str, name: &str) -> bool {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        let Some(named) = table.get_mut(source) else {
            return false;
        };
        let existed = named.remove(name).is_some();
        if named.is_empty() {
            table.remove(source);
        }
        existed
    }

    /// Replace the whole table (a late joiner adopting the lattice's state).
    pub fn replace_all(&self, links: &[(String, String, String)]) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        table.clear();
        for (source, name, target) in links {
            table
                .entry(source.clone())
                .or_default()
                .insert(name.clone(), Arc::from(target.as_str()));
        }
    }

    pub fn snapshot(&self) -> Vec<(String, String, String)> {
        let table = self.table.read().unwrap_or_else(|p| p.into_inner());
        table
            .iter()
            .flat_map(|(s, named)| {
                named
                    .iter()
                    .map(move |(n, t)| (s.clone(), n.clone(), t.to_string()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_puts_and_deletes() {
        let mut init = BTreeMap::new();
        init.insert(("north".into(), "default".into()), "west".to_string());
        init.insert(("north".into(), "special".into()), "south".to_string());
        init.insert(("northx".into(), "default".into()), "east".to_string());
        let links = Links::new(&init);
        assert_eq!(links.resolve("north", "special").as_deref(), Some("south"));
        assert_eq!(links.resolve("north", "other"), None);
        assert_eq!(links.resolve("nort", "default"), None);
        links.put("north", "default", "east");
        assert_eq!(links.resolve("north", "default").as_deref(), Some("east"));
        assert!(links.delete("north", "default"));
        assert!(!links.delete("north", "default"));
        assert_eq!(links.resolve("north", "default"), None);
        assert_eq!(links.snapshot().len(), 2);
    }
}
