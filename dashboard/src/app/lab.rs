//! The running experiment, as `lwc-lab` reports it once a second on
//! `lwc.<l>.lab.status`, and the picker that starts one (`e`).
//!
//! The JSON type is defined here (every field defaulted) so that the
//! dashboard does not depend on the lab crate, and reads older or newer
//! reports alike.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// How long the last report stays on screen after reports stop.
pub const LINGER_NS: u64 = 5_000_000_000;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LabStatus {
    pub experiment: String,
    pub file: String,
    pub phase: String,
    pub elapsed_s: f64,
    pub duration_s: f64,
    pub remaining_s: f64,
    /// `running`, `passed`, `failed` or `aborted`.
    pub status: String,
    pub expectations: Vec<Expectation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Expectation {
    pub phase: String,
    pub metric: String,
    pub edge: Option<String>,
    pub series: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `None` while not known yet.
    pub value: Option<f64>,
    pub ok: Option<bool>,
}

/// Largest report read.
const MAX_LEN: usize = 64 * 1024;

pub fn decode(buf: &[u8]) -> Option<LabStatus> {
    if buf.len() > MAX_LEN {
        return None;
    }
    serde_json::from_slice(buf).ok()
}

/// The `e` popup: experiment files to pick from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub root: PathBuf,
    /// Relative to `root`: `scenarios/brownout.toml`.
    pub files: Vec<PathBuf>,
    pub selected: usize,
}

impl Picker {
    /// The `scenarios/*.toml` of the project at `root`, sorted.
    pub fn open(root: &Path) -> Result<Picker, String> {
        let dir = root.join("scenarios");
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("no experiment files (*.toml) in {}", dir.display()));
        }
        Ok(Picker {
            root: root.to_path_buf(),
            files,
            selected: 0,
        })
    }

    pub fn next(&mut self) {
        self.selected = (self.selected + 1) % self.files.len();
    }

    pub fn prev(&mut self) {
        self.selected = (self.selected + self.files.len() - 1) % self.files.len();
    }

    pub fn chosen(&self) -> PathBuf {
        self.files[self.selected.min(self.files.len() - 1)].clone()
    }
}

/// The project root: the nearest directory above the current one, or above
/// this binary (`<root>/target/release/lwc-dash`), that has `scenarios/`.
pub fn find_root() -> Option<PathBuf> {
    let mut places: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        places.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        places.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    places.into_iter().find(|d| d.join("scenarios").is_dir())
}

#[cfg(test)]
mod tests;
