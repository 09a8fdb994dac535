//! Generated rings (`lwc up --size N`): N probe hosts plus control, as a
//! manifest written into the state directory and then read back through
//! `lwc-manifest` like any other, so host and CLI still parse one file.
//!
//! Hosts are `p001` … `pNNN` (zero-padded to N's width, so they sort in
//! ring order), each running the probe component of the same name. Link
//! `default` goes to the next host, `special` [`SPECIAL_AHEAD`] hosts
//! ahead (fewer on rings too small for that), both wrapping around;
//! control's `default` goes to the first host.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::paths::StateDir;

/// The largest generated ring.
pub const MAX_SIZE: u32 = 1000;

/// How far ahead `special` points on rings of five hosts or more.
pub const SPECIAL_AHEAD: u32 = 3;

/// The name of probe host `i` (0-based) of a ring of `size`.
pub fn host_name(i: u32, size: u32) -> String {
    let width = size.to_string().len().max(3);
    format!("p{:0width$}", i + 1)
}

/// How far ahead `special` points: 3, or on small rings the farthest
/// host that is neither this one nor (where possible) the next.
pub fn special_ahead(size: u32) -> u32 {
    SPECIAL_AHEAD.min(size.saturating_sub(1)).max(1)
}

/// The manifest text of a ring of `size` probe hosts; `wasm_dir` holds
/// lwc_probe.wasm and lwc_control.wasm.
pub fn manifest_text(size: u32, lattice: &str, wasm_dir: &Path) -> String {
    let probe = wasm_dir.join("lwc_probe.wasm");
    let control = wasm_dir.join("lwc_control.wasm");
    let mut t = String::new();
    let _ = writeln!(t, "# Written by `lwc up --size {size}`: {size} probe hosts and control.");
    let _ = writeln!(t, "# Each p<i> links `default` to the next host and `special` {} ahead.", special_ahead(size));
    let _ = writeln!(t, "\n[lattice]\nname = {lattice:?}\n\n[hosts.control]");
    for i in 0..size {
        let _ = writeln!(t, "[hosts.{}]", host_name(i, size));
    }
    let _ = writeln!(
        t,
        "\n[components.control]\nhost = \"control\"\nwasm = {:?}\nhttp = \"127.0.0.1:30000\"",
        control.display().to_string()
    );
    for i in 0..size {
        let name = host_name(i, size);
        let _ = writeln!(t, "[components.{name}]\nhost = \"{name}\"\nwasm = {:?}", probe.display().to_string());
    }
    let _ = writeln!(t, "\n[links.control]\ndefault = \"{}\"", host_name(0, size));
    let ahead = special_ahead(size);
    for i in 0..size {
        let _ = writeln!(
            t,
            "[links.{}]\ndefault = \"{}\"\nspecial = \"{}\"",
            host_name(i, size),
            host_name((i + 1) % size, size),
            host_name((i + ahead) % size, size)
        );
    }
    t
}

/// Write the manifest of a ring of `size` into the state directory and
/// return its path (`ring-N.toml`). An unchanged file is left alone, so a
/// ring that runs from it keeps its file.
pub fn write(state: &StateDir, root: &Path, size: u32) -> Result<PathBuf> {
    std::fs::create_dir_all(&state.dir).with_context(|| format!("cannot create {}", state.dir.display()))?;
    let path = state.dir.join(format!("ring-{size}.toml"));
    let text = manifest_text(size, "default", &root.join("target/wasm32-wasip2/release"));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(size: u32) -> lwc_manifest::Manifest {
        lwc_manifest::Manifest::parse(&manifest_text(size, "default", Path::new("/w")), Path::new("/")).unwrap()
    }

    #[test]
    fn a_ring_of_forty_parses_with_its_links() {
        let m = parse(40);
        assert_eq!(m.hosts.len(), 41);
        assert_eq!(m.components.len(), 41);
        let link = |s: &str, n: &str| m.links[&(s.to_string(), n.to_string())].clone();
        assert_eq!(link("p001", "default"), "p002");
        assert_eq!(link("p001", "special"), "p004");
        assert_eq!(link("p040", "default"), "p001");
        assert_eq!(link("p039", "special"), "p002");
        assert_eq!(link("control", "default"), "p001");
        assert_eq!(m.http_url().as_deref(), Some("http://127.0.0.1:30000"));
        assert_eq!(m.components["p007"].wasm, Path::new("/w/lwc_probe.wasm"));
    }

    #[test]
    fn small_and_large_rings_stay_valid() {
        let two = parse(2);
        assert_eq!(two.links[&("p001".into(), "special".into())], "p002");
        let three = parse(3);
        assert_eq!(three.links[&("p001".into(), "special".into())], "p003");
        let big = parse(MAX_SIZE);
        assert_eq!(big.hosts.len(), 1001);
        assert!(big.hosts.contains_key("p0001") && big.hosts.contains_key("p1000"));
        assert_eq!(host_name(0, 5), "p001");
    }
}
