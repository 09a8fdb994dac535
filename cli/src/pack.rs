//! Packing hosts into processes: one `lwc-host` process may run several
//! hosts (`--host` repeated, DESIGN.md "Host runtime"), sharing one engine
//! and one compiled copy of each component. That is how hundreds of hosts
//! fit on one machine.

use std::path::Path;
use std::process::{Command, Stdio};

use lwc_manifest::Manifest;

/// Hosts per process for `--size` rings unless `--per-process` says. The
/// hosts of a process share its runtime, so fewer, fuller processes wake
/// less per hop: at 200 hosts, 32 per process cost ~0.8x the CPU per hop
/// of 8 and half the RSS; 64 saved no more CPU and started 2x slower
/// (not looked into; bench/profile.md, "200 hosts: where the CPU goes").
pub const DEFAULT_PER_SIZED_RING: u16 = 32;

/// Whether `bin` takes `--host` more than once. Asked through clap itself:
/// with `--help` last, a second `--host` is refused before the help is
/// printed by an lwc-host that takes one host, and passed over by one that
/// takes several.
pub fn host_packs(bin: &Path) -> bool {
    Command::new(bin)
        .args(["--host", "a", "--host", "b", "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The processes to start for `hosts` (in the manifest's order), at most
/// `per_process` hosts each. A host that serves the HTTP API runs alone:
/// the ring's API and ledger do not go down with a packed neighbour.
pub fn groups(manifest: &Manifest, hosts: &[String], per_process: u16) -> Vec<Vec<String>> {
    let serves_http = |h: &str| manifest.components_on(h).any(|c| c.http.is_some());
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut packed: Vec<String> = Vec::new();
    for h in hosts {
        if serves_http(h) || per_process <= 1 {
            out.push(vec![h.clone()]);
            continue;
        }
        packed.push(h.clone());
        if packed.len() == usize::from(per_process) {
            out.push(std::mem::take(&mut packed));
        }
    }
    if !packed.is_empty() {
        out.push(packed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_alone_and_probes_in_eights() {
        let text = crate::generate::manifest_text(20, "default", Path::new("/w"));
        let m = Manifest::parse(&text, Path::new("/")).unwrap();
        let hosts: Vec<String> = m.hosts.keys().cloned().collect();
        let g = groups(&m, &hosts, 8);
        let sizes: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 8, 8, 4]);
        assert_eq!(g[0], ["control"]);
        assert_eq!(g[1][0], "p001");
        assert_eq!(groups(&m, &hosts, 1).len(), 21);
    }

    #[test]
    fn a_missing_binary_does_not_pack() {
        assert!(!host_packs(Path::new("/nonexistent/lwc-host")));
    }
}
